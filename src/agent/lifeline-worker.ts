/**
 * A worker thread in the launched script that reads the lifeline from the controller. It is a thread of its own so
 * that the lifeline works while the program's thread cannot run JavaScript callbacks (busy in a synchronous loop).
 * What it must do on that thread it asks through the inspector (`Session.connectToMainThread`), whose messages are
 * handled between any two JavaScript instructions.
 *
 * - A stop byte (the user's Ctrl-C or SIGTERM reached lineprof) runs the preload's stop function there: the final
 *   report, then the signal as node would act on it. A second Ctrl-C ends the program, after the report.
 * - End of file: the controller is gone (killed). The program is ended with SIGTERM, and SIGKILL if it is still there
 *   a few seconds later, so that no orphan runs on unseen.
 */
import * as net from 'node:net';
import { Session } from 'node:inspector';
import { workerData } from 'node:worker_threads';
import { LIFELINE, STOP_KEY } from '../wire/run-protocol';
import type { StopAnswer } from '../wire/run-protocol';

export interface LifelineWorkerData {
  fd: number;
  /** [0] is set to 1 once the worker reads the lifeline. */
  flags: SharedArrayBuffer;
}

/** How long the program may take to end after SIGTERM once the controller is gone. */
const ORPHAN_GRACE_MS = 3000;
/** How long the program's thread may take to answer a stop before the signal is sent to it directly. */
const STOP_ANSWER_MS = 2000;
/** How long the end (second Ctrl-C) waits for the final report before SIGKILL. */
const END_ANSWER_MS = 5000;
const BUSY_RETRY_MS = 2;

/** What each byte asks for: the lifeline table read backwards. */
const STOP_BYTES: Record<string, string> = Object.fromEntries(Object.entries(LIFELINE).map(([what, byte]) => [byte, what]));

function main(): void {
  const { fd, flags } = workerData as LifelineWorkerData;
  const flag = new Int32Array(flags);
  let session: Session | undefined;
  const post = (expression: string, then: (answer: StopAnswer | undefined) => void): void => {
    try {
      if (!session) {
        session = new Session();
        session.connectToMainThread();
      }
      session.post('Runtime.evaluate', { expression, returnByValue: true }, (err, result) => {
        then(err ? undefined : ((result as { result?: { value?: StopAnswer } }).result?.value ?? undefined));
      });
    } catch {
      then(undefined);
    }
  };

  /**
   * Runs the stop function on the program's thread. `orphaned`: lineprof is gone, so a program that handles SIGTERM
   * itself is sent one (nobody else will).
   */
  const stop = (what: string, orphaned = false): void => {
    // The program's thread may be blocked where the inspector cannot reach it (in native code): if it has not
    // answered after a while, the signal goes to the process itself. The end (a second Ctrl-C) is SIGKILL, once the
    // report has had time to be written.
    const signal = what === 'end' ? 'SIGKILL' : (what as NodeJS.Signals);
    const fallback = setTimeout(() => process.kill(process.pid, signal), what === 'end' ? END_ANSWER_MS : STOP_ANSWER_MS);
    const expression = `globalThis[Symbol.for(${JSON.stringify(STOP_KEY)})]?.(${JSON.stringify(what)})`;
    const ask = (): void =>
      post(expression, (answer) => {
        // lineprof's own code was running at that interrupt (a flush, a hit, a report): again, in a moment.
        if (answer === 'busy') return void setTimeout(ask, BUSY_RETRY_MS);
        clearTimeout(fallback);
        if (answer === 'handled' && orphaned) process.kill(process.pid, signal);
      });
    ask();
  };


  const lifeline = new net.Socket({ fd, readable: true, writable: false });
  lifeline.on('data', (chunk: Buffer) => {
    for (const byte of chunk.toString('latin1')) {
      if (STOP_BYTES[byte]) stop(STOP_BYTES[byte]!);
    }
  });
  let orphan = false;
  const orphaned = (): void => {
    if (orphan) return;
    orphan = true;
    // Ended as by SIGTERM (a program with a handler cleans up), even while busy.
    stop('SIGTERM', true);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), ORPHAN_GRACE_MS);
  };
  lifeline.on('end', orphaned);
  // Not the controller's end: the program closed the descriptor (a daemon closing what it inherited). The program
  // runs on without the lifeline.
  lifeline.on('error', () => undefined);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

main();
