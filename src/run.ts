/**
 * `lineprof run`: check the request, launch the script with the agent, give the go-ahead over the inspector, wait for
 * the script to end and turn the agent's report into a ProfileResult.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TargetError, UsageError } from './errors';
import { debug } from './debug';
import { buildFunctionProfiles, timelineOf } from './model/result';
import { SCHEMA_VERSION } from './model/types';
import type { ProfileResult } from './model/types';
import type { AgentReport } from './wire/agent-report';
import { parseSource, splitLines } from './selection/find-functions';
import { innermostFunctionAt, parseLineSelector } from './selection/selectors';
import type { LineSelector, SelectionSpec } from './selection/selectors';
import { launchTarget } from './target/launch';
import { nodeStripsTypes } from './agent/probes/typescript';
import { separateUnmappedLines } from './sourcemap/apply';
import { loadSourceMap, originalViewOf } from './sourcemap/load';
import type { LaunchedTarget } from './target/launch';
import { describeExit, exitStatus } from './core/exit-status';
import type { TargetExit } from './core/exit-status';
import type { StopSignal } from './wire/run-protocol';
import { VERSION } from './version';

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

export interface RunOptions extends ProfileOptions {
  /** The script to run, as the user named it (resolved against `cwd`). */
  script: string;
  args?: string[];
  /** Extra flags for `node` itself. */
  nodeArgs?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the script's stderr goes (default: this process's). */
  stderr?: NodeJS.WritableStream;
  /** Where the script's stdout goes (default: inherited). */
  stdout?: NodeJS.WritableStream;
}

export interface RunOutcome {
  result: ProfileResult;
  exit: TargetExit;
}

export interface RunHandle {
  /** Resolves when the script has ended and its figures are in. */
  done: Promise<RunOutcome>;
  /** Sends a signal to the script's process. */
  kill(signal: NodeJS.Signals): void;
  /**
   * Asks the script to stop as by the signal, after its final report, also while it is busy in synchronous code;
   * 'end' ends it now, after the report. (The CLI's Ctrl-C and SIGTERM, see cli/signals.ts.)
   */
  interrupt(what: StopSignal | 'end'): void;
}

/**
 * Hits between lineprof's own full GCs. Each hit compiles its condition as a new script; V8 lists every script, and
 * past ~16,000 live ones the list's growth (128 KB, then 256 KB…) would land in some line. Collecting every 2,048
 * hits keeps the list small and the hits fast; a full GC costs ~6 ms at 13 MB of live heap, ~50 ms at 100 MB.
 */
export const DEFAULT_GC_EVERY = 2048;

export const NOTHING_MARKED =
  'mark a function with a `// @profile` comment on the line above it, or pass --function NAME or --line FILE:LINE';

const SOURCE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.jsx', '.ts', '.cts', '.mts', '.tsx']);

/** Runs the script to its end under the profiler. */
export function runProfile(options: RunOptions): Promise<RunOutcome> {
  return startRun(options).done;
}

