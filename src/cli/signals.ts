/** Puts the session's signal policy (core/signal-policy.ts) on this process, for as long as the session runs. */
import { signalPolicy } from '../core/signal-policy';
import type { SessionControls } from '../core/signal-policy';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function onSignals(controls: SessionControls): () => void {
  const policy = signalPolicy(controls);
  const listeners = SIGNALS.map((signal) => [signal, () => policy(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}
