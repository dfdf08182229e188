/**
 * `npm run bench`: lineprof's cost and accuracy, measured in this one run (the machine is shared and noisy, so only
 * ratios measured side by side mean anything).
 *
 * 1. Overhead per profiled line execution, for each engine: fixtures/bench-lines.js (a 10-line function), its own
 *    timing of the calls at two sizes; the slope, less the unprofiled slope.
 * 2. Wall-clock ratio profiled / unprofiled for fixtures/allocate.js (whole process, start to end), each engine.
 * 3. Requests per second of an HTTP server, unprofiled, attached, attached with the live view's reports, detached.
 * 4. Accuracy: each line of fixtures/exact.js against an uninstrumented twin in the same process, each engine, and
 *    the GC-heavy line of fixtures/gc-heavy.js.
 * 5. `lineprof usage`: the sampler's cost to a busy program (10 ms interval), and the spans' cost per call.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runProfile } from '../src/commands/run';
import { attachProfile } from '../src/commands/attach';
import { sampleUsage } from '../src/commands/usage';

const ROOT = path.resolve(__dirname, '..', '..');
const fixture = (name: string) => path.join(ROOT, 'fixtures', name);
const STABLE_TIER = ['--no-opt', '--no-sparkplug', '--no-maglev', '--no-lazy', '--no-lazy-feedback-allocation'];

type Engine = 'probes' | 'breakpoints';

async function profiled(script: string, args: string[], nodeArgs: string[] = [], engine: Engine = 'probes') {
  const out = new PassThrough();
  let stdout = '';
  out.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const started = process.hrtime.bigint();
  const outcome = await runProfile({ script, args, nodeArgs, engine, stdout: out, stderr: new PassThrough() });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...outcome, stdout, wallMs };
}

/** The script under plain node, as a user runs it (no flags of lineprof's). */
function plain(script: string, args: string[], nodeArgs: string[] = []): { stdout: string; wallMs: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...nodeArgs, script, ...args], { encoding: 'utf8' });
  return { stdout: r.stdout, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

/**
 * µs per profiled line execution as the slope over two workload sizes (the script's own timing of its calls, so
 * start-up is not in it), less the same slope unprofiled.
 */
async function perLine(engine: Engine, small: number, large: number): Promise<{ us: number; ratio: number; lines: number }> {
  const script = fixture('bench-lines.js');
  const time = (stdout: string) => (JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number }).ms;
  const runs: Array<{ ms: number; lines: number }> = [];
  for (const calls of [small, large]) {
    const run = await profiled(script, [String(calls)], [], engine);
    const fn = run.result.functions.find((f) => f.name === 'tenLines')!;
    runs.push({ ms: time(run.stdout), lines: fn.lines.reduce((sum, l) => sum + l.occurrences, 0) });
  }
  const base = [small, large].map((calls) => time(plain(script, [String(calls)]).stdout));
  const slope = (runs[1]!.ms - runs[0]!.ms) / (runs[1]!.lines - runs[0]!.lines);
  const baseSlope = (base[1]! - base[0]!) / (runs[1]!.lines - runs[0]!.lines);
  return { us: (slope - baseSlope) * 1000, ratio: runs[1]!.ms / base[1]!, lines: runs[1]!.lines };
}

async function overheadPerLine(): Promise<void> {
  console.log('## Overhead per profiled line execution (fixtures/bench-lines.js, a 10-line function)');
  const probes = await perLine('probes', 100_000, 1_000_000);
  console.log(
    `probes: ${probes.us.toFixed(2)} µs per line execution (slope over 1e5 and 1e6 calls; must <= 5, target <= 1), ` +
      `${probes.ratio.toFixed(1)}x the unprofiled calls at ${probes.lines} line executions`,
  );
  const breakpoints = await perLine('breakpoints', 2_000, 10_000);
  console.log(
    `breakpoints: ${breakpoints.us.toFixed(1)} µs per line execution (slope over 2e3 and 1e4 calls), ` +
      `${breakpoints.ratio.toFixed(0)}x the unprofiled calls at ${breakpoints.lines} line executions`,
  );
  console.log(`breakpoints / probes per line: ${(breakpoints.us / probes.us).toFixed(0)}x (Python memory_profiler measured ~52 µs here)\n`);
}

