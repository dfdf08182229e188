/** What `run` and `usage` share about the script's signals and exit: one policy, one place. */
import type { RunHandle } from '../run';

/**
 * The first Ctrl-C stops the script as node would, after its final report, also while it is busy in synchronous
 * code (the agent is asked through the lifeline). A script with a SIGINT handler of its own gets the terminal's
 * SIGINT itself (same process group) and decides; it is not sent a second one. The second Ctrl-C ends the script,
 * after its report; a third kills it (SIGKILL). SIGTERM and SIGHUP are passed on at once.
 */
export function forwardSignals(handle: Pick<RunHandle, 'kill' | 'interrupt'>): () => void {
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) {
      handle.interrupt('SIGINT');
    } else if (interrupts === 2) {
      handle.interrupt('end');
    } else {
      handle.kill('SIGKILL');
    }
  };
  const onTerm = (): void => {
    handle.interrupt('SIGTERM');
    handle.kill('SIGTERM');
  };
  const onHup = (): void => {
    handle.interrupt('SIGHUP');
    handle.kill('SIGHUP');
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  return () => {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('SIGHUP', onHup);
  };
}


