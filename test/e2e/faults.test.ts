/**
 * Fault tests (issue 12): lineprof stopped, interrupted or killed at the worst moment, on real processes. Each checks
 * what is left: the script ended or running as it should, nothing orphaned, and what was measured kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as os from 'node:os';
import { listeningPorts, listeningSockets } from '../../src/target/endpoint';
import { ctrlC, groupMembers, isAlive, runCli, startCli, waitFor } from '../helpers/cli';
import type { CliResult } from '../helpers/cli';
import { NODE_MAJOR } from '../helpers/profile';
import { request, startServer, timeRequests } from '../helpers/server';
import type { Server } from '../helpers/server';

const BUSY = 'fixtures/targets/busy-loop.js';
const linux = os.platform() === 'linux';
const TIMEOUT = { timeout: 60_000 };

function readyPid(stdout: string): number {
  return Number(/ready (\d+)/.exec(stdout)![1]);
}

function callsOf(stdout: string, name: string): number {
  const match = new RegExp(`Function: ${name} \\(lines \\d+-\\d+\\): (\\d+) call`).exec(stdout);
  assert.ok(match, `a table of ${name} in:\n${stdout}`);
  return Number(match[1]);
}

for (const engine of ['probes', 'breakpoints']) {
  test(`S3 (${engine}): Ctrl-C stops a script busy in a synchronous loop at once, with its figures, exit 130`, { ...TIMEOUT, skip: !linux }, async () => {
    const cli = startCli(['run', '--engine', engine, BUSY], undefined, { detached: true });
    await waitFor(() => /ready \d+/.test(cli.stdout()), 20_000);
    const pid = readyPid(cli.stdout());
    await new Promise((r) => setTimeout(r, 300));
    const pressed = Date.now();
    ctrlC(cli);
    const r = await cli.done;
    const took = Date.now() - pressed;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(callsOf(r.stdout, 'step') > 1);
    assert.doesNotMatch(r.stdout + r.stderr, /cut short|at most a second/, 'the final report, not a snapshot');
    // The stop is asked at once; the fallback (the signal sent again) comes only after 2 s.
    assert.ok(took < 2000, `ended ${took} ms after Ctrl-C`);
    assert.equal(isAlive(pid), false);
  });
}

test('S3: SIGTERM to lineprof alone stops the busy script with its figures, exit 143', { ...TIMEOUT, skip: !linux }, async () => {
  const cli = startCli(['run', BUSY]);
  await waitFor(() => /ready \d+/.test(cli.stdout()), 20_000);
  const pid = readyPid(cli.stdout());
  cli.child.kill('SIGTERM');
  const r = await cli.done;
  assert.equal(r.code, 143, r.stderr);
  assert.ok(callsOf(r.stdout, 'step') > 1);
  assert.equal(isAlive(pid), false);
});

test('S3: a busy script with a SIGINT handler of its own is left to it at the first Ctrl-C; the second ends it, with its figures', { ...TIMEOUT, skip: !linux }, async () => {
  const cli = startCli(['run', BUSY, 'own-sigint'], undefined, { detached: true });
  await waitFor(() => /ready \d+/.test(cli.stdout()), 20_000);
  const pid = readyPid(cli.stdout());
  ctrlC(cli);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(isAlive(pid), true, 'the program decides what its SIGINT does (here: nothing, busy as it is)');
  ctrlC(cli);
  const r = await cli.done;
  assert.equal(r.code, 137, r.stderr);
  assert.ok(callsOf(r.stdout, 'step') > 1);
  assert.equal(isAlive(pid), false);
});

test('S3: lineprof killed (SIGKILL) while the script is busy: the script does not run on as an orphan', { ...TIMEOUT, skip: !linux }, async () => {
  const cli = startCli(['run', BUSY], undefined, { detached: true });
  await waitFor(() => /ready \d+/.test(cli.stdout()), 20_000);
  const pid = readyPid(cli.stdout());
  cli.child.kill('SIGKILL');
  await cli.done;
  await waitFor(() => !isAlive(pid), 5000);
});

// S2: the breakpoint engine's script waits for the debugger at start, before lineprof gives the go-ahead. Killed at
// any moment of that, lineprof must leave nothing behind: no script paused forever, no orphan.
for (const delayMs of [50, 150, 300, 500, 800]) {
  test(`S2: lineprof run --engine breakpoints killed (SIGKILL) ${delayMs} ms after it started leaves no process behind`, { ...TIMEOUT, skip: !linux }, async () => {
    const cli = startCli(['run', '--engine', 'breakpoints', 'fixtures/targets/long-running.js'], undefined, { detached: true });
    const pgid = cli.child.pid!;
    await new Promise((r) => setTimeout(r, delayMs));
    cli.child.kill('SIGKILL');
    await cli.done;
    // The orphaned script is given 3 s to end by SIGTERM before SIGKILL.
    await waitFor(() => groupMembers(pgid).length === 0, 8000).catch(() => {
      assert.fail(`left running: ${groupMembers(pgid).join(', ')}`);
    });
  });
}

// S1: `lineprof attach` ended by a closed terminal or a dropped connection. The target must be as before: scripts
// back, no agent left (a new attach is accepted), an inspector lineprof opened closed again, latency as before.

/** The TCP ports a server listens on besides its HTTP one: its inspector's. */
function inspectorPorts(server: Server): number[] {
  return listeningPorts(server.child.pid!).filter((p) => p !== server.port);
}

