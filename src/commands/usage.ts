/**
 * `lineprof usage`: memory of a process over time, sampled every interval until it ends, the timeout, or stop().
 *
 * - A script lineprof starts: a sampler worker inside it reads the JS heap and external memory through the main
 *   thread's inspector (samples keep coming while the main thread is busy), with the process's RSS; the marked
 *   functions' calls are recorded as spans (entry and exit only).
 * - A running Node process with an inspector (`host:port`): one evaluation of process.memoryUsage() per sample
 *   over the websocket (a request and its answer, ~0.5 ms; the ~40 ms stall of a pause driven over the websocket,
 *   Nagle and delayed ACK holding its small segments, is the pause loop's). The RSS is the target's own figure,
 *   right in a container too. Spans as for a script: lineprof's agent goes in as with `lineprof attach`, in spans
 *   mode, and comes out with them at the end.
 * - Any process (`--pid`): its RSS from the operating system, no inspector opened.
 */
import { TargetError, UsageError } from '../errors';
import { InspectorSession } from '../inspector/session';
import { VERSION } from '../version';
import type { HeapSample } from '../wire/agent-report';
import type { AgentReport } from '../wire/agent-report';
import type { SelectionSpec } from '../selection/selectors';
import { resolveEndpoint } from '../target/endpoint';
import { RemoteAgent } from '../inspector/remote-agent';
import type { AgentConfig } from '../wire/agent-report';
import { checkLaunch, LaunchSession } from '../core/launch-session';
import type { TargetExit } from '../core/exit-status';
import { checkSeconds, DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, remoteSelection } from '../core/options';
import type { SessionControls } from '../core/signal-policy';
import { commandOf, descendantsOf, processExists, rssOf } from '../usage/proc';
import { peakOf, USAGE_SCHEMA_VERSION, usageSampleOf } from '../usage/model';
import type { UsageResult, UsageSample, UsageSpan } from '../usage/model';

export { DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS };

export interface UsageOptions {
  /** Launch this script… */
  script?: string;
  args?: string[];
  nodeArgs?: string[];
  /** …or sample this running process (RSS only)… */
  pid?: number;
  /** …or this Node process's inspector (host:port or ws://), for the heap too. */
  address?: string;
  allowRemote?: boolean;
  intervalSeconds?: number;
  /** Stop sampling after this long (a launched script is then ended with SIGTERM). */
  timeoutSeconds?: number;
  /** Add the RSS of the process's descendants. */
  includeChildren?: boolean;
  /** Launch mode: which functions' calls become spans (the run command's marking forms). */
  markers?: boolean;
  functions?: string[];
  lines?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Each sample as it is taken (a live chart). */
  onSample?: (sample: UsageSample) => void;
}

/**
 * Sampling under way: its one outcome, and the controls of the signal policy (core/signal-policy.ts). A launched
 * script is stopped as by the signal (`stop`), ended (`end`) or killed; a process sampled from outside is left
 * running: each control stops the sampling only.
 */
export interface UsageHandle extends SessionControls {
  done: Promise<UsageResult>;
}

export function sampleUsage(options: UsageOptions): UsageHandle {
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  checkSeconds('--interval', interval, MIN_INTERVAL_SECONDS);
  checkSeconds('--timeout', options.timeoutSeconds);
  const given = [options.script !== undefined, options.pid !== undefined, options.address !== undefined].filter(Boolean);
  if (given.length !== 1) throw new UsageError('lineprof usage needs one of: a script, --pid PID, or host:port');
  if (options.script !== undefined) return launchAndSample(options, interval);
  return sampleRunning(options, interval);
}

/** Seconds since `origin` (epoch ms). */
const since = (origin: number, t: number): number => Math.max(0, (t - origin) / 1000);
const now = (): number => performance.timeOrigin + performance.now();

function childrenRss(pid: number): number {
  return descendantsOf(pid).reduce((sum, child) => sum + (rssOf(child) ?? 0), 0);
}