async function wallClock(): Promise<void> {
  const script = fixture('allocate.js');
  const base = plain(script, []);
  const run = await profiled(script, []);
  const bp = await profiled(script, [], [], 'breakpoints');
  console.log('## Wall clock, fixtures/allocate.js (whole process, start-up included)');
  console.log(
    `unprofiled ${base.wallMs.toFixed(0)} ms, probes ${run.wallMs.toFixed(0)} ms (${(run.wallMs / base.wallMs).toFixed(2)}x), ` +
      `breakpoints ${bp.wallMs.toFixed(0)} ms (${(bp.wallMs / base.wallMs).toFixed(2)}x)\n`,
  );
}

async function accuracy(): Promise<void> {
  const script = fixture('exact.js');
  const rows: Array<[string, string, string]> = [
    ['ints', 'new Array(1e6).fill(0)', 'new Array(1e6).fill(0)'],
    ['objects', 'Array.from({ length: 1e5 }', '1e5 objects {i}'],
    ['flat', "'a'.repeat(4e6)", 'flat 4,000,000-char string'],
    ['bytes', 'new Uint8Array(1e6)', 'new Uint8Array(1e6)'],
    ['buffer', 'Buffer.alloc(1 << 20)', 'Buffer.alloc(1 << 20)'],
    ['parsed', 'JSON.parse(doc)', 'JSON.parse of a 200-user document'],
  ];
  console.log('## Accuracy: expected = V8 accounting in-process by an uninstrumented twin (fixtures/exact.js)');
  console.log('(node flags --no-opt --no-sparkplug --no-maglev --no-lazy --no-lazy-feedback-allocation: a stable tier)');
  console.log(`${'line'.padEnd(36)}${'engine'.padEnd(13)}${'expected heap'.padStart(14)}${'reported'.padStart(12)}${'diff'.padStart(7)}${'expected ext'.padStart(14)}${'reported'.padStart(10)}`);
  for (const engine of ['probes', 'breakpoints'] as const) {
    const run = await profiled(script, [], STABLE_TIER, engine);
    const truth = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, { heap: number; external: number }>;
    const fn = run.result.functions.find((f) => f.name === 'allocateKnown')!;
    for (const [key, text, label] of rows) {
      const line = fn.lines.find((l) => l.content.includes(text))!;
      const t = truth[key]!;
      console.log(
        `${label.padEnd(36)}${engine.padEnd(13)}${String(t.heap).padStart(14)}${String(line.allocatedBytes).padStart(12)}` +
          `${String(line.allocatedBytes - t.heap).padStart(7)}${String(t.external).padStart(14)}${String(line.externalBytes).padStart(10)}`,
      );
    }
  }
  // The GC-heavy line: a call allocating ~290 MB of short-lived objects at node's own heap settings.
  const heavy = fixture('gc-heavy.js');
  const truth = JSON.parse(
    execFileSync(process.execPath, ['--max-semi-space-size=2048', '--min-semi-space-size=2048', ...STABLE_TIER, heavy, '--truth'], { encoding: 'utf8' }),
  ) as { churn: number; n: number };
  const expected = Math.round(truth.churn * ((truth.n + 1000) / truth.n));
  for (const engine of ['probes', 'breakpoints'] as const) {
    const run = await profiled(heavy, [], STABLE_TIER, engine);
    const line = run.result.functions[0]!.lines.find((l) => l.content.includes('churn(n)'))!;
    console.log(
      `${'GC-heavy line (churn, ~290 MB)'.padEnd(36)}${engine.padEnd(13)}${String(expected).padStart(14)}` +
        `${String(line.allocatedBytes).padStart(12)} ${(((line.allocatedBytes - expected) / expected) * 100).toFixed(3)} %, ` +
        `${line.gcAffected ? 'flagged *' : 'NOT flagged'}, ${run.result.stats.userGcs} collections seen`,
    );
  }
  const flat = await profiled(fixture('allocate-flat.js'), []);
  const flatLine = flat.result.functions[0]!.lines.find((l) => l.content.includes("'a'.repeat"))!;
  const flatExpected = 30 * 4_000_016;
  console.log(
    `allocate-flat.js flat line (probes): ${flatLine.occurrences} occurrences, ${flatLine.allocatedBytes} B vs 30 x 4,000,016 = ` +
      `${flatExpected} B (${(((flatLine.allocatedBytes - flatExpected) / flatExpected) * 100).toFixed(4)} %; the rope pieces are ~840 B each)\n`,
  );
}

