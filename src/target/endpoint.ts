/**
 * Attach mode: from what the user named (host:port, a ws:// URL, or a PID) to the websocket URL of a Node.js
 * inspector. The inspector has no authentication, so only loopback addresses are accepted unless allowed.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { TargetError, UsageError } from '../errors';
import { debug } from '../debug';

export const DEFAULT_INSPECTOR = '127.0.0.1:9229';
const PID_PORT_TIMEOUT_MS = 5000;
const HTTP_TIMEOUT_MS = 3000;
const ANSWER_TIMEOUT_MS = 1000;

export interface EndpointRequest {
  /** `host:port`, `port`, or a `ws://` URL; default 127.0.0.1:9229. */
  address?: string;
  /** A Node.js process to open the inspector of (SIGUSR1), then attach to. */
  pid?: number;
  allowRemote?: boolean;
}

export interface Endpoint {
  url: string;
  /** How the user would name it, for messages. */
  label: string;
  /** lineprof opened this inspector (--pid on a process that had none): it closes it again when it detaches. */
  openedByUs?: boolean;
}

export async function resolveEndpoint(request: EndpointRequest): Promise<Endpoint> {
  if (request.pid !== undefined) return endpointOfPid(request.pid, request.allowRemote);
  const address = request.address ?? DEFAULT_INSPECTOR;
  if (/^wss?:\/\//.test(address)) {
    const url = new URL(address);
    checkLoopback(bare(url.hostname), request.allowRemote);
    return { url: address, label: address };
  }
  const { host, port } = parseHostPort(address);
  checkLoopback(host, request.allowRemote);
  const url = await discoverWebSocket(host, port);
  // The address is the inspector's to give: it must obey the same rule as the one the user gave.
  checkLoopback(bare(new URL(url).hostname), request.allowRemote);
  return { url, label: `${host}:${port}` };
}

/**
 * Whether the inspector behind an endpoint still answers (its HTTP side, /json/version): after a dropped connection,
 * it tells a target that runs on from one that exited.
 */
export async function endpointAnswers(endpoint: Endpoint): Promise<boolean> {
  try {
    const url = new URL(endpoint.url);
    await httpGet(bare(url.hostname), Number(url.port || 80), '/json/version', ANSWER_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(address);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`not an inspector address: "${address}" (expected host:port, a port, or a ws:// URL)`);
  }
  return { host: m[1] || '127.0.0.1', port };
}

/** A URL's hostname without the brackets of an IPv6 address (`[::1]` → `::1`). */
function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function checkLoopback(host: string, allowRemote = false): void {
  if (!allowRemote && !isLoopback(host)) {
    throw new UsageError(
      `${host} is not a loopback address: the inspector has no authentication, so anyone who can reach it can run ` +
        'code in the process; pass --allow-remote if you mean it',
    );
  }
}

/**
 * The websocket URL behind host:port, from the inspector's /json/list. Fetched here rather than with
 * chrome-remote-interface's List, which throws from a callback (crashing the process) when the port answers with
 * something that is not JSON, as any other HTTP server does.
 */
async function discoverWebSocket(host: string, port: number): Promise<string> {
  let body: string;
  try {
    body = await httpGet(host, port, '/json/list');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      throw new TargetError(
        `nothing is listening on ${host}:${port}: start the program with node --inspect, or attach with --pid PID`,
        'no-inspector',
      );
    }
    throw new TargetError(`${host}:${port} is not a Node.js inspector (${(err as Error).message})`, 'not-inspector');
  }
  let targets: unknown;
  try {
    targets = JSON.parse(body);
  } catch {
    targets = undefined;
  }
  const target = Array.isArray(targets)
    ? (targets as Array<{ webSocketDebuggerUrl?: unknown }>).find((t) => typeof t?.webSocketDebuggerUrl === 'string')
    : undefined;
  if (!target) throw new TargetError(`${host}:${port} is not a Node.js inspector`, 'not-inspector');
  return target.webSocketDebuggerUrl as string;
}

function httpGet(host: string, port: number, path: string, timeout = HTTP_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 1_000_000) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
  });
}

/**
 * Opens the inspector of a running Node.js process the way `node inspect -p` does (process._debugProcess sends it
 * SIGUSR1), then finds the port it listens on from /proc (it is 9229 unless that was taken).
 */
