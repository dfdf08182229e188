/**
 * The in-process API, for scripts and tests: memory over one call of a function (memory_profiler's `memory_usage`),
 * the line table of one call (`profileLines`), and budgets to assert in a test (`expectMemory`).
 *
 * Every helper calls the function exactly once. (memory_profiler calls it again when it got too few samples, which
 * runs side effects twice; here a sample is always taken right before and right after the call instead.)
 */
import { AssertionError } from 'node:assert';
import { Session } from 'node:inspector';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Agent, RECORDER_GLOBAL } from './agent/agent';
import type { SamplerWorkerData } from './agent/sampler-worker';
import type { HeapSample } from './wire/agent-report';
import { LineprofError, UsageError } from './errors';
import { buildFunctionProfiles } from './model/result';
import type { FunctionProfile } from './model/types';
import { formatBytes, parseBytes } from './report/format';
import { separateUnmappedLines } from './sourcemap/apply';
import { peakOf, usageSampleOf } from './usage/model';
import type { UsagePeak, UsageSample } from './usage/model';
import { DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, sampleUsage } from './commands/usage';

export interface MemoryUsageOptions {
  /** Seconds between samples (default 0.1, from 0.005). */
  interval?: number;
  /** A process: stop after this many seconds. A function: stop sampling (the call itself runs to its end). */
  timeout?: number;
  /** Keep only the peak (samples: []). */
  maxUsage?: boolean;
  /** Include the function's return value (`value`); it is always returned, this is memory_profiler's name. */
  retval?: boolean;
  /** A process: add its children's RSS. */
  includeChildren?: boolean;
}

export interface MemoryUsage<T> {
  /** `t` in seconds since sampling began; heap fields are the JS heap of this process (or the target's). */
  samples: UsageSample[];
  peak: UsagePeak;
  durationSeconds: number;
  /** What the function returned (resolved, for an async function). */
  value?: T;
}

/**
 * Samples memory while `fn` runs once (sync or async), or a running process (`pid`) until it ends or `timeout`.
 *
 * @example
 * ```ts
 * const { peak, samples, value } = await memoryUsage(() => buildIndex(docs), { interval: 0.01 });
 * console.log(`peak RSS ${peak.rss} B over ${samples.length} samples`);
 * ```
 */
export async function memoryUsage<T>(target: (() => T | Promise<T>) | number, options: MemoryUsageOptions = {}): Promise<MemoryUsage<T>> {
  const interval = options.interval ?? DEFAULT_INTERVAL_SECONDS;
  if (!(interval >= MIN_INTERVAL_SECONDS)) throw new UsageError(`interval must be at least ${MIN_INTERVAL_SECONDS} s, got ${interval}`);
  if (typeof target === 'number') {
    const result = await sampleUsage({ pid: target, intervalSeconds: interval, timeoutSeconds: options.timeout, includeChildren: options.includeChildren }).done;
    return { samples: options.maxUsage ? [] : result.samples, peak: result.peak, durationSeconds: result.durationSeconds };
  }
  if (typeof target !== 'function') throw new UsageError('memoryUsage takes a function or a process id');
  const sampler = await startSampler(interval * 1000);
  const origin = sampler.origin;
  let value: T;
  try {
    value = await target();
  } finally {
    await sampler.stop(options.timeout);
  }
  // In time order: a reading the main thread was slow to answer arrives after the RSS-only ones taken meanwhile.
  const samples = [...sampler.samples]
    .sort((a, b) => a.t - b.t)
    .filter((s) => options.timeout === undefined || s.t - origin <= options.timeout * 1000)
    .map((s) => usageSampleOf(s, origin));
  return {
    samples: options.maxUsage ? [] : samples,
    peak: peakOf(samples),
    durationSeconds: samples.length > 0 ? samples[samples.length - 1]!.t : 0,
    value,
  };
}

interface RunningSampler {
  origin: number;
  samples: HeapSample[];
  /** Takes a last sample (after the call) and ends the worker. */
  stop(timeout?: number): Promise<void>;
}

/** The sampler worker of `lineprof usage`, in this process; resolves once its first sample is in. */
function startSampler(intervalMs: number): Promise<RunningSampler> {
  const workerData: SamplerWorkerData = { intervalMs };
  const worker = new Worker(path.join(__dirname, 'agent', 'sampler-worker.js'), { workerData });
  const samples: HeapSample[] = [];
  return new Promise((resolve, reject) => {
    let origin: number | undefined;
    worker.on('message', (sample: HeapSample) => {
      samples.push(sample);
      if (origin === undefined) {
        origin = sample.t;
        resolve({
          origin,
          samples,
          stop: () =>
            new Promise<void>((done) => {
              worker.once('exit', () => done());
              worker.postMessage('stop');
            }),
        });
      }
    });
    worker.once('error', reject);
  });
}

export interface LineTable {
  /** The function's table: its lines with their figures, as `lineprof run` prints them. */
  profile: FunctionProfile;
  /** What the function returned. */
  value: unknown;
  warnings: string[];
}

/**
 * The line table of one call of `fn`, measured in this process with the same exact machinery as `lineprof run`.
 * `fn` must be a function written in a file (not a bound or native function).
 *
 * @example
 * ```ts
 * const { profile } = await profileLines(() => parseDocument(text));   // an arrow calling the function to profile
 * const { profile } = await profileLines(parseDocument, text);          // or the function and its arguments
 * ```
 */
