/** Runs a fixture under the real profiler (a real child process and inspector) and collects what it printed. */
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runProfile } from '../../src/run';
import type { RunOptions, RunOutcome } from '../../src/run';
import type { FunctionProfile, LineProfile } from '../../src/model/types';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURES = path.join(ROOT, 'fixtures');

/**
 * Flags for byte-exact comparisons: object sizes independent of JIT timing (DESIGN.md §1), and functions compiled
 * eagerly: with lazy compilation, in some runs (about half, in some directories) every interval carried ~2.8 KB
 * more than calibration saw (docs/limitations.md).
 */
export const STABLE_TIER = [
  '--no-opt',
  '--no-sparkplug',
  '--no-lazy',
  // On Node 24 and 26 --no-opt no longer stops Maglev (an Array.from of 1e5 objects: 4.08 MB instead of 5.60 MB on
  // 24); Node 20's V8 has the flag too (Maglev off by default there).
  '--no-maglev',
];

/** The major version of the Node running the tests (and so of the fixtures they launch). */
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

export interface Profiled extends RunOutcome {
  stdout: string;
  stderr: string;
}

export async function profileFixture(script: string, options: Omit<RunOptions, 'script'> = {}): Promise<Profiled> {
  const out = collect();
  const err = collect();
  const outcome = await runProfile({
    script: path.resolve(FIXTURES, script),
    stdout: out.stream,
    stderr: err.stream,
    ...options,
  });
  return { ...outcome, stdout: out.text(), stderr: err.text() };
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export function fn(outcome: RunOutcome, name: string): FunctionProfile {
  const found = outcome.result.functions.find((f) => f.name === name);
  if (!found) {
    throw new Error(`no function ${name} in the result (have: ${outcome.result.functions.map((f) => f.name).join(', ')})`);
  }
  return found;
}

/** The line whose source contains `text` (fixtures say what each line does; line numbers would be brittle). */
export function line(f: FunctionProfile, text: string): LineProfile {
  const found = f.lines.find((l) => l.content.includes(text));
  if (!found) throw new Error(`no line containing ${JSON.stringify(text)} in ${f.name}`);
  return found;
}

/** Asserts |actual - expected| <= tolerance with a message that shows both. */
export function assertBytes(actual: number, expected: number, tolerance: number, what: string): void {
  if (Math.abs(actual - expected) > tolerance) {
    throw new Error(`${what}: ${actual} B, expected ${expected} B ± ${tolerance} B (off by ${actual - expected} B)`);
  }
}

/**
 * Runs a byte-asserting test body (a fresh profile and its checks), and once more if it fails. On a busy machine V8
 * now and then accounts tens of KB of old space to an interval the program did not allocate in (seen once in CI:
 * +51,808 B on one line of a 120 KB recursion; docs/limitations.md). A failure that repeats on a second run is a
 * real one; a first failure is kept as a diagnostic in the test output, so that how often it happens stays visible.
 */
export async function measureTwice(t: { diagnostic(message: string): void }, attempt: () => Promise<void>): Promise<void> {
  // Up to three runs, a second apart: once, in a CI run that shared the machine with heavy builds, two runs in a
  // row of several tests were off by the same +3,016 B (not reproduced since); a third run a moment later is cheap.
  for (let run = 1; ; run++) {
    try {
      await attempt();
      return;
    } catch (err) {
      if (run === 3) throw err;
      t.diagnostic(`run ${run} failed, measuring again: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
