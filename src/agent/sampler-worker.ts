/**
 * The memory sampler: a worker thread inside the target that reads the main thread's JS heap through the main
 * thread's inspector (`Session.connectToMainThread`) every interval. On Node 20 and 22 the inspector answers between
 * any two of the main thread's JavaScript instructions, so samples keep coming while the program is busy in a long
 * synchronous function (a timer on the main thread would wait for it to return); on 24 and 26 it answers only
 * between tasks (measured: a request made during a 1 s loop is answered when the loop ends), and the samples of
 * such a stretch have the RSS only. Each sample costs the main thread ~0.5 ms and
 * ~0.5 KB of garbage (one small evaluation there gives the heap and the external figure).
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import type { HeapSample } from '../wire/agent-report';

export interface SamplerWorkerData {
  intervalMs: number;
  /** Write samples as JSON lines to this descriptor (run mode); else post them to the parent thread. */
  fd?: number;
  /** Set to 1 (and notified) once the worker is connected, for a parent that waits before the program starts. */
  ready?: SharedArrayBuffer;
  /** Set to 1 (and notified) once the worker has disconnected its session after a 'disconnect' message. */
  stopped?: SharedArrayBuffer;
  /**
   * The parent takes the first sample itself and then posts `{ origin }` (epoch ms): samples are taken at origin +
   * k × interval from then on, so that they keep step with the script's start rather than with the worker's.
   */
  parentSamplesFirst?: boolean;
}


/** One request per sample: the heap and the external figure come from the same call on the main thread. */
const MAIN_THREAD_MEMORY = '((m) => [m.heapUsed, m.heapTotal, m.external])(process.memoryUsage())';

function main(): void {
  const { intervalMs, fd, ready, stopped, parentSamplesFirst } = workerData as SamplerWorkerData;
  const session = new Session();
  session.connectToMainThread();
  if (ready) {
    const flag = new Int32Array(ready);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }
  const post = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
  const emit = (sample: HeapSample): void => {
    if (fd !== undefined) {
      try {
        // Under PIPE_BUF, so a line is written whole even beside the main thread's own messages.
        fs.writeSync(fd, JSON.stringify({ type: 'sample', sample }) + '\n');
      } catch {
        process.exit(0); // the controller is gone
      }
    } else {
      parentPort?.postMessage(sample);
    }
  };
  let busy = false;
  let disconnected = false;
  /** The last sample is asked for (memoryUsage's end): no tick after it. */
  let stopping = false;
  let current: Promise<void> = Promise.resolve();
  const tick = (): Promise<void> => {
    // One reading at a time: while the main thread has not answered the last one (a long GC; on Node 24 and 26 any
    // synchronous stretch, as their inspector answers another thread's session only between tasks), a tick gives
    // the RSS alone (the whole process's, readable from here) rather than queue a request.
    if (busy) {
      if (!disconnected && !stopping) emit({ t: performance.timeOrigin + performance.now(), rss: process.memoryUsage.rss() });
      return current;
    }
    busy = true;
    current = sample();
    return current;
  };
  const sample = async (): Promise<void> => {
    const t = performance.timeOrigin + performance.now();
    try {
      const { result } = await post<{ result: { value?: [number, number, number] } }>('Runtime.evaluate', {
        expression: MAIN_THREAD_MEMORY,
        returnByValue: true,
      });
      const [heapUsed, heapTotal, external] = result.value!;
      emit({ t, rss: process.memoryUsage.rss(), heapUsed, heapTotal, external });
    } catch {
      // The program ending took the session away mid-sample: nothing to say. Otherwise its RSS at least.
      if (!disconnected) emit({ t, rss: process.memoryUsage.rss() });
    } finally {
      busy = false;
    }
  };
  const clock = (): number => performance.timeOrigin + performance.now();
  let origin = clock();
  // A ref'd timer: an inspector session alone does not keep a worker's event loop alive. Re-armed at each tick for
  // the next origin + k × interval, so the samples do not drift by the time each takes.
  let timer: NodeJS.Timeout | undefined;
  /** The step (origin + step × interval) the timer is set for. A timer can fire a little early: never twice a step. */
  let step = 0;
  const schedule = (): void => {
    if (disconnected || stopping) return;
    const now = clock();
    step = Math.max(step + 1, Math.floor((now - origin) / intervalMs) + 1);
    timer = setTimeout(() => {
      void tick();
      schedule();
    }, origin + step * intervalMs - now);
  };
  // Waiting for the parent's origin, no sample is taken in lineprof's own start-up.
  if (!parentSamplesFirst) {
    schedule();
    void tick();
  }
  parentPort?.on('message', (message: unknown) => {
    // A last sample, taken after the caller's work: wait for one in flight, then take a fresh one.
    // No timer tick after it (an RSS-only one would come after the last full sample).
    if (message === 'stop') {
      stopping = true;
      clearTimeout(timer);
      void current.then(sample).finally(() => process.exit(0));
    }
    if (typeof message === 'object' && message !== null && typeof (message as { origin?: unknown }).origin === 'number') {
      origin = (message as { origin: number }).origin;
      step = 0;
      clearTimeout(timer);
      schedule();
    }
    // The program is ending: let go of its inspector at once (its main thread is waiting for this).
    if (message === 'disconnect') {
      disconnected = true;
      clearTimeout(timer);
      session.disconnect();
      if (stopped) {
        const flag = new Int32Array(stopped);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      }
    }
  });
}

main();
