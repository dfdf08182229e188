/**
 * What `lineprof run` / `usage` and the agent in the launched script agree on: the lifeline's bytes (controller →
 * target) and the key under which the preload leaves its stop function for the lifeline worker. Constants only: both
 * sides import this.
 */

/** One byte each on the lifeline. Its end of file means the controller is gone. */
export const LIFELINE = {
  /** Stop as the signal would (the program's own handler, if it has one, decides), after the final report. */
  SIGINT: 'i',
  SIGTERM: 't',
  SIGHUP: 'h',
  /** End the program now, after the final report (a second Ctrl-C). */
  end: 'k',
} as const;

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** `globalThis[Symbol.for(STOP_KEY)](what)` on the program's thread: what the lifeline worker calls there. */
export const STOP_KEY = 'lineprof.stop';

/**
 * What the stop function did: `done` (the report is saved; the program is ending), `handled` (the program has a
 * handler of its own for the signal: it decides), `busy` (lineprof's own code was running at that interrupt: ask
 * again in a moment).
 */
export type StopAnswer = 'done' | 'handled' | 'busy';
