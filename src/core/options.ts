/**
 * What every command's request may ask for, its defaults and its ranges, checked in full before anything starts:
 * a bad number must cost the user nothing (no script run, no process attached). One UsageError line each.
 */
import * as path from 'node:path';
import { UsageError } from '../errors';
import { parseLineSelector } from '../selection/selectors';
import type { SelectionSpec } from '../selection/selectors';

/** What to profile and how: the same for `run` and `attach`. */
export interface ProfileOptions {
  /** `--function NAME`: plain (`load`) or qualified (`Store.load`). */
  functions?: string[];
  /** `--line FILE:LINE`. */
  lines?: string[];
  /** Honour `// @profile` comments (default true). */
  markers?: boolean;
  includeNodeModules?: boolean;
  /** lineprof runs a full GC every this many hits, outside every interval (default 2048; 0 turns it off). */
  gcEvery?: number;
  calibrationSamples?: number;
  /** `probes` (default for run) or `breakpoints`. */
  engine?: 'probes' | 'breakpoints';
}

/**
 * Hits between lineprof's own full GCs. Each hit compiles its condition as a new script; V8 lists every script, and
 * past ~16,000 live ones the list's growth (128 KB, then 256 KB…) would land in some line. Collecting every 2,048
 * hits keeps the list small and the hits fast; a full GC costs ~6 ms at 13 MB of live heap, ~50 ms at 100 MB.
 */
export const DEFAULT_GC_EVERY = 2048;

export const NOTHING_MARKED =
  'mark a function with a `// @profile` comment on the line above it, or pass --function NAME or --line FILE:LINE';

/** Node's timers take at most 2^31 - 1 ms (~24.8 days); a longer one fires at once. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
/** `usage`: the shortest interval; below it the samples themselves would be most of what the target does. */
export const MIN_INTERVAL_SECONDS = 0.005;
export const DEFAULT_INTERVAL_SECONDS = 0.1;

/** A whole number from `min` (and up to `max`), or one line naming the option. */
export function checkWholeNumber(name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${name} takes a whole number ${range}, got ${value}`);
  }
}

/** A number of seconds a timer can wait: above 0, or from `min`, up to MAX_TIMER_SECONDS. */
export function checkSeconds(name: string, value: number | undefined, min?: number): void {
  if (value === undefined) return;
  if (!((min === undefined ? value > 0 : value >= min) && value <= MAX_TIMER_SECONDS)) {
    const from = min === undefined ? 'above 0' : `from ${min}`;
    throw new UsageError(`${name} takes a number of seconds ${from} up to ${MAX_TIMER_SECONDS}, got ${value}`);
  }
}

/** The options of a profile (run and attach) that are numbers. */
export function checkProfileOptions(options: Pick<ProfileOptions, 'gcEvery' | 'calibrationSamples'>): void {
  checkWholeNumber('--gc-every', options.gcEvery, 0);
  checkWholeNumber('calibrationSamples', options.calibrationSamples, 0, 1000);
}

/**
 * What to mark in a running process. Its files cannot be read from here (it may be another machine's or a
 * container's), so a `--line` is checked for its form only; the agent says after the run if it matched nothing.
 */
export function remoteSelection(options: Pick<ProfileOptions, 'markers' | 'functions' | 'lines'>): SelectionSpec {
  return {
    markers: options.markers ?? true,
    functions: options.functions ?? [],
    lines: (options.lines ?? []).map((text) => {
      try {
        return parseLineSelector(text, (file) => path.resolve(file));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }),
  };
}
