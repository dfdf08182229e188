/**
 * `lineprof attach`: profile marked functions in a running Node.js process, then leave it as it was.
 *
 * The controller sends the agent into the target over the inspector (src/inspector/remote-agent.ts), waits for the
 * session's one outcome (core/outcome.ts: the duration, the calls, a signal, the target's exit or a lost
 * connection, whichever comes first), takes the final report (which takes every probe, breakpoint and the agent out),
 * and closes the connection. On any failure on lineprof's side it still takes the agent out before closing; if
 * lineprof cannot (killed, the connection gone), the agent's lease does it in the target (agent/lease.ts).
 */
import { TargetError, UsageError } from '../errors';
import { debug } from '../debug';
import { FIRST_ANSWER_MS, InspectorSession } from '../inspector/session';
import { profileResultOf } from '../model/result';
import type { ProfileResult } from '../model/types';
import type { AgentConfig, AgentReport } from '../wire/agent-report';
import { checkProfileOptions, checkSeconds, checkWholeNumber, DEFAULT_GC_EVERY, MAX_TIMER_SECONDS, remoteSelection } from '../core/options';
import type { ProfileOptions } from '../core/options';
import { Outcome } from '../core/outcome';
import type { SessionControls } from '../core/signal-policy';
import { closeMatches } from '../selection/close-matches';
import { endpointAnswers, resolveEndpoint } from '../target/endpoint';
import { separateUnmappedLines } from '../sourcemap/apply';
import type { EndpointRequest } from '../target/endpoint';
import { VERSION } from '../version';
import type { LeaseTerms, ProgressChannel, ProgressMessage } from '../wire/attach-protocol';
import { DEFAULT_MAX_EDIT_PAUSE_MS } from '../wire/attach-protocol';
import { RemoteAgent } from '../inspector/remote-agent';
import type { ScriptListing } from '../agent/agent';
export { DEFAULT_MAX_EDIT_PAUSE_MS };

const POLL_MS = 250;
/** Closes the target's inspector once lineprof's connection is gone (node's close waits for it). */
const CLOSE_INSPECTOR = "(r => setTimeout(() => r('node:inspector').close(), 50).unref())(require)";
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

/** An attached profile: its one outcome, and the controls the signal policy uses (core/signal-policy.ts). */
export interface AttachHandle extends SessionControls {
  done: Promise<AttachOutcome>;
}

export async function attachProfile(options: AttachOptions): Promise<AttachOutcome> {
  return startAttach(options).done;
}

/** Every option checked before anything connects (UsageError). */
export function checkAttachOptions(options: AttachOptions): void {
  checkProfileOptions(options);
  checkSeconds('--duration', options.durationMs === undefined ? undefined : options.durationMs / 1000);
  checkWholeNumber('--calls', options.calls, 1);
  checkWholeNumber('--max-edit-pause', options.maxEditPauseMs, 0, MAX_TIMER_SECONDS * 1000);
}

/**
 * Checks the request, then attaches. `stop` (the first Ctrl-C) detaches with the final report; `end` (the second)
 * detaches at once with the figures of the last progress report, leaving the target to put itself back (its lease).
 */
export function startAttach(options: AttachOptions): AttachHandle {
  checkAttachOptions(options);
  const config: AgentConfig = {
    selection: remoteSelection(options),
    includeNodeModules: options.includeNodeModules ?? false,
    gcEvery: options.gcEvery ?? DEFAULT_GC_EVERY,
    calibrationSamples: options.calibrationSamples ?? 5,
    engine: options.engine ?? 'auto',
    ...(options.maxEditPauseMs !== undefined ? { maxEditPauseMs: options.maxEditPauseMs } : {}),
  };
  const outcome = new Outcome<AttachEnd>();
  const endNow = new Outcome<void>();
  const stop = (): void => void outcome.settle('interrupted');
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const done = attachSession(options, config, outcome, endNow);
  done.catch(() => undefined).finally(() => options.signal?.removeEventListener('abort', stop));
  const end = (): void => {
    stop();
    endNow.settle();
  };
  return { done, stop, end, kill: end };
}

