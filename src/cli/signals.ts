/** What `run` and `usage` share about the script's signals and exit: one policy, one place. */
import * as os from 'node:os';
import type { RunHandle } from '../run';

/**
 * Ctrl-C in a terminal reaches the script too (same process group), and the agent there sends its report before the
 * script ends. A SIGINT sent to lineprof alone is forwarded if the script is still running shortly after; a second
 * one forwards SIGTERM, a third SIGKILL. SIGTERM and SIGHUP are forwarded at once.
 */
export function forwardSignals(handle: Pick<RunHandle, 'kill'>): () => void {
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) setTimeout(() => handle.kill('SIGINT'), 500).unref();
    else handle.kill(interrupts === 2 ? 'SIGTERM' : 'SIGKILL');
  };
  const onTerm = (): void => handle.kill('SIGTERM');
  const onHup = (): void => handle.kill('SIGHUP');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  return () => {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('SIGHUP', onHup);
  };
}

/** The script's own status; a script killed by a signal gives 128 + its number, as a shell reports it. */
export function exitStatus(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.signal) return 128 + (os.constants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}