export async function profileLines<A extends unknown[], T>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<LineTable & { value: T }> {
  if (typeof fn !== 'function') throw new UsageError('profileLines takes a function');
  if (RECORDER_GLOBAL in globalThis) {
    throw new UsageError('lineprof is already profiling this process (lineprof run or attach): profileLines cannot nest');
  }
  const position = functionPosition(fn);
  const agent = new Agent({
    selection: { markers: false, functions: [], lines: [], positions: [position] },
    includeNodeModules: true, // the function may live there; only its own file is looked at
    gcEvery: 2048,
    calibrationSamples: 5,
  });
  agent.start();
  let value: T;
  let report;
  try {
    value = await fn(...args);
  } finally {
    report = agent.report(true); // also takes every breakpoint out
  }
  const functions = buildFunctionProfiles(separateUnmappedLines(report));
  const profile = functions[0];
  if (!profile) {
    throw new LineprofError(`could not find ${fn.name || 'the function'} in ${position.file}: ${report.warnings.join('; ') || 'not instrumented'}`, 'not-found', 1);
  }
  return { profile, value, warnings: report.warnings };
}

/** Where V8 keeps a function: its script's file and the position of its parameter list. */
function functionPosition(fn: Function): { file: string; line: number; column: number } {
  const session = new Session();
  session.connect();
  const key = `__lineprofTarget${process.pid}`;
  (globalThis as Record<string, unknown>)[key] = fn;
  try {
    // Same-thread sessions answer synchronously.
    const post = <R>(method: string, params: object = {}): R => {
      let out: { err: Error | null; result?: R } | undefined;
      session.post(method, params, (err, result) => (out = { err, result: result as R }));
      if (!out) throw new Error(`${method} did not answer`);
      if (out.err) throw out.err;
      return out.result!;
    };
    const { result } = post<{ result: { objectId?: string } }>('Runtime.evaluate', { expression: `globalThis.${key}` });
    const { internalProperties } = post<{ internalProperties?: Array<{ name: string; value?: { value?: unknown } }> }>(
      'Runtime.getProperties',
      { objectId: result.objectId, ownProperties: true },
    );
    const location = internalProperties?.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as
      | { scriptId: string; lineNumber: number; columnNumber: number }
      | undefined;
    if (!location) throw new UsageError(`${fn.name || 'this function'} has no source to profile (a bound or native function?)`);
    let url: string | undefined;
    session.on('Debugger.scriptParsed', (event) => {
      if (event.params.scriptId === location.scriptId) url = event.params.url;
    });
    post('Debugger.enable');
    post('Debugger.disable');
    if (!url) throw new UsageError(`${fn.name || 'this function'} comes from a script without a URL: it cannot be profiled`);
    return { file: url.startsWith('file:') ? fileURLToPath(url) : url, line: location.lineNumber + 1, column: location.columnNumber };
  } finally {
    delete (globalThis as Record<string, unknown>)[key];
    session.disconnect();
  }
}

export interface MemoryExpectation {
  /**
   * The call's net JS heap change from entry to exit (what it leaves behind, as `--max-increment`) must stay under
   * `limit`. For an async function, what ran while it waited counts too: a budget errs on the safe side.
   */
  toStayUnder(limit: string | number): Promise<FunctionProfile>;
  /** The bytes allocated on the JS heap during the call (Allocated, and Suspended for an async one) must stay under. */
  toAllocateUnder(limit: string | number): Promise<FunctionProfile>;
}

/** The figures a budget checks: the whole call, suspensions included. */
function budgetFigure(profile: FunctionProfile, figure: 'net' | 'allocated'): number {
  if (figure === 'net') return profile.maxCallNetBytes ?? profile.netBytes;
  return profile.allocatedBytes + profile.lines.reduce((sum, l) => sum + l.suspendedBytes, 0);
}

/**
 * A memory budget for a test (like pytest-memray's `limit_memory`), usable with node:test, Jest, Mocha or Vitest:
 * each check runs `fn` once under `profileLines` and throws an AssertionError naming the heaviest lines when the
 * budget is exceeded.
 *
 * @example
 * ```ts
 * test('parsing a 1 MB document keeps under 10 MiB', async () => {
 *   await expectMemory(() => parseDocument(text)).toStayUnder('10 MiB');
 * });
 * ```
 */
export function expectMemory(fn: () => unknown): MemoryExpectation {
  const check = async (limit: string | number, figure: 'net' | 'allocated', verb: string): Promise<FunctionProfile> => {
    const limitBytes = typeof limit === 'number' ? limit : parseBytes(limit);
    const { profile } = await profileLines(fn);
    const measured = budgetFigure(profile, figure);
    if (measured > limitBytes) {
      const format = { unit: 'auto' as const, precision: 2 };
      const ofLine = (l: FunctionProfile['lines'][number]): number =>
        (figure === 'net' ? l.netBytes : l.allocatedBytes) + l.suspendedBytes;
      const heaviest = [...profile.lines]
        .filter((l) => l.occurrences > 0)
        .sort((a, b) => ofLine(b) - ofLine(a))
        .slice(0, 3)
        .map((l) => `  line ${l.line}: ${formatBytes(ofLine(l), format)}  ${l.content.trim()}`);
      throw new AssertionError({
        message:
          `expected ${profile.name} to ${verb} under ${formatBytes(limitBytes, format)}, it ${verb === 'stay' ? 'grew the JS heap by' : 'allocated'} ` +
          `${formatBytes(measured, format)} (${profile.file}:${profile.startLine})\n${heaviest.join('\n')}`,
        actual: measured,
        expected: limitBytes,
        operator: '<=',
      });
    }
    return profile;
  };
  return {
    toStayUnder: (limit) => check(limit, 'net', 'stay'),
    toAllocateUnder: (limit) => check(limit, 'allocated', 'allocate'),
  };
}