export function startRun(options: RunOptions): RunHandle {
  const cwd = options.cwd ?? process.cwd();
  // A stop asked for before the script is launched is done once it is.
  let early: ((target: LaunchedTarget) => void) | undefined;
  let launched: LaunchedTarget | undefined;
  const onTarget = (act: (target: LaunchedTarget) => void): void => {
    if (launched) act(launched);
    else early = act;
  };
  const done = (async (): Promise<RunOutcome> => {
    const script = resolveScript(options.script, cwd);
    checkNodeArgs(options.nodeArgs ?? [], options.env ?? process.env);
    const nodeArgs = withTypeScriptLoader(script, cwd, options.nodeArgs ?? [], options.env ?? process.env);
    checkSyntax(script, cwd, nodeArgs);
    const selection: SelectionSpec = {
      markers: options.markers ?? true,
      functions: options.functions ?? [],
      lines: (options.lines ?? []).map((text) => checkLineSelector(text, cwd)),
    };
    if (selection.functions.length === 0 && selection.lines.length === 0) requireSomeMarker(script, selection.markers);

    const startedAt = new Date();
    const target = launchTarget({
      script,
      scriptArgs: options.args ?? [],
      nodeArgs,
      agent: {
        selection,
        includeNodeModules: options.includeNodeModules ?? false,
        gcEvery: options.gcEvery ?? DEFAULT_GC_EVERY,
        calibrationSamples: options.calibrationSamples ?? 5,
        engine: options.engine ?? 'probes',
      },
      cwd,
      env: options.env,
      stderr: options.stderr,
      stdout: options.stdout,
    });
    launched = target;
    early?.(target);

    await awaitAgentReady(target, script, cwd, () => target.kill('SIGKILL'));

    const exit = await target.exited;
    const agentReport = target.latestReport();
    const report = agentReport && separateUnmappedLines(agentReport);
    debug('target exit %o, report %s', exit, report ? 'received' : 'missing');
    if (!report) {
      throw new TargetError(
        `the script ended (${describeExit(exit)}) without lineprof's report: it was killed before its exit handlers ran`,
        'no-report',
        exitStatus(exit),
      );
    }
    // The program died without its exit handlers (out of memory, abort, SIGKILL): the last report it sent stands.
    const cutShort = !report.final;
    const functions = buildFunctionProfiles(report);
    if (functions.length === 0) {
      if (exit.code !== 0 || exit.signal) {
        // A script that failed before loading what was marked (a missing loader, an exception at startup).
        throw new TargetError(
          `${displayPath(script, cwd)} ended (${describeExit(exit)}) before any marked function was loaded` +
            lastLine(target.stderrTail()),
          'target-failed',
          exitStatus(exit),
        );
      }
      // A selector that found nothing says why better than the general advice.
      const unmatched = warningsOf(report).find((w) => w.startsWith('--line ') || w.startsWith('--function '));
      if (unmatched) throw new UsageError(unmatched, 'nothing-marked');
      throw new UsageError(`no marked function was found in the scripts the program loaded: ${NOTHING_MARKED}`, 'nothing-marked');
    }
    const warnings = warningsOf(report);
    if (cutShort) {
      warnings.unshift(
        `the script ended (${describeExit(exit)}) before lineprof's final report: the figures are those of its last ` +
          'report, at most a second before the end',
      );
    }
    const result: ProfileResult = {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'lineprof', version: VERSION },
      command: 'run',
      script,
      argv: options.args ?? [],
      node: process.version,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      exit: { code: exit.code, signal: exit.signal },
      functions,
      unmatched: report.unmatched,
      stats: report.stats,
      warnings,
      timeline: timelineOf(report, startedAt),
      ...(cutShort ? { cutShort } : {}),
    };
    return { result, exit };
  })();
  return {
    done,
    kill: (signal) => onTarget((target) => target.kill(signal)),
    interrupt: (what) => onTarget((target) => target.interrupt(what)),
  };
}

/**
 * Waits until the launched target's agent is in place (the script runs from then on). On failure, `kill` ends the
 * target and the error says why, with the last line it wrote to stderr.
 */
export async function awaitAgentReady(target: LaunchedTarget, script: string, cwd: string, kill: () => void): Promise<void> {
  try {
    await target.ready;
  } catch (err) {
    kill();
    const exit = await target.exited;
    if (err instanceof TargetError && err.code === 'target-exit') {
      throw new TargetError(
        `${displayPath(script, cwd)} exited (${describeExit(exit)}) before it could be profiled` +
          lastLine(target.stderrTail()),
        'target-exit',
        exitStatus(exit),
      );
    }
    throw err;
  }
}

/** Flags that would pause the script for a debugger: none comes (lineprof works in-process), so nobody would resume it. */
export function checkNodeArgs(nodeArgs: string[], env: NodeJS.ProcessEnv): void {
  const fromOptions = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const pausing = [...nodeArgs, ...fromOptions].find((a) => /^--(inspect-brk|inspect-wait|debug-brk)(=|$)/.test(a));
  if (pausing) {
    const where = nodeArgs.includes(pausing) ? '--node-arg' : 'NODE_OPTIONS';
    throw new UsageError(`${where} ${pausing}: the script would wait for a debugger, and lineprof attaches none; drop it`);
  }
  const notRunning = nodeArgs.find((a) => /^(-c|--check|-e|--eval|-p|--print|--test|-i|--interactive)(=|$)/.test(a));
  if (notRunning) throw new UsageError(`--node-arg ${notRunning}: node would not run the script; drop it`);
}

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.cts', '.mts', '.tsx']);
const LOADER_FLAG = /^(--import|--require|-r|--loader|--experimental-loader)(=|$)/;
/** What a TypeScript loader's name looks like (a `--require ./env.js` is not one). */
const TYPESCRIPT_LOADER = /tsx|ts-node|@swc|esbuild-register|@babel\/register|typescript|\.ts$/;

