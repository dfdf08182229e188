/** Runs a fixture under the real profiler (a real child process and inspector) and collects what it printed. */
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runProfile } from '../../src/commands/run';
import type { RunOptions, RunOutcome } from '../../src/commands/run';
import type { FunctionProfile, LineProfile } from '../../src/model/types';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURES = path.join(ROOT, 'fixtures');

/**
 * Flags for byte-exact comparisons: object sizes independent of JIT timing (`{i}` is 48 B interpreted, ~35 B
 * optimised), and functions compiled eagerly: with lazy compilation, in some runs (about half, in some directories)
 * every interval carried ~2.8 KB more than calibration saw (docs/limitations.md). On Node 24 and 26 `--no-opt` no
 * longer stops Maglev.
 */
export const STABLE_TIER = ['--no-opt', '--no-sparkplug', '--no-maglev', '--no-lazy', '--no-lazy-feedback-allocation'];

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
