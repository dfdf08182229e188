/**
 * `lineprof attach`: profile marked functions in a running Node.js process, then leave it as it was.
 *
 * The controller sends the agent into the target over the inspector (src/inspector/remote-agent.ts), waits for the end condition, takes the final report (which removes every breakpoint and the
 * agent), and closes the connection. On any failure on lineprof's side it still removes the agent before closing.
 */
import * as path from 'node:path';
import { TargetError, UsageError } from './errors';
import { debug } from './debug';
import { FIRST_ANSWER_MS, InspectorSession } from './inspector/session';
import { buildFunctionProfiles, timelineOf } from './model/result';
import { SCHEMA_VERSION } from './model/types';
import type { ProfileResult } from './model/types';
import type { AgentConfig, AgentReport } from './wire/agent-report';
import { DEFAULT_GC_EVERY, warningsOf } from './run';
import type { ProfileOptions } from './run';
import { parseLineSelector } from './selection/selectors';
import type { SelectionSpec } from './selection/selectors';
import { endpointAnswers, resolveEndpoint } from './target/endpoint';
import { separateUnmappedLines } from './sourcemap/apply';
import type { EndpointRequest } from './target/endpoint';
import { VERSION } from './version';
import type { LeaseTerms, ProgressChannel, ProgressMessage } from './wire/attach-protocol';
import { RemoteAgent } from './inspector/remote-agent';
export { DEFAULT_MAX_EDIT_PAUSE_MS } from './wire/attach-protocol';
import type { ScriptListing } from './agent/agent';

const POLL_MS = 250;
const PROGRESS_BINDING = '__lineprofProgress';

export interface AttachOptions extends EndpointRequest, Omit<ProfileOptions, 'engine'> {
  /** Stop after this long. */
  durationMs?: number;
  /** Stop once the marked functions have been called this many times. */
  calls?: number;
  /** Stop when aborted (the CLI aborts on Ctrl-C and SIGTERM). */
  signal?: AbortSignal;
  /** Called about every 250 ms with the calls so far (and, with `liveReports`, the figures so far). */
  onProgress?: (progress: AttachProgress) => void;
  /** Send the whole report with every progress message (a live view), not once a second. */
  liveReports?: boolean;
  /** `auto` (default): probes by LiveEdit where the target's Node has it, else breakpoints. */
  engine?: 'auto' | 'probes' | 'breakpoints';
  /** Probes: a script whose edit is expected to stop the target longer than this (ms) keeps breakpoints. */
  maxEditPauseMs?: number;
}

export interface AttachProgress {
  calls: number;
  /** Breakpoint hits so far (lineprof's readings; it never pauses the target). */
  hits: number;
  elapsedMs: number;
  heapUsed: number;
  /** The figures so far, when the target sent them. */
  result?: ProfileResult;
}

export type AttachEnd = 'duration' | 'calls' | 'interrupted' | 'target-exit' | 'connection-lost' | 'until-stopped';

