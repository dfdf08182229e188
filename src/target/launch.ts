/**
 * Launch mode: start `node` with the agent preloaded, learn its inspector address (and `usage`'s samples) through a
 * pipe (fd 3), hold its lifeline (fd 4), take its report from a private directory once it ends, and give the
 * controller the child and its end.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { TargetError } from '../errors';
import { debug } from '../debug';
import type { AgentConfig, AgentMessage, AgentReport, PreloadConfig } from '../wire/agent-report';
import type { HeapSample } from '../wire/agent-report';
import { mergeThreadReports } from '../model/threads';
import { InspectorNoticeFilter } from './stderr-filter';
import { LIFELINE } from '../wire/run-protocol';
import type { TargetExit } from '../core/exit-status';
import type { StopSignal } from '../wire/run-protocol';

const CHANNEL_FD = 3;
const LIFELINE_FD = 4;
/** How long the child may take to load the agent and open its inspector. */
const READY_TIMEOUT_MS = 30_000;
/** After the script's exit, how long its pipes must be silent before lineprof stops waiting for them to close. */
const QUIET_AFTER_EXIT_MS = 250;
const MAX_WAIT_AFTER_EXIT_MS = 2000;
const PRELOAD = path.join(__dirname, '..', 'agent', 'preload.js');
/** Registers the probe engine's ES module hook; last, after the user's loaders (see register-esm.ts). */
const REGISTER_ESM = path.join(__dirname, '..', 'agent', 'probes', 'register-esm.js');

/**
 * A large young generation keeps scavenges out of most intervals (each one is detected and flagged, but an interval
 * without one is exact to the byte). Feedback vectors are allocated on a function's first call rather than after a
 * budget of calls: with lazy allocation, V8 was seen to allocate ~2.8 KB at every breakpoint hit of some functions
 * (depending on where the code lives), which calibration cannot see. The user's own --node-arg flags come later and
 * win.
 */
export const DEFAULT_NODE_FLAGS = [
  '--min-semi-space-size=64',
  '--max-semi-space-size=64',
  '--no-lazy-feedback-allocation',
];

/**
 * The probe engine runs the program with node's own heap settings, but no V8 background threads: a compiler or
 * sweeper thread changes old, code and trusted space's used size at any moment (allocation buffers taken and
 * returned, tens to hundreds of KB), which would land in whatever line runs then. With them off, the same run gives
 * the same figures to the byte (seen: 5 of 5 runs alike, against 1 of 5 with concurrency on, on Node 24).
 */
export const PROBE_NODE_FLAGS = ['--single-threaded'];