/**
 * Node 20 cannot run TypeScript by itself. A `.ts` script with no TypeScript loader of the user's
 * (`--node-arg=--import=…`, `--require`, `--loader`, or in NODE_OPTIONS, naming tsx, ts-node, swc…) runs through tsx when the project has it: `lineprof run app.ts` is
 * the shortcut for `lineprof run --node-arg=--import=tsx app.ts`. Without tsx, one line says what to do.
 */
export function withTypeScriptLoader(script: string, cwd: string, nodeArgs: string[], env: NodeJS.ProcessEnv): string[] {
  if (!TYPESCRIPT_EXTENSIONS.has(path.extname(script))) return nodeArgs;
  const fromOptions = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const flags = [...nodeArgs, ...fromOptions];
  const loaders = flags.flatMap((a, i) => (LOADER_FLAG.test(a) ? [a.includes('=') ? a.slice(a.indexOf('=') + 1) : flags[i + 1] ?? ''] : []));
  if (loaders.some((name) => TYPESCRIPT_LOADER.test(name))) return nodeArgs;
  let tsx: string;
  try {
    tsx = require.resolve('tsx', { paths: [path.dirname(script), cwd] });
  } catch {
    // Node 22.18+ and 23.6+ strip types themselves (and the probe engine strips them the same way to instrument).
    if (nodeStripsTypes()) return nodeArgs;
    throw new UsageError(
      `${displayPath(script, cwd)} is TypeScript, which Node ${process.versions.node} cannot run by itself: install tsx ` +
        '(npm install --save-dev tsx) and lineprof uses it, or pass your loader with --node-arg=--import=LOADER, ' +
        'or compile with tsc --sourceMap and profile the .js',
      'typescript-loader',
    );
  }
  return [`--import=${pathToFileURL(tsx).href}`, ...nodeArgs];
}

export function resolveScript(script: string, cwd: string): string {
  const full = path.resolve(cwd, script);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new UsageError(`cannot find the script ${script} (looked for ${full})`, 'script-missing');
  }
  if (stat.isDirectory()) throw new UsageError(`${script} is a directory: name the script to run`, 'script-missing');
  try {
    fs.accessSync(full, fs.constants.R_OK);
  } catch {
    throw new UsageError(`cannot read the script ${script}: permission denied`, 'script-unreadable');
  }
  return full;
}

/**
 * A script V8 cannot compile would fail before any function runs: say so in one line instead of Node's stack. Node
 * itself checks (`node --check`, ~40 ms), so whatever this Node accepts is accepted.
 */
export function checkSyntax(script: string, cwd: string, nodeArgs: string[]): void {
  if (!['', '.js', '.cjs', '.mjs'].includes(path.extname(script))) return;
  // Without the user's preloads: they are code of the program's, run once, by the run itself.
  const env = { ...process.env, NODE_OPTIONS: withoutPreloads((process.env.NODE_OPTIONS ?? '').split(/\s+/)).join(' ') };
  const check = spawnSync(process.execPath, [...withoutPreloads(nodeArgs), '--check', script], { cwd, encoding: 'utf8', env });
  if (check.status === 0 || check.error) return;
  const lines = check.stderr.split('\n');
  const at = /^(.*):(\d+)$/.exec(lines[0] ?? '');
  const message = lines.find((l) => /^\w*Error: /.test(l));
  if (!at || !message) return; // not a syntax error this check can describe: let the run report it
  const caret = lines.findIndex((l) => /^\s*\^+\s*$/.test(l));
  const column = caret > 0 ? `:${lines[caret]!.indexOf('^') + 1}` : '';
  throw new UsageError(`${displayPath(at[1]!, cwd)}:${at[2]}${column}: ${message}`, 'syntax-error');
}

const PRELOAD_FLAGS = /^(?:--require|-r|--import|--loader|--experimental-loader)$/;

