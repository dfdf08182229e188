/**
 * Saved results (`--save`), as mprof keeps its mprofile_*.dat: JSON files under ./.lineprof/ of the current folder,
 * named by command and time, listed by `lineprof list` and found by `lineprof plot` with no file. The only I/O of
 * the saved results; what a file says is read with the parsers of its kind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResultFileError, UsageError } from '../errors';
import type { ProfileResult } from '../model/types';
import { parseResultJson, renderJson } from '../report/json';
import { parseUsageJson } from '../usage/model';
import type { UsageResult } from '../usage/model';

export const STORE_DIR = '.lineprof';

export interface SavedEntry {
  /** The file, relative to the folder the store is in (`.lineprof/usage-….json`). */
  file: string;
  command: string;
  /** The script (or process) the result is of. */
  target: string;
  /** When the session started (the result's `startedAt`). */
  date: string;
  /** The peak: RSS for a usage result, the JS heap timeline's for run/attach; null when there is none. */
  peak: { bytes: number; of: 'RSS' | 'JS heap' } | null;
  /** Why the file could not be read as a result (it is listed, never silently skipped). */
  error?: string;
}

/** Refuses, before anything runs, a `--save` whose folder cannot be made or written. */
export function checkSavable(cwd = process.cwd()): void {
  const dir = path.join(cwd, STORE_DIR);
  const target = fs.existsSync(dir) ? dir : cwd;
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch {
    throw new UsageError(`--save: cannot write ${target} (the results go to ${dir})`);
  }
}

/**
 * Writes the result to ./.lineprof/<command>-<time>.json (the ISO time of the save with `-` for `:`, which some
 * file systems refuse) and returns that path, relative to `cwd`. A file of the same name is never overwritten.
 */
export function saveResult(result: UsageResult | ProfileResult, cwd = process.cwd(), now = new Date()): string {
  const dir = path.join(cwd, STORE_DIR);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot save the result in ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const text = result.command === 'usage' ? JSON.stringify(result, null, 2) + '\n' : renderJson(result as ProfileResult);
  const stamp = now.toISOString().replace(/:/g, '-');
  for (let n = 0; ; n++) {
    const name = `${commandName(result.command)}-${stamp}${n === 0 ? '' : `-${n}`}.json`;
    try {
      fs.writeFileSync(path.join(dir, name), text, { flag: 'wx' });
      return path.join(STORE_DIR, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 100) continue;
      throw new UsageError(`cannot save the result in ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/** The saved results of `cwd`, oldest first (by start time, then name): the newest is last, as `ls -tr` shows. */
export function listSaved(cwd = process.cwd()): SavedEntry[] {
  const dir = path.join(cwd, STORE_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UsageError(`cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const entries = names.map((name) => entryOf(path.join(STORE_DIR, name), path.join(dir, name)));
  return entries.sort((a, b) => (a.date === b.date ? (a.file < b.file ? -1 : 1) : a.date < b.date ? -1 : 1));
}

/** The newest saved result that reads as one, for `lineprof plot` with no file; one line when there is none. */
export function latestSaved(cwd = process.cwd()): string {
  const latest = listSaved(cwd)
    .filter((e) => !e.error)
    .pop();
  if (!latest) {
    throw new UsageError(`no saved result in ${path.join(cwd, STORE_DIR)}: save one with lineprof usage --save (or run --save), or name a file`);
  }
  return path.join(cwd, latest.file);
}

/** Reads a result file of either kind (usage, or run/attach); one line when it is neither. */
export function readResultFile(file: string): UsageResult | ProfileResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: { command?: unknown };
  try {
    value = JSON.parse(text) as { command?: unknown };
  } catch (err) {
    throw new ResultFileError(`${file} is not JSON: ${(err as Error).message}`);
  }
  try {
    return value?.command === 'usage' ? parseUsageJson(value, file) : parseResultJson(text, file);
  } catch (err) {
    if (err instanceof ResultFileError) throw err;
    throw new ResultFileError((err as Error).message);
  }
}

function entryOf(file: string, full: string): SavedEntry {
  let result: UsageResult | ProfileResult;
  try {
    result = readResultFile(full);
  } catch (err) {
    return { file, command: '?', target: '?', date: '', peak: null, error: (err as Error).message.replace(full, file) };
  }
  if (result.command === 'usage') {
    const usage = result as UsageResult;
    const target = 'script' in usage.target ? usage.target.script : `pid ${usage.target.pid}`;
    return { file, command: 'usage', target, date: usage.startedAt, peak: usage.samples.length > 0 ? { bytes: usage.peak.rss, of: 'RSS' } : null };
  }
  const profile = result as ProfileResult;
  let peak: number | null = null;
  for (const [, bytes] of profile.timeline ?? []) if (peak === null || bytes > peak) peak = bytes;
  return { file, command: profile.command, target: profile.script ?? '', date: profile.startedAt, peak: peak === null ? null : { bytes: peak, of: 'JS heap' } };
}

/** A command name as a file name part: lineprof's own are plain words; anything else is kept to safe characters. */
function commandName(command: string): string {
  return command.replace(/[^\w-]/g, '_') || 'result';
}