function launchAndSample(options: UsageOptions, interval: number): UsageHandle {
  const checked = checkLaunch({ ...options, script: options.script! }, false);
  const samples: UsageSample[] = [];
  const origin = now();
  let childPid: number | undefined;
  let scriptStart: { t: number; firstLine: boolean } | undefined;
  const session = new LaunchSession(
    checked,
    { selection: checked.selection, includeNodeModules: false, gcEvery: 0, calibrationSamples: 0, mode: 'spans' },
    {
      defaultNodeFlags: false,
      stdout: options.stdout,
      stderr: options.stderr,
      sampler: {
        intervalMs: interval * 1000,
        onSample: (heap: HeapSample) => {
          const sample: UsageSample = {
            ...usageSampleOf(heap, origin),
            ...(options.includeChildren && childPid !== undefined ? { childrenRss: childrenRss(childPid) } : {}),
          };
          samples.push(sample);
          options.onSample?.(sample);
        },
        onScriptStart: (t, firstLine) => {
          if (!scriptStart?.firstLine) scriptStart = { t, firstLine };
        },
      },
    },
  );
  childPid = session.pid;
  const warnings: string[] = [];
  const done = (async (): Promise<UsageResult> => {
    // The origin of every time in the result, so that a reader can put the script's own clock beside them.
    const startedAt = new Date(origin);
    await session.ready;
    const timer =
      options.timeoutSeconds !== undefined
        ? setTimeout(() => {
            warnings.push(`sampling stopped after the ${options.timeoutSeconds} s timeout; the script was ended (SIGTERM)`);
            // Through the lifeline too: a script busy in synchronous code ends as well.
            session.stop('SIGTERM', 'timeout');
          }, options.timeoutSeconds * 1000)
        : undefined;
    const { exit, report, endedBy } = await session.ended;
    if (timer) clearTimeout(timer);
    if (!report) warnings.push('the script ended without its report (killed?): no spans');
    samples.sort((a, b) => a.t - b.t);
    return {
      schemaVersion: USAGE_SCHEMA_VERSION,
      tool: { name: 'lineprof', version: VERSION },
      command: 'usage',
      target: { script: checked.script, argv: checked.args },
      intervalSeconds: interval,
      startedAt: startedAt.toISOString(),
      durationSeconds: since(origin, now()),
      exit: exitOf(exit),
      endedBy: endedBy === 'signal' ? 'stop' : endedBy,
      samples,
      ...(scriptStart ? { scriptStart: since(origin, scriptStart.t) } : {}),
      spans: report ? spansOf(report, origin) : [],
      peak: peakOf(samples),
      warnings: [...warnings, ...(report?.warnings ?? []), ...spanWarnings(report)],
    };
  })();
  return {
    done,
    stop: (signal) => session.stop(signal),
    end: () => session.end(),
    kill: () => session.kill(),
  };
}

function exitOf(exit: TargetExit): { code: number | null; signal: string | null } {
  return { code: exit.code, signal: exit.signal };
}

function spansOf(report: AgentReport, origin: number): UsageSpan[] {
  return (report.spans ?? []).map((span) => {
    const fn = report.functions[span.fn]!;
    return {
      name: fn.name,
      file: fn.file,
      line: fn.startLine,
      start: since(origin, span.start),
      end: span.end === undefined ? null : since(origin, span.end),
      heapStart: span.heapStart,
      heapEnd: span.heapEnd ?? null,
      ...(fn.thread !== undefined ? { thread: fn.thread } : {}),
    };
  });
}

function spanWarnings(report: AgentReport | undefined): string[] {
  const dropped = report?.spansDropped ?? 0;
  return dropped > 0 ? [`${dropped} more calls were not kept as spans (the first ${report!.spans!.length} were)`] : [];
}


/** One evaluation gives everything: a round trip over the websocket is slow (~0.5 ms a request). */
const MEMORY_EXPRESSION = 'JSON.stringify({ pid: process.pid, ...process.memoryUsage() })';

