/**
 * The attached agent's lease on its controller: if `lineprof attach` dies (SIGKILL, a dropped tunnel) the agent
 * must put the process back by itself. An inspector client cannot be seen from JavaScript, and anything the
 * controller sent to say it is alive would run inside whatever line is executing; so the agent looks at the
 * inspector's TCP connections instead (/proc/self/net/tcp and tcp6: the process's own network namespace, so a
 * container's too). The connections established to the inspector's port when the agent starts include the
 * controller's; once none of them is left, the controller is gone.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';

const ESTABLISHED = '01';
const TABLES = ['/proc/self/net/tcp', '/proc/self/net/tcp6'];
/** How often the connections are looked at: the controller's death is noticed within this. */
export const LEASE_CHECK_MS = 1_000;

export interface Lease {
  stop(): void;
}

/**
 * Remote ends of the established connections to `port`, as the kernel lists them; undefined if it cannot tell. A
 * busy server's table holds thousands of rows (every closed connection in TIME_WAIT): only rows whose local port is
 * the inspector's are looked at.
 */
export function inspectorPeers(port: number): Set<string> | undefined {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const peers = new Set<string>();
  let readable = false;
  for (const table of TABLES) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    readable = true;
    // A row: "  sl: local_address rem_address st …"; the local port is followed by a space, the remote one too.
    for (let at = text.indexOf(local); at >= 0; at = text.indexOf(local, at + 1)) {
      const rowStart = text.lastIndexOf('\n', at) + 1;
      const fields = text.slice(rowStart, text.indexOf('\n', at) >>> 0).trim().split(/\s+/);
      if (fields[1]?.endsWith(local.trimEnd()) && fields[3] === ESTABLISHED) peers.add(fields[2]!);
    }
  }
  return readable ? peers : undefined;
}

/**
 * Calls `onLost` once when none of the connections present now is left. Undefined (no lease) where the
 * connections cannot be read (not Linux) or none is there.
 */
export function takeLease(onLost: () => void): Lease | undefined {
  const url = inspector.url();
  const port = url ? Number(new URL(url).port) : NaN;
  if (!Number.isInteger(port) || port <= 0) return undefined;
  const initial = inspectorPeers(port);
  if (!initial || initial.size === 0) return undefined;
  const timer = setInterval(() => {
    const now = inspectorPeers(port);
    if (!now || [...initial].some((peer) => now.has(peer))) return;
    clearInterval(timer);
    onLost();
  }, LEASE_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
