/**
 * The hand-over between the preload (which starts the agent) and the `--import` that registers the ES module hook
 * (which must come after the user's loaders): both run in the main thread before the program, in one realm.
 */
const KEY = Symbol.for('lineprof.esm-registration');

type Registration = { data: unknown; transferList: unknown[] };

export function leaveEsmRegistration(registration: Registration): void {
  (globalThis as Record<symbol, unknown>)[KEY] = registration;
}

export function takeEsmRegistration(): Registration | undefined {
  const holder = globalThis as Record<symbol, unknown>;
  const registration = holder[KEY] as Registration | undefined;
  delete holder[KEY];
  return registration;
}