function sampleRunning(options: UsageOptions, interval: number): UsageHandle {
  let stopRequested = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopRequested = true;
    wake?.();
  };
  const done = (async (): Promise<UsageResult> => {
    const warnings: string[] = [];
    let pid = options.pid;
    let session: InspectorSession | undefined;
    // Checked before anything connects: a bad --line is one line, whatever the target.
    const selection = options.address !== undefined ? remoteSelection(options) : undefined;
    if (options.address !== undefined) {
      if (options.includeChildren) warnings.push('--include-children needs --pid (children are found in /proc): ignored');
      const endpoint = await resolveEndpoint({ address: options.address, allowRemote: options.allowRemote });
      session = await InspectorSession.connect(endpoint.url);
    } else if (!processExists(pid!)) {
      throw new TargetError(`no process ${pid} (or not one this user may see)`, 'no-process');
    }
    const samples: UsageSample[] = [];
    let origin = now();
    const startedAt = new Date();
    let ended = false;
    let spansAgent = false;
    let report: AgentReport | undefined;
    let spansLost = false;
    try {
      if (session) {
        pid = (await readMemory(session)).pid;
        spansAgent = await startSpans(session, selection!, warnings);
        origin = now();
      }
      const deadline = options.timeoutSeconds !== undefined ? origin + options.timeoutSeconds * 1000 : Infinity;
      while (!stopRequested && now() < deadline) {
        const tick = now();
        let sample: UsageSample;
        if (session) {
          // The target's own figures, RSS included: its pid may belong to another PID namespace (a container) or
          // machine, where this /proc would show another process.
          let memory: ProcessMemory;
          try {
            memory = await readMemory(session);
          } catch (err) {
            // A process that ends loses its context (or its websocket): that is its end, not a failure.
            const message = (err as Error).message;
            if (!/context|closed|disconnect|WebSocket/i.test(message)) {
              warnings.push(`the inspector stopped answering at ${since(origin, now()).toFixed(3)} s (${message}): sampling ended`);
            }
            ended = true;
            spansLost = spansAgent;
            spansAgent = false;
            break;
          }
          sample = {
            t: since(origin, tick),
            rss: memory.rss,
            heapUsed: memory.heapUsed,
            heapTotal: memory.heapTotal,
            external: memory.external,
          };
        } else {
          const rss = rssOf(pid!);
          if (rss === undefined) {
            ended = true;
            break;
          }
          sample = { t: since(origin, tick), rss, ...(options.includeChildren ? { childrenRss: childrenRss(pid!) } : {}) };
        }
        samples.push(sample);
        options.onSample?.(sample);
        const wait = Math.max(0, tick + interval * 1000 - now());
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, wait);
        });
      }
    } finally {
      if (session && spansAgent) report = await finishSpans(session, warnings);
      await session?.close().catch(() => undefined);
    }
    if (spansLost) warnings.push('the process ended while sampled: its spans went with it');
    const endedBy: UsageResult['endedBy'] = stopRequested ? 'stop' : ended ? 'exit' : 'timeout';
    if (endedBy === 'timeout') warnings.push(`sampling stopped after the ${options.timeoutSeconds} s timeout; the process runs on`);
    if (options.address === undefined) {
      warnings.push('RSS only: for the JS heap too, start the program with node --inspect and give its host:port');
    }
    return {
      schemaVersion: USAGE_SCHEMA_VERSION,
      tool: { name: 'lineprof', version: VERSION },
      command: 'usage',
      target: { pid: pid!, command: options.address === undefined ? commandOf(pid!) ?? null : null },
      intervalSeconds: interval,
      startedAt: startedAt.toISOString(),
      durationSeconds: since(origin, now()),
      exit: null,
      endedBy,
      samples,
      spans: report ? spansOf(report, origin) : [],
      peak: peakOf(samples),
      warnings,
    };
  })();
  return { done, stop, end: stop, kill: stop };
}

interface ProcessMemory {
  pid: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** Puts lineprof's agent in spans mode into the process (as `lineprof attach` does); false, with a warning, if not. */
async function startSpans(session: InspectorSession, selection: SelectionSpec, warnings: string[]): Promise<boolean> {
  const config: AgentConfig = { selection, includeNodeModules: false, gcEvery: 0, calibrationSamples: 0, mode: 'spans' };
  try {
    await (await RemoteAgent.load(session)).call('start', config);
    return true;
  } catch (err) {
    warnings.push(`no spans: lineprof's agent could not go into the process (${(err as Error).message})`);
    return false;
  }
}

/** The spans, and the agent taken out again (every breakpoint with it). */
async function finishSpans(session: InspectorSession, warnings: string[]): Promise<AgentReport | undefined> {
  try {
    return await (await RemoteAgent.load(session)).call<AgentReport>('finish');
  } catch (err) {
    warnings.push(`the spans could not be collected (${(err as Error).message})`);
    await RemoteAgent.load(session).then((agent) => agent.call('abort')).catch(() => undefined);
    return undefined;
  }
}

async function readMemory(session: InspectorSession): Promise<ProcessMemory> {
  const text = await session.evaluate(MEMORY_EXPRESSION);
  return JSON.parse(String(text)) as ProcessMemory;
}