/** Node flags without those that load code before the script (`--require x`, `--import=x`, `-r x`). */
export function withoutPreloads(args: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (PRELOAD_FLAGS.test(arg)) i++;
    else if (!PRELOAD_FLAGS.test(arg.split('=')[0]!)) kept.push(arg);
  }
  return kept;
}

export function checkLineSelector(text: string, cwd: string): LineSelector {
  let selector: LineSelector;
  try {
    selector = parseLineSelector(text, (file) => path.resolve(cwd, file));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let source: string;
  try {
    source = fs.readFileSync(selector.file, 'utf8');
  } catch {
    throw new UsageError(`--line ${text}: cannot read ${selector.file}`);
  }
  const lineCount = splitLines(source).length;
  if (selector.line > lineCount) {
    throw new UsageError(`--line ${text}: ${displayPath(selector.file, cwd)} has ${lineCount} lines`);
  }
  // A TypeScript (or other compiled) file is matched through the source map of the code that runs, in the target.
  if (!SOURCE_EXTENSIONS.has(path.extname(selector.file)) || TYPESCRIPT_EXTENSIONS.has(path.extname(selector.file))) {
    return selector;
  }
  let fn;
  try {
    fn = innermostFunctionAt(parseSource(source), selector.line);
  } catch (err) {
    throw new UsageError(`--line ${text}: cannot parse ${selector.file}: ${(err as Error).message}`);
  }
  if (!fn) throw new UsageError(`--line ${text}: line ${selector.line} is not inside a function`);
  return selector;
}

/**
 * Marks may sit in modules the script loads later, so the main script alone cannot decide. Before running, look for
 * a `@profile` comment in the script and in the source files beside it (not node_modules, bounded); none anywhere is
 * an error before the script runs. A marker that only appears in a module that never loads is reported after the run.
 */
function requireSomeMarker(script: string, markers: boolean): void {
  if (markers) {
    if (fs.readFileSync(script, 'utf8').includes('@profile')) return;
    if (directoryHasMarker(path.dirname(script))) return;
  }
  throw new UsageError(`no marked function found in ${script} or the files beside it: ${NOTHING_MARKED}`, 'nothing-marked');
}

function directoryHasMarker(root: string): boolean {
  const queue = [{ dir: root, depth: 0 }];
  let files = 0;
  while (queue.length > 0) {
    const { dir, depth } = queue.shift()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < 4) queue.push({ dir: full, depth: depth + 1 });
      } else if (SOURCE_EXTENSIONS.has(path.extname(entry.name))) {
        if (++files > 2000) return true; // too large to be sure: let the run decide
        try {
          if (fs.readFileSync(full, 'utf8').includes('@profile')) return true;
        } catch {
          // unreadable: skip
        }
      } else if (entry.name.endsWith('.map')) {
        // Compiled code whose compiler dropped the comments: the marks are in the original sources.
        if (++files > 2000) return true;
        if (mappedSourcesHaveMarker(full)) return true;
      }
    }
  }
  return false;
}

function mappedSourcesHaveMarker(mapFile: string): boolean {
  try {
    const view = originalViewOf(loadSourceMap(mapFile.slice(0, -'.map'.length), pathToFileURL(mapFile).href));
    return view.files.some((file) => view.contentOf(file)?.includes('@profile') === true);
  } catch {
    return false; // not a readable map: the run will say what it finds
  }
}

/** A path as the user would write it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}


/** What the user should know about the figures of a run, beyond the tables. */
export function warningsOf(report: AgentReport): string[] {
  return [
    ...report.warnings,
    ...report.unmatched.functions.map(
      (f) =>
        `--function ${f} matched no function in the scripts the program loaded` +
        // Probes reach only what require and import load.
        (report.stats.engine === 'probes'
          ? ' (probes do not reach code made by eval, new Function or vm; --engine breakpoints does when it has a //# sourceURL)'
          : ''),
    ),
    ...report.unmatched.lines.map((l) =>
      report.unmatched.linesOutsideFunctions?.includes(l)
        ? `--line ${l} matched no function: that line is not inside a function`
        : `--line ${l} matched no function: that file was not loaded`,
    ),
  ];
}

function lastLine(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at ') && !l.startsWith('Node.js v'))
    .pop();
  return line ? `: ${line}` : '';
}