/** A request takes about as long as before lineprof came (its probes or breakpoints are gone). */
async function assertLatencyBack(server: Server, before: number): Promise<void> {
  const after = await timeRequests(server.port, 20);
  assert.ok(after < Math.max(before * 3, before + 2), `after ${after.toFixed(2)} ms vs before ${before.toFixed(2)} ms a request`);
}

/** The inspector lineprof opened listens on 127.0.0.1 only. */
function assertLoopbackOnly(server: Server): void {
  const inspector = listeningSockets(server.child.pid!).filter((s) => s.port !== server.port);
  assert.deepEqual(inspector.map((s) => s.address), ['127.0.0.1'], JSON.stringify(inspector));
}

async function untilInspectorClosed(server: Server): Promise<void> {
  await waitFor(() => inspectorPorts(server).length === 0, 5000).catch(() => assert.fail(`still listening: ${inspectorPorts(server).join(', ')}`));
}

/**
 * Requests until the attached lineprof has seen its calls and ended: the edit of the handler can come a moment after
 * "attached to", and a request before it is not seen.
 */
async function requestUntilDone(cli: { child: ChildProcess; done: Promise<CliResult> }, port: number): Promise<CliResult> {
  let result: CliResult | undefined;
  void cli.done.then((r) => (result = r));
  const since = Date.now();
  while (!result && Date.now() - since < 20_000) {
    await request(port).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  }
  // Not done by then: interrupted, so that the assertion shows what it printed.
  if (!result) cli.child.kill('SIGINT');
  return cli.done;
}

async function attachesAgain(args: string[], port: number): Promise<void> {
  const again = startCli([...args, '--calls', '2', '--no-live']);
  await waitFor(() => /attached to/.test(again.stderr()), 10_000);
  const r = await requestUntilDone(again, port);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(callsOf(r.stdout, 'handle') >= 2, true);
}

test('S1: lineprof attach --pid ended by SIGHUP (terminal closed): the target is put back, its inspector closed, and can be attached again', { ...TIMEOUT, skip: !linux || NODE_MAJOR >= 26 }, async () => {
  const server = await startServer({ inspect: false });
  const pid = server.child.pid!;
  try {
    const before = await timeRequests(server.port, 20);
    const cli = startCli(['attach', '--pid', String(pid), '--no-live']);
    await waitFor(() => /attached to/.test(cli.stderr()), 10_000);
    await request(server.port);
    assert.ok(inspectorPorts(server).length > 0, 'lineprof opened the inspector');
    assertLoopbackOnly(server);
    cli.child.kill('SIGHUP');
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /detached \(interrupted\)/);
    assert.ok(callsOf(r.stdout, 'handle') >= 1);
    await untilInspectorClosed(server);
    await assertLatencyBack(server, before);
    await attachesAgain(['attach', '--pid', String(pid)], server.port);
    await untilInspectorClosed(server);
  } finally {
    await server.stop();
  }
});