export interface LaunchOptions {
  script: string;
  scriptArgs: string[];
  nodeArgs: string[];
  agent: AgentConfig;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the child's stderr goes once the inspector's notices are removed (default: this process's stderr). */
  stderr?: NodeJS.WritableStream;
  /** Where the child's stdout goes (default: inherited, so a terminal stays a terminal for the script). */
  stdout?: NodeJS.WritableStream;
  /**
   * lineprof's node flags for exact line figures (DEFAULT_NODE_FLAGS; default true). `lineprof usage` measures the
   * process as it runs without lineprof, so it passes false: a 64 MiB young generation would be its memory.
   */
  defaultNodeFlags?: boolean;
  /** `lineprof usage`: the memory sampler's interval (ms) and where its samples go. */
  sampler?: {
    intervalMs: number;
    onSample(sample: HeapSample): void;
    /**
     * When the script started (epoch ms): the preload's end (`firstLine` false), then, for a CommonJS main module,
     * the moment its code began (true).
     */
    onScriptStart?(t: number, firstLine: boolean): void;
  };
}

export type { TargetExit } from '../core/exit-status';

export interface LaunchedTarget {
  child: ChildProcess;
  /** Resolves once the agent is in place (the script runs from then on). */
  ready: Promise<{ pid: number }>;
  exited: Promise<TargetExit>;
  /** The latest report the agent sent (the final one, once the target has exited normally). */
  latestReport(): AgentReport | undefined;
  /** Tail of what the child wrote to stderr, for error messages. */
  stderrTail(): string;
  /**
   * Asks the script to stop as the signal would, after its final report; 'end' ends it now, after the report. Goes
   * through the lifeline, so it works while the script is busy in synchronous code (see lifeline-worker.ts).
   */
  interrupt(what: StopSignal | 'end'): void;
  /** Sends a signal to the script's process, if it is still running. */
  kill(signal: NodeJS.Signals): void;
}

export function launchTarget(options: LaunchOptions): LaunchedTarget {
  // mkdtemp makes the directory 0700: no other user can read or replace the report in it.
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-report-'));
  const reportFile = path.join(reportDir, 'report.json');
  const config: PreloadConfig = {
    ...options.agent,
    channelFd: CHANNEL_FD,
    reportFile,
    lifelineFd: LIFELINE_FD,
    samplerIntervalMs: options.sampler?.intervalMs,
  };
  const probes = options.agent.engine === 'probes' && options.agent.mode !== 'spans';
  const flags = options.defaultNodeFlags === false ? [] : probes ? PROBE_NODE_FLAGS : DEFAULT_NODE_FLAGS;
  const esm = probes ? ['--import', pathToFileURL(REGISTER_ESM).href] : [];
  const args = [...flags, ...options.nodeArgs, '--require', PRELOAD, ...esm, options.script, ...options.scriptArgs];
  debug('spawn %s %o', process.execPath, args);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), LINEPROF_AGENT: JSON.stringify(config) },
      stdio: ['inherit', options.stdout ? 'pipe' : 'inherit', 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    fs.rmSync(reportDir, { recursive: true, force: true });
    throw new TargetError(`could not start node: ${(err as Error).message}`);
  }
  if (options.stdout) child.stdout!.pipe(options.stdout, { end: false });
  let report: AgentReport | undefined;
  /** Worker threads whose agent started (each saves report-<threadId>.json beside the main report). */
  const threads = new Set<number>();
  /** Takes the reports the agents saved (once the script has ended) and removes lineprof's directory. */
  const collectReport = (): void => {
    const main = readReport(reportFile);
    try {
      for (const name of fs.readdirSync(reportDir)) {
        const id = /^report-(\d+)\.json$/.exec(name)?.[1];
        if (id !== undefined) threads.add(Number(id));
      }
    } catch {
      // No directory: no report either.
    }
    const workers = [...threads].map((threadId) => ({ threadId, report: readReport(path.join(reportDir, `report-${threadId}.json`)) }));
    report = main && mergeThreadReports(main, workers);
    fs.rmSync(reportDir, { recursive: true, force: true });
  };
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  child.stderr!.pipe(new InspectorNoticeFilter()).pipe(options.stderr ?? process.stderr, { end: false });

  let resolveReady!: (value: { pid: number }) => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<{ pid: number }>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const readyTimer = setTimeout(() => {
    rejectReady(new TargetError(`the script's node did not start lineprof's agent within ${READY_TIMEOUT_MS / 1000} s`));
  }, READY_TIMEOUT_MS);
  readMessages(child.stdio[CHANNEL_FD] as Readable, (message) => {
    if (message.type === 'ready') {
      clearTimeout(readyTimer);
      if (message.t !== undefined) options.sampler?.onScriptStart?.(message.t, false);
      resolveReady({ pid: message.pid });
    } else if (message.type === 'sample') {
      options.sampler?.onSample(message.sample);
    } else if (message.type === 'thread') {
      threads.add(message.threadId);
    } else if (message.type === 'script-start') {
      options.sampler?.onScriptStart?.(message.t, true);
    }
  });

  const exited = new Promise<TargetExit>((resolve, reject) => {
    child.on('error', (err) => {
      fs.rmSync(reportDir, { recursive: true, force: true });
      rejectReady(new TargetError(`could not start node: ${err.message}`));
      reject(err);
    });
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(readyTimer);
      collectReport();
      rejectReady(new TargetError('the target exited before lineprof could connect to it', 'target-exit'));
      resolve({ code, signal });
    };
    // 'close' comes after every pipe has drained, so the final report has been read. A process the script started
    // and left running holds the pipes open (it inherited them): once the script has exited, what it wrote is all
    // in the pipes, so lineprof reads until they go quiet and lets them go.
    child.on('close', settle);
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      let quietSince = exitedAt;
      const streams = [child.stdio[CHANNEL_FD], child.stderr, child.stdout].filter((s): s is Readable => s !== null) as Readable[];
      for (const stream of streams) stream.on('data', () => (quietSince = Date.now()));
      const poll = setInterval(() => {
        // Quiet, or (a process left behind that keeps writing) long enough: the script's own writes are all read.
        if (Date.now() - quietSince < QUIET_AFTER_EXIT_MS && Date.now() - exitedAt < MAX_WAIT_AFTER_EXIT_MS) return;
        clearInterval(poll);
        for (const stream of streams) stream.destroy();
        (child.stdio[LIFELINE_FD] as NodeJS.WritableStream & { destroy(): void } | null)?.destroy();
        settle(code, signal);
      }, QUIET_AFTER_EXIT_MS / 2);
      child.once('close', () => clearInterval(poll));
    });
  });
  exited.catch(() => undefined);
  ready.catch(() => undefined);
  const lifeline = child.stdio[LIFELINE_FD] as NodeJS.WritableStream;
  lifeline.on('error', () => undefined); // the child is gone: 'exited' says how
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const write = (byte: string): void => {
    if (running()) lifeline.write(byte);
  };
  return {
    child,
    ready,
    exited,
    latestReport: () => report,
    stderrTail: () => tail,
    interrupt: (what) => write(LIFELINE[what]),
    kill: (signal) => {
      if (running()) child.kill(signal);
    },
  };
}

function readReport(file: string): AgentReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as AgentReport;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') debug('unreadable report %s: %s', file, (err as Error).message);
    return undefined;
  }
}

function readMessages(stream: Readable, onMessage: (message: AgentMessage) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        onMessage(JSON.parse(line) as AgentMessage);
      } catch (err) {
        debug('unreadable agent message: %s', (err as Error).message);
      }
    }
  });
}