async function endpointOfPid(pid: number, allowRemote = false): Promise<Endpoint> {
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`--pid takes a process id, got ${pid}`);
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new TargetError(`process ${pid} belongs to another user: run lineprof as that user`);
    throw new TargetError(`there is no process with PID ${pid}`);
  }
  if (!isNodeProcess(pid)) throw new TargetError(`process ${pid} is not a Node.js process`);
  if (runsUnderLineprof(pid)) {
    throw new TargetError(`process ${pid} runs under lineprof run, which profiles it already: attach to a program not run by lineprof`, 'busy');
  }
  const already = await findInspector(listeningPorts(pid));
  if (already) return { url: already, label: `PID ${pid}` };
  // SIGUSR1 opens the inspector where the process's own flags say: lineprof opens none beyond loopback.
  const host = inspectorHostOfPid(pid);
  if (host !== undefined && !isLoopback(host) && !allowRemote) {
    throw new UsageError(
      `process ${pid} would open its inspector on ${host} (its --inspect-port), where anyone who can reach it can run ` +
        'code in it: restart it with --inspect-port=127.0.0.1:PORT, or pass --allow-remote if you mean it',
    );
  }
  try {
    (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
  } catch (err) {
    throw new TargetError(`could not open the inspector of process ${pid}: ${(err as Error).message}`);
  }
  const deadline = Date.now() + PID_PORT_TIMEOUT_MS;
  for (;;) {
    const url = await findInspector(listeningPorts(pid));
    if (url) {
      debug('pid %d inspector at %s', pid, url);
      return { url, label: `PID ${pid}`, openedByUs: true };
    }
    if (Date.now() > deadline) {
      throw new TargetError(
        `process ${pid} did not open an inspector within ${PID_PORT_TIMEOUT_MS / 1000} s (is port 9229 taken, or ` +
          'was it started with --disable-sigusr1?)',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The first of these loopback ports that is an inspector (the others are the program's own servers). */
async function findInspector(ports: number[]): Promise<string | undefined> {
  for (const port of ports) {
    try {
      return await discoverWebSocket('127.0.0.1', port);
    } catch {
      // not an inspector
    }
  }
  return undefined;
}

/**
 * Whether the process runs a Node.js binary: SIGUSR1 opens Node's inspector, but ends most other programs, so the
 * executable itself is checked (it holds Node's inspector and its `_debugProcess` binding), not its name.
 */
export function isNodeProcess(pid: number): boolean {
  let exe: string;
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    throw new TargetError(
      `cannot tell whether process ${pid} is Node.js (its executable is not readable here): start it with --inspect and attach by host:port`,
    );
  }
  return fileHoldsAll(`/proc/${pid}/exe`, NODE_BINARY_MARKERS) ?? fileHoldsAll(exe, NODE_BINARY_MARKERS) ?? false;
}

const NODE_BINARY_MARKERS = ['_debugProcess', 'Debugger listening on'];

/**
 * The host a process's inspector opens on (SIGUSR1), from its node flags: NODE_OPTIONS, then its command line (the
 * last `--inspect*[=| ][host:]port` wins, as in node). Undefined when it names none: node's default, 127.0.0.1. The
 * whole command line is read, the script's own arguments too: where the script begins is not known for sure, and a
 * host taken wrongly only refuses the attach (with --allow-remote as the way past).
 */
export function inspectorHostOf(cmdline: string[], nodeOptions: string): string | undefined {
  let host: string | undefined;
  const args = [...nodeOptions.split(/\s+/), ...cmdline.slice(1)];
  for (let i = 0; i < args.length; i++) {
    const m = /^--(?:inspect|inspect-brk|inspect-wait|inspect-port|debug-port)(?:=(.+))?$/.exec(args[i]!);
    if (!m) continue;
    // The space form exists for the port flags only (--inspect takes its value after '=').
    const value = m[1] ?? (/^--(?:inspect-port|debug-port)$/.test(args[i]!) ? args[++i] : undefined);
    if (value === undefined) continue;
    const colon = value.lastIndexOf(':');
    if (colon > 0) host = value.slice(0, colon).replace(/^\[|\]$/g, '');
    else if (!/^\d+$/.test(value)) host = value;
  }
  return host;
}

function inspectorHostOfPid(pid: number): string | undefined {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const nodeOptions = env.find((v) => v.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '';
    return inspectorHostOf(cmdline, nodeOptions);
  } catch {
    return undefined;
  }
}

/** A process `lineprof run` started has its request in its initial environment (the agent deletes it only later). */
function runsUnderLineprof(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((v) => v.startsWith('LINEPROF_AGENT='));
  } catch {
    return false;
  }
}

/** Whether the file contains every marker (read in chunks); undefined when it cannot be read. */
function fileHoldsAll(file: string, markers: string[]): boolean | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const wanted = markers.map((m) => Buffer.from(m));
    const found = new Set<number>();
    const overlap = Math.max(...wanted.map((w) => w.length));
    const chunk = Buffer.alloc(1 << 20);
    let carry = 0;
    let position = 0;
    for (;;) {
      const read = fs.readSync(fd, chunk, carry, chunk.length - carry, position);
      if (read === 0) return false;
      position += read;
      const view = chunk.subarray(0, carry + read);
      wanted.forEach((w, i) => {
        if (!found.has(i) && view.includes(w)) found.add(i);
      });
      if (found.size === wanted.length) return true;
      carry = Math.min(overlap, view.length);
      view.copy(chunk, 0, view.length - carry);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** TCP ports the process listens on. */
export function listeningPorts(pid: number): number[] {
  return [...new Set(listeningSockets(pid).map((s) => s.port))].sort((a, b) => a - b);
}

/**
 * The TCP sockets the process listens on, with their local address: its socket inodes (/proc/PID/fd) matched
 * against /proc/net/tcp{,6}. IPv4 addresses are dotted; IPv6 ones are given as the kernel's 32 hex digits.
 */
export function listeningSockets(pid: number): Array<{ address: string; port: number }> {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      fs
        .readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((inode): inode is string => inode !== undefined),
    );
  } catch {
    return [];
  }
  const sockets: Array<{ address: string; port: number }> = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is column 10
      if (cols[3] !== '0A' || !cols[9] || !inodes.has(cols[9])) continue;
      const [ip, port] = cols[1]!.split(':') as [string, string];
      // An IPv4 address is written little-endian: 0100007F is 127.0.0.1.
      const address = ip.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(ip.slice(i * 2, i * 2 + 2), 16)).join('.') : ip;
      sockets.push({ address, port: parseInt(port, 16) });
    }
  }
  return sockets;
}