test('S1: lineprof attach --pid killed (SIGKILL): the target puts itself back, closes the inspector lineprof opened, and can be attached again', { ...TIMEOUT, skip: !linux || NODE_MAJOR >= 26 }, async () => {
  const server = await startServer({ inspect: false });
  const pid = server.child.pid!;
  try {
    const before = await timeRequests(server.port, 20);
    const cli = startCli(['attach', '--pid', String(pid), '--no-live']);
    await waitFor(() => /attached to/.test(cli.stderr()), 10_000);
    await request(server.port);
    assertLoopbackOnly(server);
    cli.child.kill('SIGKILL');
    await cli.done;
    // The agent looks at its inspector's connections every second: lineprof's is gone, so it puts the scripts back
    // and closes the inspector (lineprof opened it).
    await untilInspectorClosed(server);
    await assertLatencyBack(server, before);
    await attachesAgain(['attach', '--pid', String(pid)], server.port);
    await untilInspectorClosed(server);
  } finally {
    await server.stop();
  }
});

async function dropConnection(reattach: boolean): Promise<void> {
  const server = await startServer({ inspect: true });
  // A proxy between lineprof and the inspector, whose connections the test cuts (a network or a tunnel going down).
  const target = new URL(server.ws!);
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxied = `ws://127.0.0.1:${(proxy.address() as net.AddressInfo).port}${target.pathname}`;
  try {
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-dropped-')), 'result.json');
    const cli = startCli(['attach', proxied, '--no-live', '--json', json]);
    await waitFor(() => /attached to/.test(cli.stderr()), 10_000);
    for (let i = 0; i < 3; i++) await request(server.port);
    await new Promise((r) => setTimeout(r, 1200)); // a report with the calls has reached lineprof
    for (const s of sockets) s.destroy();
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /detached \(the connection to the target was lost\)/);
    assert.doesNotMatch(r.stderr, /target exited/);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as { functions: Array<{ name: string; calls: number }> };
    assert.equal(result.functions.find((f) => f.name === 'handle')?.calls, 3);
    // The agent sees no controller on its inspector and puts the scripts back (it looks every second).
    if (reattach) await attachesAgainWithin(server, 5000);
  } finally {
    proxy.close();
    for (const s of sockets) s.destroy();
    await server.stop();
  }
}

test('S1: a dropped connection while attached: lineprof says so (not "the target exited") and keeps the figures', { ...TIMEOUT, skip: !linux || NODE_MAJOR >= 26 }, () => dropConnection(false));

test(
  'S1: after a dropped connection the target puts itself back and a new attach is accepted within 5 s',
  {
    ...TIMEOUT,
    skip: !linux || NODE_MAJOR >= 26,
    todo: 'in 1 run of 13 the target did not answer the new attach\'s first request for 10 s (not understood yet)',
  },
  () => dropConnection(true),
);

