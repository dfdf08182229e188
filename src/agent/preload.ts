/**
 * Loaded with `node --require` by `lineprof run` and `usage`, before the user's script. It starts the lifeline worker
 * and the agent (probes or breakpoints, both in-process: no TCP inspector is opened), and tells the controller it is
 * ready through the channel descriptor.
 *
 * The final report is saved synchronously: at exit, and on SIGINT/SIGTERM/SIGHUP when the program
 * has no handler of its own (the signal is then raised again, so the program ends exactly as it would have). The
 * controller's stop requests come through the lifeline worker, which reaches this thread also while it is busy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as workerThreads from 'node:worker_threads';
import { isMainThread, threadId } from 'node:worker_threads';
import type { AgentMessage, AgentReport, PreloadConfig } from '../wire/agent-report';
import { Agent } from './agent';
import { leaveEsmRegistration } from './probes/esm-registration';
import { ProbeAgent } from './probes/probe-agent';
import { answerSaveRequests, carryAgentIntoWorkers, takeHandoff } from './threads';
import type { SamplerWorkerData } from './sampler-worker';
import type { LifelineWorkerData } from './lifeline-worker';
import { STOP_KEY } from '../wire/run-protocol';
import type { StopAnswer, StopSignal } from '../wire/run-protocol';

const ENV_KEY = 'LINEPROF_AGENT';
/** lineprof's own workers, taken before the program's Worker is wrapped (threads.ts): they carry no agent. */
const Worker = workerThreads.Worker;

/**
 * The report goes to a file of its own in a directory only the controller's user can enter, written whole and then
 * renamed into place: the script's own use of file descriptors (writing to or closing fd 3) cannot wipe or forge
 * it, and a fatal end of the program leaves the last one intact.
 */
function saveReport(file: string, report: AgentReport): void {
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(report));
    fs.renameSync(`${file}.tmp`, file);
  } catch {
    // The controller is gone (and its directory with it); nothing else can be done from here.
  }
}

function send(fd: number, message: AgentMessage): void {
  try {
    fs.writeSync(fd, JSON.stringify(message) + '\n');
  } catch {
    // The controller is gone; nothing else can be done from here.
  }
}

const WORKER_START_TIMEOUT_MS = 2000;

/**
 * The lifeline worker (lifeline-worker.ts) reads the controller's pipe on a thread of its own; it is connected
 * before the script starts (see `waitFor`), so that a controller killed at any moment ends the program. Unref'd: it
 * must not keep the program alive. Returns the flag it sets once connected.
 */
function startLifeline(fd: number): SharedArrayBuffer {
  const flags = new SharedArrayBuffer(4);
  const workerData: LifelineWorkerData = { fd, flags };
  const worker = new Worker(path.join(__dirname, 'lifeline-worker.js'), { workerData, stdout: false, stderr: false, execArgv: [], env: {} });
  worker.unref();
  worker.on('error', () => undefined);
  return flags;
}

/** Waits (at most `timeoutMs`) for a worker to set its start flag. */
function waitFor(flag: SharedArrayBuffer, timeoutMs: number): void {
  Atomics.wait(new Int32Array(flag), 0, 0, timeoutMs);
}

const clock = (): number => performance.timeOrigin + performance.now();

/**
 * `lineprof usage`: the sampler worker writes its samples straight to the channel. Unref'd: it must not keep the
 * program alive, and it ends with it.
 */
const SAMPLER_START_TIMEOUT_MS = 2000;
const SAMPLER_STOP_TIMEOUT_MS = 1000;

interface Sampler {
  /** The flag the worker sets once connected to this thread's inspector. */
  ready: SharedArrayBuffer;
  /** A sample taken here, now, and the worker's samples every interval from now on. */
  sampleFrom(t: number): void;
  /** A last sample taken here, and the worker stopped, synchronously, with its inspector session closed. */
  stop(): void;
}