/** A second Ctrl-C while lineprof waits for the target: lineprof leaves now. */
class EndedByUser extends TargetError {
  constructor() {
    super('left before profiling began (interrupted twice); the target puts itself back', 'interrupted', 130);
  }
}

/** The first Ctrl-C came while lineprof was still attaching: it leaves before the agent starts. */
class InterruptedBeforeStart extends TargetError {
  constructor() {
    super('interrupted before profiling began: nothing was profiled, the target is as it was', 'interrupted', 130);
  }
}

async function attachSession(
  options: AttachOptions,
  config: AgentConfig,
  outcome: Outcome<AttachEnd>,
  endNow: Outcome<void>,
): Promise<AttachOutcome> {
  // Whatever lineprof waits for, the user's second Ctrl-C ends the wait.
  const unlessEnded = <T>(pending: Promise<T>): Promise<T> =>
    Promise.race([pending, endNow.promise.then(() => Promise.reject(new EndedByUser()))]);
  const endpoint = await unlessEnded(resolveEndpoint(options));
  const connecting = InspectorSession.connect(endpoint.url);
  // A connection that comes after the user left is closed at once (it would keep lineprof alive).
  const session = await unlessEnded(connecting).catch((err: unknown) => {
    if (err instanceof EndedByUser) void connecting.then((late) => late.close(), () => undefined);
    throw err;
  });
  let startedAt = new Date();
  let targetGone = false;
  let exiting = false;
  session.onDisconnect(() => {
    targetGone = true;
    outcome.settle('target-exit');
  });
  let agent: RemoteAgent | undefined;
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> => unlessEnded(agent!.call<T>(fn, ...args));

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
  // False once the target has not answered in time, or the user ended the session: nothing more is asked of it on
  // the way out (the agent's lease puts the target back).
  let answering = true;
  const timers: NodeJS.Timeout[] = [];
  try {
    // The first request: a target that does not answer it soon is given up (FIRST_ANSWER_MS).
    await unlessEnded(
      session.addBinding(PROGRESS_BINDING, (payload) => {
        try {
          const message = JSON.parse(payload) as ProgressMessage;
          calls = message.calls;
          hits = message.hits;
          heapUsed = message.heapUsed;
          if (message.report) lastReport = fresh = message.report;
          if (message.exiting) {
            targetGone = exiting = true;
            outcome.settle('target-exit');
          }
        } catch {
          // not ours
        }
      }, FIRST_ANSWER_MS),
    );
    // A stop asked for while attaching: nothing started yet, so nothing to report; leave (cleaning up below).
    if (outcome.settled) throw new InterruptedBeforeStart();
    try {
      agent = await unlessEnded(RemoteAgent.load(session));
      debug('agent loaded in %s', endpoint.label);
      if (outcome.settled) throw new InterruptedBeforeStart();
      const lease: LeaseTerms = { closeInspector: endpoint.openedByUs === true };
      const start = (): Promise<{ leaseless?: boolean }> => call('start', config, progress, lease);
      // A lineprof that was leaving (its lease running out) can take its module out between load and start.
      const started = await start().catch(async (err: unknown) => {
        if (!(err instanceof TargetError && err.code === 'agent-gone')) throw err;
        agent = await unlessEnded(RemoteAgent.load(session));
        return start();
      });
      attached = true;
      debug('agent started in %s', endpoint.label);
      // The profile's time (and --duration) runs from the agent's start, not from the connection.
      startedAt = new Date();
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
    // An edit that waits for the task the start interrupted to end: asked again until it is made, or breakpoints
    // are set (the agent decides; a task that runs on for 100 ms is taken for one that never returns).
    while (lastReport.stats.editsAwaitingTask) {
      await unlessEnded(new Promise((r) => setTimeout(r, 25)));
      lastReport = await call<AgentReport>('snapshot');
    }
    debug('first snapshot: %d functions', lastReport.functions.length);
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

    // The end conditions, each settling the outcome; progress goes to the caller meanwhile (nothing is asked of the
    // target: the agent sends it).
    if (options.durationMs !== undefined) {
      timers.push(setTimeout(() => outcome.settle('duration'), Math.max(0, startedAt.getTime() + options.durationMs - Date.now())));
    }
    timers.push(
      setInterval(() => {
        const report = fresh;
        fresh = undefined;
        options.onProgress?.({
          calls,
          hits,
          heapUsed,
          elapsedMs: Date.now() - startedAt.getTime(),
          result: report ? toResult(report, endpoint.label, startedAt, 'until-stopped') : undefined,
        });
        if (options.calls !== undefined && calls >= options.calls) outcome.settle('calls');
      }, POLL_MS),
    );
    const ended = await outcome.promise;
    debug('session ends: %s', ended);
    for (const timer of timers) clearTimeout(timer);
    let report: AgentReport;
    const warnings: string[] = [];
    if (ended === 'target-exit' || targetGone) {
      report = lastReport!;
    } else {
      try {
        report = await call<AgentReport>('finish');
        attached = false;
      } catch (err) {
        if (!(err instanceof EndedByUser)) throw err;
        answering = false;
        report = lastReport!;
        warnings.push('detached at once (interrupted twice): the figures are those of the last progress report; the target puts its scripts back by itself');
      }
    }
    const mapped = separateUnmappedLines(report);
    if (leaseWarning) mapped.warnings.push(leaseWarning);
    // A connection that closed without the target's last message: it exited, or only the connection went (a
    // network, a tunnel, a proxy). The agent in a target still running puts its scripts back by itself (lease.ts).
    const lost = targetGone && !exiting && (await endpointAnswers(endpoint));
    const end: AttachEnd = lost ? 'connection-lost' : targetGone ? 'target-exit' : ended;
    if (lost) warnings.push('the connection to the target was lost: the figures are those of its last report (the target puts its scripts back by itself)');
    mapped.warnings.push(...warnings);
    return { result: toResult(mapped, endpoint.label, startedAt, end), ended: end };
  } catch (err) {
    if (err instanceof TargetError && (err.code === 'no-answer' || err instanceof EndedByUser)) answering = false;
    throw err;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    if (agent && !targetGone && answering) {
      // lineprof is leaving on an error: take everything out of the target before closing (abort also takes the
      // agent's module out when nothing was attached).
      if (attached) await call('abort').catch(() => undefined);
      else await call('unload').catch(() => undefined);
    }
    if (!targetGone && answering) {
      await unlessEnded(session.removeBinding(PROGRESS_BINDING)).catch(() => undefined);
      // An inspector lineprof opened (--pid) is closed again once this connection is gone (close waits for it).
      if (endpoint.openedByUs) await unlessEnded(session.evaluate(CLOSE_INSPECTOR)).catch(() => undefined);
    } else if (!targetGone && !attached && endpoint.openedByUs) {
      // Leaving at once (interrupted twice) before the agent took its lease: nothing else would close it.
      void session.evaluate(CLOSE_INSPECTOR).catch(() => undefined);
    }
    await session.close();
  }
}

function toResult(report: AgentReport, label: string, startedAt: Date, ended: AttachEnd): ProfileResult {
  return profileResultOf(report, {
    command: 'attach',
    script: label,
    argv: [],
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    node: process.version,
    tool: { name: 'lineprof', version: VERSION },
    exit: { code: null, signal: null },
    warnings: ended === 'target-exit' ? ['the target exited: figures up to its last report'] : [],
  });
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
    // An inspector --pid opened for the listing is closed again, as after a profile.
    if (endpoint.openedByUs) await session.evaluate(CLOSE_INSPECTOR).catch(() => undefined);
    await session.close();
  }
}