/** A fresh attach is refused while the old agent is still in ("another lineprof is attached"); it must go in time. */
async function attachesAgainWithin(server: Server, ms: number): Promise<void> {
  const since = Date.now();
  for (;;) {
    const cli = startCli(['attach', server.ws!, '--calls', '1', '--no-live']);
    let refused: CliResult | undefined;
    void cli.done.then((r) => (refused = r));
    await waitFor(() => refused !== undefined || /attached to/.test(cli.stderr()), 10_000);
    if (!refused) {
      const r = await requestUntilDone(cli, server.port);
      assert.equal(r.code, 0, r.stderr);
      return;
    }
    assert.match(refused.stderr, /another lineprof is attached/);
    assert.ok(Date.now() - since < ms, `still refused after ${ms} ms: ${refused.stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('S4: attach --pid to a process whose --inspect-port is on all interfaces is refused before its inspector is opened', { ...TIMEOUT, skip: !linux }, async () => {
  const server = await startServer({ inspect: false, nodeArgs: ['--inspect-port=0.0.0.0:0'] });
  try {
    const r = await runCli(['attach', '--pid', String(server.child.pid)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /would open its inspector on 0\.0\.0\.0 \(its --inspect-port\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(inspectorPorts(server), [], 'no inspector was opened');
  } finally {
    await server.stop();
  }
});

test('a script killed before any report: one line, and the script\'s own status (137), not 1', TIMEOUT, async () => {
  const r = await runCli(['run', 'fixtures/targets/kills-itself.js']);
  assert.equal(r.code, 137, r.stderr);
  assert.match(r.stderr, /^lineprof: the script ended \(killed by SIGKILL\) without lineprof's report/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

// S6: a fatal end leaves the last periodic report (probes save one every second), marked as cut short, and the
// script's own status.
for (const [how, signal, status] of [
  ['abort', 'SIGABRT', 134],
  ['segv', 'SIGSEGV', 139],
  ['kill', 'SIGKILL', 137],
] as const) {
  test(`S6: a script that dies by ${signal} after 22 calls still gets its tables from its last report (at most 1 s old), cut short, exit ${status}`, TIMEOUT, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-dies-'));
    const json = path.join(dir, 'result.json');
    // No core file: a crash test must not fill the disk.
    const r = await runCli(['run', '--json', json, 'fixtures/targets/dies.js', how], undefined, { noCoreDump: true });
    assert.equal(r.code, status, r.stderr);
    assert.match(r.stderr, new RegExp(`^lineprof: warning: the script ended \\(killed by ${signal}\\) before lineprof's final report`, 'm'));
    assert.equal(callsOf(r.stdout, 'chunk') > 0, true);
    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.cutShort, true);
    assert.deepEqual(result.exit, { code: null, signal });
    const made = Math.max(...[...r.stdout.matchAll(/^called (\d+)$/gm)].map((m) => Number(m[1])));
    assert.equal(made, 22);
    const fn = result.functions.find((f: { name: string }) => f.name === 'chunk');
    // A report every second, a call every 100 ms: the last report saw all calls but those of its last second.
    assert.ok(fn.calls >= made - 11 && fn.calls <= made, `${fn.calls} calls in the last report of ${made}`);
    const line = fn.lines.find((l: { content: string }) => l.content.includes('new Array(1e5)'));
    // Each call's array: 800,000 B of elements and its header (48-144 B on Node 20-26), to the byte once warm.
    assert.equal(line.occurrences, fn.calls);
    assert.ok(Math.abs(line.allocatedBytes - line.occurrences * 800_048) <= line.occurrences * 256, `${line.allocatedBytes} B over ${line.occurrences}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('a script that aborts before any report: one line, and its own status (134)', TIMEOUT, async () => {
  const r = await runCli(['run', 'fixtures/targets/dies.js', 'abort', '1'], undefined, { noCoreDump: true });
  assert.equal(r.code, 134, r.stderr);
  // Node prints its own native and JavaScript stacks on an abort; lineprof adds one line.
  const own = r.stderr.split('\n').filter((l) => l.startsWith('lineprof'));
  assert.equal(own.length, 1, r.stderr);
  assert.match(own[0]!, /^lineprof: the script ended \(killed by SIGABRT\) without lineprof's report/);
});

test('a process the script left running with its stderr (a pipe of lineprof\'s) does not keep lineprof waiting', { ...TIMEOUT, skip: !linux }, async () => {
  const started = Date.now();
  const cli = startCli(['run', 'fixtures/targets/leaves-grandchild.js']);
  const r = await cli.done;
  const grandchild = Number(/grandchild (\d+)/.exec(r.stdout)?.[1]);
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(callsOf(r.stdout, 'work'), 1);
    assert.ok(Date.now() - started < 10_000, `lineprof took ${Date.now() - started} ms`);
    assert.equal(isAlive(grandchild), true, 'the grandchild is the script\'s business: it runs on');
  } finally {
    if (grandchild) process.kill(grandchild, 'SIGKILL');
  }
});

for (const command of ['run', 'usage']) {
  test(`a --require preload of the user's runs once under lineprof ${command} (on its program's thread)`, TIMEOUT, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-preload-'));
    const counter = path.join(dir, 'count.txt');
    const preload = path.join(dir, 'preload.js');
    fs.writeFileSync(preload, `require('fs').appendFileSync(${JSON.stringify(counter)}, require('worker_threads').isMainThread ? 'main\\n' : 'thread\\n');\n`);
    const r = await runCli([command, `--node-arg=--require=${preload}`, 'fixtures/allocate.js']);
    assert.equal(r.code, 0, r.stderr);
    const runs = fs.readFileSync(counter, 'utf8').trim().split('\n');
    assert.equal(runs.filter((w) => w === 'main').length, 1, runs.join(', '));
    // Node 20 runs preloads on its module-hooks thread too (the probe engine's ES module hook): documented.
    const threads = runs.filter((w) => w === 'thread').length;
    assert.equal(threads, NODE_MAJOR === 20 && command === 'run' ? 1 : 0, runs.join(', '));
  });
}

test('a script that writes a forged report to fd 3 and closes fds 3 and 4 still gets its real figures', TIMEOUT, async () => {
  const r = await runCli(['run', 'fixtures/targets/fd-abuse.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(callsOf(r.stdout, 'work'), 3);
  assert.doesNotMatch(r.stdout + r.stderr, /forged/);
});

test('deep recursion (5,000 levels): each line holds its own bytes, the lines add up to the total, to 1 %', TIMEOUT, async () => {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-deep-')), 'result.json');
  const r = await runCli(['run', '--json', json, 'fixtures/targets/deep-recursion.js', '5000']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(fs.readFileSync(json, 'utf8')) as {
    functions: Array<{ name: string; calls: number; allocatedBytes: number; lines: Array<{ line: number; allocatedBytes: number; occurrences: number }> }>;
  };
  const down = result.functions.find((f) => f.name === 'down')!;
  assert.equal(down.calls, 5001);
  const at = (n: number) => down.lines.find((l) => l.line === n)!;
  const expected = 5001 * 848; // a 32 B JSArray and a FixedArray of 16 + 100 × 8 B a level
  assert.ok(Math.abs(at(7).allocatedBytes - expected) <= expected / 100, `line 7: ${at(7).allocatedBytes} vs ${expected}`);
  // The recursing line: the call itself and an addition of small integers, nothing of the inner calls.
  assert.ok(Math.abs(at(9).allocatedBytes) <= 64 * 5000, `line 9: ${at(9).allocatedBytes}`);
  const sum = down.lines.reduce((s, l) => s + l.allocatedBytes, 0);
  assert.ok(Math.abs(sum - down.allocatedBytes) <= down.allocatedBytes / 100, `lines ${sum} vs total ${down.allocatedBytes}`);
});

test('deep recursion read by breakpoints: the report says their figures are too high past ~500 frames', TIMEOUT, async () => {
  const r = await runCli(['run', '--engine', 'breakpoints', 'fixtures/targets/deep-recursion.js', '1500']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /calls ran \d+ frames deep: breakpoints measure the stack/);
  const shallow = await runCli(['run', '--engine', 'breakpoints', 'fixtures/targets/deep-recursion.js', '100']);
  assert.doesNotMatch(shallow.stderr, /frames deep/);
});

test('a marked function of 5,000 lines is profiled (probes), each line with its own figure', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-big-'));
  const body = Array.from({ length: 5000 }, (_, i) => `  s += [${i}, ${i}].length;`);
  fs.writeFileSync(path.join(dir, 'big.js'), ['// @profile', 'function big() {', '  let s = 0;', ...body, '  return s;', '}', 'console.log(big());', ''].join('\n'));
  const json = path.join(dir, 'result.json');
  const r = await runCli(['run', '--json', json, path.join(dir, 'big.js')]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(fs.readFileSync(json, 'utf8')) as { functions: Array<{ lines: Array<{ line: number; occurrences: number; allocatedBytes: number }> }> };
  const lines = result.functions[0]!.lines.filter((l) => l.line >= 4 && l.line < 4 + 5000);
  assert.equal(lines.length, 5000);
  assert.ok(lines.every((l) => l.occurrences === 1));
  // Each line makes one array literal of two constants: a 32 B JSArray (its elements are shared, copy-on-write).
  const off = lines.filter((l) => l.allocatedBytes !== 32);
  assert.ok(off.length <= 5, `${off.length} lines not 32 B: ${off.slice(0, 5).map((l) => `${l.line}: ${l.allocatedBytes}`).join(', ')}`);
});

// The target's RSS after each fifth of the calls: from the third fifth to the last it must stay flat (by then the
// heap has reached the size at which lineprof's replay garbage keeps it: up to ~250 MB RSS on Node 24, whose pages
// stay in RSS). It grew ~570 B a call under breakpoints (the inspector kept each hit's compiled condition once
// collected): 34 MB over the last 60,000 of 150,000 calls.
// The probe engine's replay garbage moves the heap, and RSS with it, by tens of MB (seen +40 MB from the third fifth
// to the last of 2,000,000 calls on Node 20, +9 MB on 24): its floor is 64 MiB, which a leak of 300 B a call passes
// 3.5 times over.
for (const [engine, calls, floor] of [['probes', 2_000_000, 64 * 2 ** 20], ['breakpoints', 150_000, 16 * 2 ** 20]] as const) {
  test(`the target's native memory stays flat over ${calls.toLocaleString('en')} profiled calls (${engine})`, { timeout: 120_000 }, async () => {
    const r = await runCli(['run', '--engine', engine, 'fixtures/targets/many-calls.js', String(calls)]);
    assert.equal(r.code, 0, r.stderr);
    const rounds = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { calls: number; rss: number; heapTotal: number });
    assert.equal(rounds.length, 5);
    const growth = rounds[4]!.rss - rounds[2]!.rss;
    const between = rounds[4]!.calls - rounds[2]!.calls;
    assert.ok(growth <= Math.max(floor, 32 * between), `RSS grew ${growth} B over ${between} calls (${rounds.map((m) => m.rss).join(', ')})`);
    assert.equal(callsOf(r.stdout, 'tiny'), calls);
  });
}

