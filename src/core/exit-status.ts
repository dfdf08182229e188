/** How a target's end is told and turned into lineprof's exit status: one place for every command. */
import * as os from 'node:os';

export interface TargetExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The script's own status, as a shell reports it: its exit code, or 128 + the signal's number when a signal ended it
 * (134 for an abort, which is how node ends on a fatal out-of-memory). Never a blanket 1.
 */
export function exitStatus(exit: TargetExit): number {
  if (exit.signal) return 128 + (os.constants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}

export function describeExit(exit: TargetExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}
