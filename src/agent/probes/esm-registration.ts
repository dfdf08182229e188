/**
 * The hand-over between the preload (which starts the agent) and the `--import` that registers the ES module hook
 * (which must come after the user's loaders): both run in the main thread before the program, in one realm.
 */
const KEY = Symbol.for('lineprof.esm-registration');

export function leaveEsmRegistration(register: () => void): void {
  (globalThis as Record<symbol, unknown>)[KEY] = register;
}

export function takeEsmRegistration(): (() => void) | undefined {
  const holder = globalThis as Record<symbol, unknown>;
  const register = holder[KEY] as (() => void) | undefined;
  delete holder[KEY];
  return register;
}