for (const engine of ['probes', 'breakpoints']) {
  test(`S4: lineprof run --engine ${engine} opens no inspector: the script listens on no TCP port of lineprof's`, { ...TIMEOUT, skip: !linux }, async () => {
    const cli = startCli(['run', '--engine', engine, 'fixtures/targets/long-running.js']);
    await waitFor(() => /ready \d+/.test(cli.stdout()), 20_000);
    const pid = readyPid(cli.stdout());
    try {
      assert.deepEqual(listeningPorts(pid), []);
      assert.doesNotMatch(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /--inspect/);
    } finally {
      cli.child.kill('SIGINT');
      await cli.done;
    }
  });
}

/** A server that takes the websocket handshake and then never says anything: a stuck or foreign endpoint. */
async function silentWebSocketServer(): Promise<{ port: number; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', (head: Buffer) => {
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
      const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('attach to a websocket that never answers: lineprof gives up after 10 s with one line, exit 1', { timeout: 60_000 }, async () => {
  const silent = await silentWebSocketServer();
  try {
    const started = Date.now();
    const r = await runCli(['attach', `ws://127.0.0.1:${silent.port}/x`, '--no-live']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^lineprof: the inspector at ws:\/\/127\.0\.0\.1:\d+\/x did not answer within 10 s/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(Date.now() - started < 30_000);
  } finally {
    silent.close();
  }
});

test('the address an inspector\'s /json/list gives obeys the loopback rule too: a remote one is refused, exit 2', TIMEOUT, async () => {
  const server = http.createServer((_req, res) => {
    res.end(JSON.stringify([{ webSocketDebuggerUrl: 'ws://10.1.2.3:9229/forged' }]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await runCli(['attach', `127.0.0.1:${(server.address() as net.AddressInfo).port}`, '--no-live']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^lineprof: 10\.1\.2\.3 is not a loopback address/);
  } finally {
    server.close();
  }
});
