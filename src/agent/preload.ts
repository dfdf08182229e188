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
import { isMainThread, Worker } from 'node:worker_threads';
import type { AgentMessage, AgentReport, PreloadConfig } from '../wire/agent-report';
import { Agent } from './agent';
import { leaveEsmRegistration } from './probes/esm-registration';
import { ProbeAgent } from './probes/probe-agent';
import type { SamplerWorkerData } from './sampler-worker';
import type { LifelineWorkerData } from './lifeline-worker';
import { STOP_KEY } from '../wire/run-protocol';
import type { StopAnswer, StopSignal } from '../wire/run-protocol';

const ENV_KEY = 'LINEPROF_AGENT';

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
 * before the script starts, so that a controller killed at any moment ends the program. Unref'd: it must not keep the
 * program alive.
 */
function startLifeline(fd: number): void {
  const flags = new SharedArrayBuffer(4);
  const workerData: LifelineWorkerData = { fd, flags };
  const worker = new Worker(path.join(__dirname, 'lifeline-worker.js'), { workerData, stdout: false, stderr: false, execArgv: [], env: {} });
  worker.unref();
  worker.on('error', () => undefined);
  Atomics.wait(new Int32Array(flags), 0, 0, WORKER_START_TIMEOUT_MS);
}

/**
 * `lineprof usage`: the sampler worker writes its samples straight to the channel. Unref'd: it must not keep the
 * program alive, and it ends with it.
 */
const SAMPLER_START_TIMEOUT_MS = 2000;
const SAMPLER_STOP_TIMEOUT_MS = 1000;

/** Returns how to stop it: synchronously, with its inspector session closed. */
function startSampler(intervalMs: number, fd: number): () => void {
  const ready = new SharedArrayBuffer(4);
  const stopped = new SharedArrayBuffer(4);
  const workerData: SamplerWorkerData = { intervalMs, fd, ready, stopped };
  const worker = new Worker(path.join(__dirname, 'sampler-worker.js'), { workerData, stdout: false, stderr: false, execArgv: [], env: {} });
  worker.unref();
  worker.on('error', () => undefined);
  // The script starts once the sampler is connected (~30 ms), so that its first moments are sampled too.
  Atomics.wait(new Int32Array(ready), 0, 0, SAMPLER_START_TIMEOUT_MS);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    // A process ending by a signal waits for every inspector session to disconnect (node's at-exit), and the
    // worker's would never go by itself: the program would hang there.
    worker.postMessage('disconnect');
    Atomics.wait(new Int32Array(stopped), 0, 0, SAMPLER_STOP_TIMEOUT_MS);
  };
}

/** How old the latest report may be when the program dies without its exit handlers. */
const SNAPSHOT_EVERY_MS = 1000;


function main(): void {
  // Node 20 runs --require preloads on its module loader thread too: the agent belongs to the program's thread.
  if (!isMainThread) return;
  const raw = process.env[ENV_KEY];
  if (!raw) return;
  // Child processes of the program inherit the environment: they must not start an agent of their own.
  delete process.env[ENV_KEY];
  const config = JSON.parse(raw) as PreloadConfig;
  let agent: ProbeAgent | Agent | undefined;
  let stopSampler = (): void => undefined;
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
  // After the stop function is in place: a stop byte may already be waiting on the lifeline.
  startLifeline(config.lifelineFd);

  // Both engines work in-process, before the script runs: no TCP inspector is opened (anyone on the machine could
  // reach one), and nothing waits for a debugger.
  const probes = config.engine === 'probes' && config.mode !== 'spans';
  const started = probes ? new ProbeAgent(config) : new Agent(config);
  started.start();
  if (started instanceof ProbeAgent) leaveEsmRegistration(() => started.registerEsmHook());
  agent = started;
  send(config.channelFd, { type: 'ready', pid: process.pid });
  // Probes: a recent report where a fatal end (out of memory, abort, SIGKILL) cannot destroy it. Taken between the
  // program's tasks; the probe engine's snapshot belongs to no line.
  if (probes) setInterval(() => saveOwnReport(false), SNAPSHOT_EVERY_MS).unref();
  if (config.samplerIntervalMs) stopSampler = startSampler(config.samplerIntervalMs, config.channelFd);
}

main();
