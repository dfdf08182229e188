/**
 * Worker threads: lineprof's agent goes into every `worker_threads` Worker the program starts, each thread with its
 * own agent (its own isolate, heap and module loading) and its own report file beside the main thread's.
 *
 * Workers run the `--require` preloads of their execArgv (the parent's by default), so the preload runs in each; it
 * finds its configuration in the worker's environment data (`worker_threads.setEnvironmentData`, copied into a
 * Worker when it is made), set only while a Worker is constructed through the wrapper below: the program's `env`
 * options (`SHARE_ENV`, an object of its own) do not matter, and threads node starts for itself (the ES module
 * loader thread of Node 20) get none. An `execArgv` of the program's own gets the preload added.
 *
 * A worker saves its final report when it ends. One still running when the program ends (or terminated) is asked
 * to save it first, on a BroadcastChannel its event loop answers while the asking thread waits (for at most
 * SAVE_WAIT_MS); a worker busy in synchronous code cannot answer: its last periodic report stands.
 */
import Module from 'node:module';
import * as workerThreads from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

const HANDOFF_KEY = 'lineprof.agent';
const SAVE_CHANNEL = 'lineprof.save-reports';
/** How long a thread ending (or terminating a worker) waits for its workers to save their reports. */
export const SAVE_WAIT_MS = 1000;

/** What a Worker made through the wrapper finds in its environment data. */
export interface WorkerHandoff {
  /** The preload configuration, as JSON. */
  config: string;
  /** [0] set to 1 (and notified) once the worker has saved its report when asked. */
  saved: SharedArrayBuffer;
}

type WorkerClass = typeof workerThreads.Worker;

/**
 * Makes `worker_threads.Worker` (CommonJS and ES module bindings alike) carry the agent into each worker. Returns how
 * to have every worker still running save its report, synchronously.
 */
export function carryAgentIntoWorkers(config: string, preload: string): { saveAll(): void } {
  const binding = require('node:worker_threads') as { Worker: WorkerClass };
  const Original = binding.Worker;
  const live = new Map<number, Int32Array>();
  // Made with the program's first Worker: a program without workers gets nothing of this.
  let open: workerThreads.BroadcastChannel | undefined;
  const channel = (): workerThreads.BroadcastChannel => {
    if (!open) {
      open = new workerThreads.BroadcastChannel(SAVE_CHANNEL);
      (open as unknown as { unref(): void }).unref();
    }
    return open;
  };
  class Worker extends Original {
    constructor(filename: string | URL, options: WorkerOptions = {}) {
      const saved = new SharedArrayBuffer(4);
      const execArgv = options.execArgv && !hasPreload(options.execArgv, preload) ? [...options.execArgv, '--require', preload] : options.execArgv;
      const handoff: WorkerHandoff = { config, saved };
      workerThreads.setEnvironmentData(HANDOFF_KEY, handoff as unknown as workerThreads.Serializable);
      try {
        super(filename, execArgv === options.execArgv ? options : { ...options, execArgv });
      } finally {
        workerThreads.setEnvironmentData(HANDOFF_KEY, undefined);
      }
      const id = this.threadId;
      live.set(id, new Int32Array(saved));
      this.once('exit', () => live.delete(id));
    }

    override terminate(): Promise<number> {
      const flag = live.get(this.threadId);
      if (!flag) return super.terminate();
      channel().postMessage(this.threadId);
      const waited = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { value: unknown } }).waitAsync(flag, 0, 0, SAVE_WAIT_MS);
      return Promise.resolve(waited.value).then(() => super.terminate());
    }
  }
  Object.defineProperty(Worker, 'name', { value: 'Worker' });
  binding.Worker = Worker;
  Module.syncBuiltinESMExports();
  return {
    saveAll: () => {
      if (live.size === 0) return;
      channel().postMessage('all');
      const deadline = Date.now() + SAVE_WAIT_MS;
      for (const flag of live.values()) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        Atomics.wait(flag, 0, 0, left);
      }
    },
  };
}

function hasPreload(execArgv: string[], preload: string): boolean {
  return execArgv.some((arg, i) => arg === `--require=${preload}` || (arg === '--require' || arg === '-r') && execArgv[i + 1] === preload);
}

/** In a worker: the handoff its parent left, taken away so that threads this one starts get their own or none. */
export function takeHandoff(): WorkerHandoff | undefined {
  const handoff = workerThreads.getEnvironmentData(HANDOFF_KEY) as WorkerHandoff | undefined;
  if (handoff) workerThreads.setEnvironmentData(HANDOFF_KEY, undefined);
  return handoff;
}

/** In a worker: saves its report when a parent asks (its program ending, or terminating it). */
export function answerSaveRequests(handoff: WorkerHandoff, save: () => void): void {
  const channel = new workerThreads.BroadcastChannel(SAVE_CHANNEL);
  (channel as unknown as { unref(): void }).unref();
  channel.onmessage = (event: unknown) => {
    const data = (event as { data: unknown }).data;
    if (data !== 'all' && data !== workerThreads.threadId) return;
    save();
    const flag = new Int32Array(handoff.saved);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
}