export interface AttachOutcome {
  result: ProfileResult;
  /** Why profiling ended. */
  ended: AttachEnd;
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

export async function attachProfile(options: AttachOptions): Promise<AttachOutcome> {
  const config: AgentConfig = {
    selection: remoteSelection(options),
    includeNodeModules: options.includeNodeModules ?? false,
    gcEvery: options.gcEvery ?? DEFAULT_GC_EVERY,
    calibrationSamples: options.calibrationSamples ?? 5,
    engine: options.engine ?? 'auto',
    ...(options.maxEditPauseMs !== undefined ? { maxEditPauseMs: options.maxEditPauseMs } : {}),
  };
  const endpoint = await resolveEndpoint(options);
  const session = await InspectorSession.connect(endpoint.url);
  const startedAt = new Date();
  let targetGone = false;
  let exiting = false;
  session.onDisconnect(() => {
    targetGone = true;
  });
  let agent: RemoteAgent | undefined;
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> => agent!.call<T>(fn, ...args);

  let lastReport: AgentReport | undefined;
  let fresh: AgentReport | undefined;
  let calls = 0;
  let hits = 0;
  let heapUsed = 0;
  let attached = false;
  let leaseWarning: string | undefined;
  const progress: ProgressChannel = {
    binding: PROGRESS_BINDING,
    everyMs: POLL_MS,
    reportEvery: options.liveReports ? 1 : 4,
  };
  // False once the target has not answered in time: nothing more is asked of it on the way out.
  let answering = true;
  try {
    // The first request: a target that does not answer it soon is given up (FIRST_ANSWER_MS).
    await session.addBinding(PROGRESS_BINDING, (payload) => {
      try {
        const message = JSON.parse(payload) as ProgressMessage;
        calls = message.calls;
        hits = message.hits;
        heapUsed = message.heapUsed;
        if (message.report) lastReport = fresh = message.report;
        if (message.exiting) targetGone = exiting = true;
      } catch {
        // not ours
      }
    }, FIRST_ANSWER_MS);
    try {
      agent = await RemoteAgent.load(session);
      const lease: LeaseTerms = { closeInspector: endpoint.openedByUs === true };
      const start = (): Promise<{ leaseless?: boolean }> => call('start', config, progress, lease);
      // A lineprof that was leaving (its lease running out) can take its module out between load and start.
      const started = await start().catch(async (err: unknown) => {
        if (!(err instanceof TargetError && err.code === 'agent-gone')) throw err;
        agent = await RemoteAgent.load(session);
        return start();
      });
      attached = true;
      if (started.leaseless) leaseWarning = 'the target cannot tell when lineprof is gone (no /proc): if lineprof is killed, it stays as it is until it restarts';
    } catch (err) {
      if (err instanceof TargetError && /lineprof run already attached/.test(err.message)) {
        throw new TargetError(`${endpoint.label} runs under lineprof run, which profiles it already: attach to a program not run by lineprof`, 'busy');
      }
      if (err instanceof TargetError && /already attached/.test(err.message)) {
        throw new TargetError(`${endpoint.label}: another lineprof is attached; detach it first`, 'busy');
      }
      throw err;
    }
    lastReport = await call<AgentReport>('snapshot');
    if (lastReport.unmatched.functions.length > 0) {
      // A name that matches nothing in a running process is most likely mistyped: say so with what is there.
      const listing = await call<ScriptListing[]>('list', config);
      const names = [...new Set(listing.flatMap((s) => s.functions.map((f) => f.name)))];
      const missing = lastReport.unmatched.functions.map((name) => {
        const close = closeMatches(name, names);
        return `${name}${close.length > 0 ? ` (close matches: ${close.join(', ')})` : ''}`;
      });
      throw new UsageError(
        `${endpoint.label}: no function named ${missing.join('; ')} in the scripts the process has loaded`,
        'no-such-function',
      );
    }
    if (lastReport.functions.length === 0) debug('no marked function loaded yet in %s', endpoint.label);
    const ended = await waitForEnd(options, startedAt, () => targetGone, () => {
      const report = fresh;
      fresh = undefined;
      return {
        calls,
        hits,
        heapUsed,
        elapsedMs: Date.now() - startedAt.getTime(),
        result: report ? toResult(report, endpoint.label, startedAt, 'until-stopped') : undefined,
      };
    });
    let report: AgentReport;
    if (ended === 'target-exit' || targetGone) {
      report = lastReport!;
    } else {
      report = await call<AgentReport>('finish');
      attached = false;
    }
    const mapped = separateUnmappedLines(report);
    if (leaseWarning) mapped.warnings.push(leaseWarning);
    // A connection that closed without the target's last message: it exited, or only the connection went (a
    // network, a tunnel, a proxy). The agent in a target still running puts its scripts back by itself (lease.ts).
    const lost = targetGone && !exiting && (await endpointAnswers(endpoint));
    const end: AttachEnd = lost ? 'connection-lost' : targetGone ? 'target-exit' : ended;
    if (lost) mapped.warnings.push('the connection to the target was lost: the figures are those of its last report (the target puts its scripts back by itself)');
    return { result: toResult(mapped, endpoint.label, startedAt, end), ended: end };
  } catch (err) {
    if (err instanceof TargetError && err.code === 'no-answer') answering = false;
    throw err;
  } finally {
    if (agent && !targetGone && answering) {
      // lineprof is leaving on an error: take everything out of the target before closing (abort also takes the
      // agent's module out when nothing was attached).
      if (attached) await call('abort').catch(() => undefined);
      else await call('unload').catch(() => undefined);
    }
    if (!targetGone && answering) {
      await session.removeBinding(PROGRESS_BINDING).catch(() => undefined);
      // An inspector lineprof opened (--pid) is closed again once this connection is gone (close waits for it).
      if (endpoint.openedByUs) {
        await session
          .evaluate("(r => setTimeout(() => r('node:inspector').close(), 50).unref())(require)")
          .catch(() => undefined);
      }
    }
    await session.close();
  }
}

/** Waits for the first end condition, on the progress the agent sends (nothing is asked of the target meanwhile). */
async function waitForEnd(
  options: AttachOptions,
  startedAt: Date,
  gone: () => boolean,
  progress: () => AttachProgress,
): Promise<AttachEnd> {
  const deadline = options.durationMs !== undefined ? startedAt.getTime() + options.durationMs : Infinity;
  for (;;) {
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), options.signal);
    if (gone()) return 'target-exit';
    if (options.signal?.aborted) return 'interrupted';
    if (Date.now() >= deadline) return 'duration';
    const now = progress();
    options.onProgress?.(now);
    if (options.calls !== undefined && now.calls >= options.calls) return 'calls';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function toResult(report: AgentReport, label: string, startedAt: Date, ended: AttachEnd): ProfileResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'lineprof', version: VERSION },
    command: 'attach',
    script: label,
    argv: [],
    node: process.version,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    exit: { code: null, signal: null },
    functions: buildFunctionProfiles(report),
    unmatched: report.unmatched,
    stats: report.stats,
    timeline: timelineOf(report, startedAt),
    warnings: [...warningsOf(report), ...(ended === 'target-exit' ? ['the target exited: figures up to its last report'] : [])],
  };
}