/**
 * A server under attach, each engine: throughput and p90 latency of sequential requests, unprofiled, attached and
 * after detach, as ratios to unprofiled; and how long each LiveEdit stopped the server (probes).
 */
async function attachOverhead(): Promise<void> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', fixture('targets/server.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  while (!/ready \d+/.test(out) || !/ws:\/\/\S+/.test(err)) await new Promise((r) => setTimeout(r, 20));
  const port = Number(/ready (\d+)/.exec(out)![1]);
  const ws = /ws:\/\/\S+/.exec(err)![0];
  const load = async (n: number): Promise<{ rate: number; p90: number }> => {
    const times: number[] = [];
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      await get(port);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((x, y) => x - y);
    return { rate: n / (Number(process.hrtime.bigint() - start) / 1e9), p90: times[Math.floor(n * 0.9)]! };
  };
  await load(2000); // warm up: the server's JIT settles
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const fmt = (r: { rate: number; p90: number }) => `${r.rate.toFixed(2)}x slower, p90 ${r.p90.toFixed(2)}x`;
  console.log('## Attach: fixtures/targets/server.js, sequential requests over loopback');
  console.log(
    '(per engine, 3 rounds of 1000 requests unprofiled, attached and after detach, each of the last two after 3000 that ' +
      'settle the JIT; medians of the ratios to the unprofiled of each round)',
  );
  const hasLiveEdit = Number(process.versions.node.split('.')[0]) < 26;
  if (!hasLiveEdit) console.log(`probes      (this Node, ${process.version}, has no LiveEdit: attach reads by breakpoints)`);
  for (const engine of hasLiveEdit ? (['probes', 'breakpoints'] as const) : (['breakpoints'] as const)) {
    const attachedRatios: Array<{ rate: number; p90: number }> = [];
    const afterRatios: Array<{ rate: number; p90: number }> = [];
    let base = { rate: 0, p90: 0 };
    let pauses: number[] = [];
    for (let round = 0; round < 3; round++) {
      base = await load(1000);
      const abort = new AbortController();
      let inside!: () => void;
      const ready = new Promise<void>((resolve) => (inside = resolve));
      const profiling = attachProfile({ address: ws, signal: abort.signal, engine, onProgress: () => inside() });
      await ready;
      // The edit (or the breakpoints) deoptimise the process's code: a few thousand requests settle the JIT again
      // (measured on Node 20 with probes, thousands of requests 1-5: 0.46, 0.69, 0.81, 0.86, 0.78 of unprofiled).
      await load(3000);
      const attached = await load(1000);
      abort.abort();
      const { result } = await profiling;
      await load(3000);
      const after = await load(1000);
      pauses = result.stats.editPausesMs ?? [];
      attachedRatios.push({ rate: base.rate / attached.rate, p90: attached.p90 / base.p90 });
      afterRatios.push({ rate: base.rate / after.rate, p90: after.p90 / base.p90 });
    }
    const summary = (rs: Array<{ rate: number; p90: number }>) => ({ rate: median(rs.map((r) => r.rate)), p90: median(rs.map((r) => r.p90)) });
    console.log(
      `${engine.padEnd(11)} attached ${fmt(summary(attachedRatios))}; after detach ${fmt(summary(afterRatios))} ` +
        `(unprofiled ${base.rate.toFixed(0)} req/s, p90 ${base.p90.toFixed(2)} ms)`,
    );
    if (pauses.length > 0) console.log(`${''.padEnd(11)} edits of the last round (in, then out): ${pauses.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}`);
  }
  console.log('');
  child.kill();
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

const SECTIONS: Record<string, () => Promise<void>> = {
  overhead: overheadPerLine,
  wall: wallClock,
  attach: attachOverhead,
  accuracy,
  usage: usageOverhead,
};

/** `npm run bench` runs every section; `npm run bench -- overhead accuracy` the ones named. */
async function main(): Promise<void> {
  const named = process.argv.slice(2);
  const unknown = named.filter((n) => !(n in SECTIONS));
  if (unknown.length > 0) throw new Error(`unknown bench section ${unknown.join(', ')} (sections: ${Object.keys(SECTIONS).join(', ')})`);
  console.log(`lineprof bench, node ${process.version}, ${new Date().toISOString()}\n`);
  for (const [name, section] of Object.entries(SECTIONS)) if (named.length === 0 || named.includes(name)) await section();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
