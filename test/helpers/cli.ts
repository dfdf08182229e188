/** Runs the built CLI (bin/lineprof.js) as a user would. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { ROOT } from './profile';

export const BIN = path.join(ROOT, 'bin', 'lineprof.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** lineprof leads a process group of its own, as a terminal's foreground job does (see ctrlC). */
  detached?: boolean;
  /** No core file, whatever the machine's limit: for tests whose script crashes on purpose. */
  noCoreDump?: boolean;
}

export function startCli(
  args: string[],
  cwd = ROOT,
  options: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult>; stdout(): string; stderr(): string } {
  const [command, argv] = options.noCoreDump
    ? ['/bin/sh', ['-c', 'ulimit -c 0 && exec "$0" "$@"', process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  const child = spawn(command, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

export function runCli(args: string[], cwd = ROOT, options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, cwd, options).done;
}

/** Byte figures and absolute paths vary from run to run; line numbers, occurrences and contents do not. */
export function normalizeTable(text: string): string {
  return text
    .split(ROOT)
    .join('<root>')
    .replace(/-?\d+(?:\.\d+)? (?:B|KiB|MiB|GiB)[*!]*/g, '<bytes>')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trimEnd())
    .join('\n');
}

/** Compares with fixtures/golden/NAME; LINEPROF_UPDATE_GOLDEN=1 rewrites the file instead. */
export function assertGolden(name: string, actual: string): void {
  const file = path.join(ROOT, 'fixtures', 'golden', name);
  if (process.env.LINEPROF_UPDATE_GOLDEN === '1') {
    fs.writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `differs from ${file} (LINEPROF_UPDATE_GOLDEN=1 rewrites it)`);
}

export async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a terminal's Ctrl-C does: SIGINT to every process of the foreground job (lineprof and the script). */
export function ctrlC(cli: { child: ChildProcess }): void {
  process.kill(-cli.child.pid!, 'SIGINT');
}

/** Processes of a process group that are alive (not zombies waiting for a parent to reap them). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so read after the last ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

/** Whether a process is alive: running or stopped, not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