/** The program's scripts and functions in a running process, without profiling anything. */
export async function listTarget(options: AttachOptions): Promise<{ label: string; scripts: ScriptListing[] }> {
  const endpoint = await resolveEndpoint(options);
  const session = await InspectorSession.connect(endpoint.url);
  try {
    const config = {
      selection: { markers: options.markers ?? true, functions: options.functions ?? [], lines: [] },
      includeNodeModules: options.includeNodeModules ?? false,
      gcEvery: 0,
      calibrationSamples: 0,
    };
    const agent = await RemoteAgent.load(session);
    try {
      return { label: endpoint.label, scripts: await agent.call<ScriptListing[]>('list', config) };
    } finally {
      await agent.call('unload').catch(() => undefined);
    }
  } finally {
    await session.close();
  }
}

/** Names within two edits of `name`, or containing it (case-insensitive), at most five. */
export function closeMatches(name: string, names: string[]): string[] {
  const wanted = name.toLowerCase();
  const simple = (n: string) => n.slice(n.lastIndexOf('.') + 1).toLowerCase();
  return names
    .filter((n) => n !== '(anonymous)')
    .map((n) => ({ n, d: Math.min(editDistance(wanted, n.toLowerCase()), editDistance(wanted, simple(n))) }))
    .filter(({ n, d }) => d <= 2 || n.toLowerCase().includes(wanted))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 5)
    .map(({ n }) => n);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
