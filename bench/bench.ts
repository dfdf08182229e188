/**
 * `npm run bench`: lineprof's cost and accuracy, measured in this one run (the machine is shared and noisy, so only
 * ratios measured side by side mean anything).
 *
 * 1. Overhead per profiled line execution: fixtures/bench-lines.js (a 10-line function called 10,000 times), its
 *    own timing of the calls, profiled and not.
 * 2. Wall-clock ratio profiled / unprofiled for fixtures/allocate.js (whole process, start to end).
 * 3. Requests per second of an HTTP server, unprofiled, attached, attached with the live view's reports, detached.
 * 4. Accuracy: each line of fixtures/exact.js against V8's own accounting of the same statement.
 * 5. `lineprof usage`: the sampler's cost to a busy program (10 ms interval), and the spans' cost per call.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runProfile } from '../src/run';
import { attachProfile } from '../src/attach';
import { DEFAULT_NODE_FLAGS } from '../src/target/launch';
import { sampleUsage } from '../src/usage/sample-usage';

const ROOT = path.resolve(__dirname, '..', '..');
const fixture = (name: string) => path.join(ROOT, 'fixtures', name);
// As test/helpers/profile.ts: --no-maglev because --no-opt no longer stops Maglev on Node 24 and 26.
const STABLE_TIER = ['--no-opt', '--no-sparkplug', '--no-lazy', '--no-maglev'];

async function profiled(script: string, args: string[], nodeArgs: string[] = []) {
  const out = new PassThrough();
  let stdout = '';
  out.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const started = process.hrtime.bigint();
  const outcome = await runProfile({ script, args, nodeArgs, stdout: out, stderr: new PassThrough() });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...outcome, stdout, wallMs };
}

function plain(script: string, args: string[], nodeArgs: string[] = []): { stdout: string; wallMs: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...DEFAULT_NODE_FLAGS, ...nodeArgs, script, ...args], { encoding: 'utf8' });
  return { stdout: r.stdout, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function overheadPerLine(): Promise<void> {
  const calls = 10_000;
  const script = fixture('bench-lines.js');
  const base = JSON.parse(plain(script, [String(calls)]).stdout.trim()) as { ms: number };
  const run = await profiled(script, [String(calls)]);
  const prof = JSON.parse(run.stdout.trim()) as { ms: number };
  const fn = run.result.functions.find((f) => f.name === 'tenLines')!;
  const lineExecutions = fn.lines.reduce((sum, l) => sum + l.occurrences, 0);
  const perLineUs = ((prof.ms - base.ms) * 1000) / lineExecutions;
  console.log('## Overhead per profiled line execution');
  console.log(`10-line function x ${calls} calls: ${lineExecutions} line executions, ${run.result.stats.hits} breakpoint hits`);
  console.log(`unprofiled ${base.ms.toFixed(1)} ms, profiled ${prof.ms.toFixed(1)} ms`);
  console.log(`overhead: ${perLineUs.toFixed(1)} µs per line execution (must <= 100, target <= 25; memory_profiler: 27.5)`);
  console.log(`ratio profiled/unprofiled: ${(prof.ms / base.ms).toFixed(0)}x\n`);
}

async function wallClock(): Promise<void> {
  const script = fixture('allocate.js');
  const base = plain(script, []);
  const run = await profiled(script, []);
  console.log('## Wall clock, fixtures/allocate.js (whole process)');
  console.log(`unprofiled ${base.wallMs.toFixed(0)} ms, profiled ${run.wallMs.toFixed(0)} ms, ratio ${(run.wallMs / base.wallMs).toFixed(2)}x\n`);
}

async function accuracy(): Promise<void> {
  const script = fixture('exact.js');
  const truth = JSON.parse(
    execFileSync(process.execPath, [...DEFAULT_NODE_FLAGS, ...STABLE_TIER, script, '--truth'], { encoding: 'utf8' }),
  ) as Record<string, { heap: number; external: number }>;
  const run = await profiled(script, [], STABLE_TIER);
  const fn = run.result.functions.find((f) => f.name === 'allocateKnown')!;
  const rows: Array<[string, string, string]> = [
    ['ints', 'new Array(1e6).fill(0)', 'new Array(1e6).fill(0)'],
    ['objects', 'Array.from({ length: 1e5 }', '1e5 objects {i}'],
    ['flat', "'a'.repeat(4e6)", 'flat 4,000,000-char string'],
    ['bytes', 'new Uint8Array(1e6)', 'new Uint8Array(1e6)'],
    ['buffer', 'Buffer.alloc(1 << 20)', 'Buffer.alloc(1 << 20)'],
    ['parsed', 'JSON.parse(doc)', 'JSON.parse of a 200-user document'],
  ];
  console.log('## Accuracy: fixtures/exact.js, V8 accounting in-process (expected) vs lineprof (reported)');
  console.log('(node flags --no-opt --no-sparkplug --no-lazy --no-maglev: object sizes independent of JIT timing, eager compilation)');
  console.log(`${'line'.padEnd(36)}${'expected heap'.padStart(15)}${'reported'.padStart(12)}${'diff'.padStart(7)}${'expected ext'.padStart(14)}${'reported'.padStart(10)}`);
  for (const [key, text, label] of rows) {
    const line = fn.lines.find((l) => l.content.includes(text))!;
    const t = truth[key]!;
    console.log(
      `${label.padEnd(36)}${String(t.heap).padStart(15)}${String(line.allocatedBytes).padStart(12)}` +
        `${String(line.allocatedBytes - t.heap).padStart(7)}${String(t.external).padStart(14)}${String(line.externalBytes).padStart(10)}`,
    );
  }
  const flat = await profiled(fixture('allocate-flat.js'), []);
  const flatLine = flat.result.functions[0]!.lines.find((l) => l.content.includes("'a'.repeat"))!;
  const expected = 30 * 4_000_016;
  console.log(
    `allocate-flat.js flat line: ${flatLine.occurrences} occurrences, ${flatLine.allocatedBytes} B vs 30 x 4,000,016 = ` +
      `${expected} B (${(((flatLine.allocatedBytes - expected) / expected) * 100).toFixed(4)} %; the rope pieces are ~840 B each)`,
  );
}

/** Requests per second of fixtures/targets/server.js, unprofiled, attached (with and without the live view's reports). */
async function attachOverhead(): Promise<void> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', fixture('targets/server.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  while (!/ready \d+/.test(out) || !/ws:\/\/\S+/.test(err)) await new Promise((r) => setTimeout(r, 20));
  const port = Number(/ready (\d+)/.exec(out)![1]);
  const ws = /ws:\/\/\S+/.exec(err)![0];
  const rate = async (n: number): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await get(port);
    return n / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  await rate(200); // warm up
  const base = await rate(500);
  const measureAttached = async (liveReports: boolean): Promise<number> => {
    const abort = new AbortController();
    const profiling = attachProfile({ address: ws, signal: abort.signal, liveReports, onProgress: () => undefined });
    await new Promise((r) => setTimeout(r, 1000));
    const r = await rate(500);
    abort.abort();
    await profiling;
    return r;
  };
  const attached = await measureAttached(false);
  const live = await measureAttached(true);
  const after = await rate(500);
  child.kill();
  console.log('## Attach: fixtures/targets/server.js, sequential requests over loopback');
  console.log(
    `unprofiled ${base.toFixed(0)} req/s, attached ${attached.toFixed(0)} req/s (${(base / attached).toFixed(1)}x slower), ` +
      `attached with live view reports ${live.toFixed(0)} req/s, after detach ${after.toFixed(0)} req/s\n`,
  );
}

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });
}

