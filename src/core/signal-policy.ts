/**
 * One signal policy for every command (run, attach, usage): what the user's Ctrl-C, SIGTERM and SIGHUP do to a
 * session. Pure: the CLI installs it on the process (cli/signals.ts), a test calls it directly.
 */
import type { StopSignal } from '../wire/run-protocol';

export interface SessionControls {
  /**
   * The first signal: stop and report. A launched script stops as node would on that signal, after its final
   * report, also while busy in synchronous code; an attached process is put back and left running.
   */
  stop(signal: StopSignal): void;
  /** The second: end now, keeping what was gathered (a launched script is ended after its report). */
  end(): void;
  /** The third: end at once (SIGKILL for a launched script); what was gathered before stays. */
  kill(): void;
}

/**
 * Returns what to do on each signal. Signals count together: a SIGTERM after a Ctrl-C is the second. Nothing is
 * swallowed: each one acts at once, and a script with a handler of its own still gets the terminal's SIGINT itself.
 */
export function signalPolicy(controls: SessionControls): (signal: StopSignal) => void {
  let received = 0;
  return (signal) => {
    received++;
    if (received === 1) controls.stop(signal);
    else if (received === 2) controls.end();
    else controls.kill();
  };
}