function startSampler(intervalMs: number, fd: number): Sampler {
  const ready = new SharedArrayBuffer(4);
  const stopped = new SharedArrayBuffer(4);
  const workerData: SamplerWorkerData = { intervalMs, fd, ready, stopped, parentSamplesFirst: true };
  const worker = new Worker(path.join(__dirname, 'sampler-worker.js'), { workerData, stdout: false, stderr: false, execArgv: [], env: {} });
  worker.unref();
  worker.on('error', () => undefined);
  // Taken on this thread: the worker's samples come through the inspector at an interrupt, which this one does not
  // wait for, so the script's first moment and its last are in the samples even when it runs for a millisecond.
  const sampleHere = (t: number): void => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    send(fd, { type: 'sample', sample: { t, rss, heapUsed, heapTotal, external } });
  };
  let done = false;
  return {
    ready,
    sampleFrom: (t) => {
      sampleHere(t);
      worker.postMessage({ origin: t });
    },
    stop: () => {
      if (done) return;
      done = true;
      sampleHere(clock());
      // A process ending by a signal waits for every inspector session to disconnect (node's at-exit), and the
      // worker's would never go by itself: the program would hang there.
      worker.postMessage('disconnect');
      Atomics.wait(new Int32Array(stopped), 0, 0, SAMPLER_STOP_TIMEOUT_MS);
    },
  };
}

/**
 * Calls `onStart` when the program's main CommonJS module is about to run (its first line), then steps aside. An ES
 * module main is not seen here: its start is taken to be the preload's end.
 */
function onMainModuleStart(onStart: () => void): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Module = require('node:module') as { prototype: { _compile(this: { id: string }, ...args: unknown[]): unknown } };
  const original = Module.prototype._compile;
  // Loaded through node's ES module translators (an --import: a TypeScript loader) the main module's id is its path.
  const mainPath = process.argv[1] ? path.resolve(process.argv[1]) : undefined;
  let seen = false;
  const hook = function (this: { id: string }, ...args: unknown[]): unknown {
    if (!seen && (this.id === '.' || (mainPath !== undefined && args[1] === mainPath))) {
      seen = true;
      // Put back, unless a loader wrapped it since (its wrapper calls this one, which then only passes through).
      if (Module.prototype._compile === hook) Module.prototype._compile = original;
      onStart();
    }
    return original.apply(this, args);
  };
  Module.prototype._compile = hook;
}

/** How old the latest report may be when the program dies without its exit handlers. */
const SNAPSHOT_EVERY_MS = 1000;


/** Both engines work in-process, before the script runs: no TCP inspector is opened, and nothing waits for a debugger. */
function startAgent(config: PreloadConfig): ProbeAgent | Agent {
  const agent = usesProbes(config) ? new ProbeAgent(config) : new Agent(config);
  agent.start();
  return agent;
}

const usesProbes = (config: PreloadConfig): boolean => config.engine === 'probes' && config.mode !== 'spans';

