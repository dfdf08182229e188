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
  const peers = new Set<string>();
  let readable = false;
  for (const table of TABLES) {
    try {
      for (const peer of peersIn(fs.readFileSync(table, 'latin1'), port)) peers.add(peer);
      readable = true;
    } catch {
      // no such table here
    }
  }
  return readable ? peers : undefined;
}

/** The remote ends of the established connections to local `port` in one /proc/net/tcp-format table. Pure. */
export function peersIn(table: string, port: number): string[] {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const peers: string[] = [];
  // A row: "  sl: local_address rem_address st …"; a port is followed by a space in both address columns.
  for (let at = table.indexOf(local); at >= 0; at = table.indexOf(local, at + 1)) {
    const rowStart = table.lastIndexOf('\n', at) + 1;
    const rowEnd = table.indexOf('\n', at);
    const fields = table.slice(rowStart, rowEnd < 0 ? undefined : rowEnd).trim().split(/\s+/);
    if (fields[1]?.endsWith(local.trimEnd()) && fields[3] === ESTABLISHED && !peers.includes(fields[2]!)) peers.push(fields[2]!);
  }
  return peers;
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
    try {
      onLost();
    } catch {
      // Putting the process back failed part way: nothing may be thrown into the program from here.
    }
  }, LEASE_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
