/**
 * The checks of a script lineprof is to launch (run, usage), made before anything runs: the script is there and
 * compiles, node's flags will run it without waiting for a debugger, a TypeScript script has a loader, each --line
 * is inside a function, and something is marked. Each failure is one UsageError line.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors';
import { nodeStripsTypes } from '../agent/probes/typescript';
import { parseSource, splitLines } from '../selection/find-functions';
import { innermostFunctionAt, parseLineSelector } from '../selection/selectors';
import type { LineSelector } from '../selection/selectors';
import { loadSourceMap, originalViewOf } from '../sourcemap/load';
import { NOTHING_MARKED } from './options';

const SOURCE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.jsx', '.ts', '.cts', '.mts', '.tsx']);

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
export function checkSyntax(script: string, cwd: string, nodeArgs: string[], env: NodeJS.ProcessEnv): void {
  if (!['', '.js', '.cjs', '.mjs'].includes(path.extname(script))) return;
  // A preload or loader of the user's may compile the script (@babel/register, a loader hook): `node --check` would
  // judge a text node never runs as it is. Nor can they run here: they are the program's code, run once, by the run.
  // The run then reports its own syntax errors.
  const options = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((a) => a !== '');
  if (withoutPreloads(nodeArgs).length !== nodeArgs.length || withoutPreloads(options).length !== options.length) return;
  const check = spawnSync(process.execPath, [...nodeArgs, '--check', script], { cwd, encoding: 'utf8', env });
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
export function requireSomeMarker(script: string, markers: boolean): void {
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


/** The last line of a stderr tail that says something (not a stack frame), for an error message. */
export function lastLine(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at ') && !l.startsWith('Node.js v'))
    .pop();
  return line ? `: ${line}` : '';
}