function mainThread(): void {
  const raw = process.env[ENV_KEY];
  if (!raw) return;
  // Child processes of the program inherit the environment: they must not start an agent of their own.
  delete process.env[ENV_KEY];
  const config = JSON.parse(raw) as PreloadConfig;
  let agent: ProbeAgent | Agent | undefined;
  let stopSampler = (): void => undefined;
  const workers = carryAgentIntoWorkers(raw, __filename);
  // A stop can come twice at once (the signal itself, and the lifeline at an interrupt during the first's report):
  // the first one to start finishing ends the program, later ones return.
  let finishing = false;
  // lineprof's own report in progress: a stop at an interrupt then would read half-made figures.
  let reporting = false;
  const saveOwnReport = (final: boolean): void => {
    if (!agent) return;
    reporting = true;
    try {
      saveReport(config.reportFile, agent.report(final));
    } finally {
      reporting = false;
    }
  };
  const finish = (): void => {
    if (finishing) return;
    finishing = true;
    saveOwnReport(true);
    workers.saveAll();
    stopSampler();
  };
  const signalHandlers = new Map<StopSignal, () => void>();
  /** Ends the program as the signal would once the report is saved, unless the program handles the signal itself. */
  const stopBy = (signal: StopSignal): StopAnswer => {
    // The program handles this signal itself; if it exits, the exit handler saves the report.
    if (process.listenerCount(signal) > 1) return 'handled';
    if (finishing) return 'done';
    finish();
    process.removeListener(signal, signalHandlers.get(signal)!);
    process.kill(process.pid, signal);
    return 'done';
  };
  // What the lifeline worker runs on this thread (at an interrupt, so also while the program is busy).
  Object.defineProperty(globalThis, Symbol.for(STOP_KEY), {
    value: (what: StopSignal | 'end'): StopAnswer => {
      // The engine in its own code (a flush, a hit), or a report being made.
      if (agent?.busy() || reporting) return 'busy';
      if (what !== 'end') return stopBy(what);
      finish();
      process.kill(process.pid, 'SIGKILL');
      return 'done';
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => void stopBy(signal);
    signalHandlers.set(signal, onSignal);
    process.on(signal, onSignal);
  }
  process.on('exit', finish);
  // After the stop function is in place: a stop byte may already be waiting on the lifeline. The workers boot on
  // their own threads (~25 ms each) while the agent starts here.
  const lifeline = startLifeline(config.lifelineFd);
  const sampler = config.samplerIntervalMs ? startSampler(config.samplerIntervalMs, config.channelFd) : undefined;

  const probes = usesProbes(config);
  const started = startAgent(config);
  if (started instanceof ProbeAgent) leaveEsmRegistration(() => started.registerEsmHook());
  agent = started;
  waitFor(lifeline, WORKER_START_TIMEOUT_MS);
  // Probes: a recent report where a fatal end (out of memory, abort, SIGKILL) cannot destroy it. Taken between the
  // program's tasks; the probe engine's snapshot belongs to no line.
  if (probes) setInterval(() => saveOwnReport(false), SNAPSHOT_EVERY_MS).unref();
  if (sampler) {
    // The sampler is connected before the script runs, so that its samples keep coming while the script is busy.
    waitFor(sampler.ready, SAMPLER_START_TIMEOUT_MS);
    stopSampler = sampler.stop;
    onMainModuleStart(() => {
      const t = clock();
      send(config.channelFd, { type: 'script-start', t });
      sampler.sampleFrom(t);
    });
  }
  const handedOver = clock();
  send(config.channelFd, { type: 'ready', pid: process.pid, t: handedOver });
  sampler?.sampleFrom(handedOver);
}

/**
 * A worker thread of the program (see threads.ts): its own agent and report file; no lifeline, signals or sampler,
 * which are the process's. Its report is saved when it ends, when its parent asks, and (probes, spans) every second.
 */
function workerThread(): void {
  const handoff = takeHandoff();
  if (!handoff) return;
  const config = JSON.parse(handoff.config) as PreloadConfig;
  const reportFile = path.join(path.dirname(config.reportFile), `report-${threadId}.json`);
  const warnings: string[] = [];
  const agent = startAgent(config);
  if (agent instanceof ProbeAgent) {
    // No --import runs in a worker (nor the user's loaders): the ES module hook is registered from here.
    try {
      agent.registerEsmHook();
    } catch (err) {
      warnings.push(`ES modules loaded in worker thread ${threadId} are not profiled: ${(err as Error).message}`);
    }
  }
  const workers = carryAgentIntoWorkers(handoff.config, __filename);
  const save = (final: boolean): void => {
    const report = agent.report(final);
    saveReport(reportFile, warnings.length > 0 ? { ...report, warnings: [...report.warnings, ...warnings] } : report);
  };
  const finish = (): void => {
    save(true);
    workers.saveAll();
  };
  process.on('exit', finish);
  answerSaveRequests(handoff, finish);
  // Between the thread's tasks, where no line of the breakpoint engine's can be open.
  if (usesProbes(config) || config.mode === 'spans') setInterval(() => save(false), SNAPSHOT_EVERY_MS).unref();
  send(config.channelFd, { type: 'thread', threadId });
}

function main(): void {
  if (isMainThread) mainThread();
  else workerThread();
}

main();