/** The script's own timing of its calls, under `lineprof usage` (spans of tenLines on or off). */
async function underUsage(script: string, args: string[], spans: boolean): Promise<{ ms: number; samples: number; spans: number }> {
  const out = new PassThrough();
  let stdout = '';
  out.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const result = await sampleUsage({ script, args, intervalSeconds: 0.01, markers: spans, stdout: out, stderr: new PassThrough() }).done;
  return { ms: (JSON.parse(stdout.trim()) as { ms: number }).ms, samples: result.samples.length, spans: result.spans.length };
}

async function usageOverhead(): Promise<void> {
  const script = fixture('bench-lines.js');
  const busy = '300000000';
  // Three pairs, side by side; the median ratio (one pair on this 2-core machine swings by 1.5x either way).
  const ratios: number[] = [];
  let base = { ms: 0 };
  let sampled = { ms: 0, samples: 0, spans: 0 };
  for (let i = 0; i < 3; i++) {
    base = JSON.parse(plain(script, [busy]).stdout.trim()) as { ms: number };
    sampled = await underUsage(script, [busy], false);
    ratios.push(sampled.ms / base.ms);
  }
  const medianRatio = ratios.sort((a, b) => a - b)[1]!;
  const fewCalls = '20000';
  const baseFew = JSON.parse(plain(script, [fewCalls]).stdout.trim()) as { ms: number };
  const withSpans = await underUsage(script, [fewCalls], true);
  console.log('## lineprof usage (fixtures/bench-lines.js)');
  console.log(
    `sampling every 10 ms, no spans: ${busy} calls in ${base.ms.toFixed(0)} ms unsampled, ${sampled.ms.toFixed(0)} ms sampled ` +
      `(${sampled.samples} samples); median ratio of 3 pairs ${medianRatio.toFixed(2)}x (all: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );
  console.log(
    `spans of tenLines: ${fewCalls} calls in ${baseFew.ms.toFixed(0)} ms without, ${withSpans.ms.toFixed(0)} ms with ` +
      `(${withSpans.spans} spans): ${(((withSpans.ms - baseFew.ms) * 1000) / Number(fewCalls)).toFixed(1)} µs per call\n`,
  );
}

async function main(): Promise<void> {
  console.log(`lineprof bench, node ${process.version}, ${new Date().toISOString()}\n`);
  await overheadPerLine();
  await wallClock();
  await attachOverhead();
  await accuracy();
  await usageOverhead();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
