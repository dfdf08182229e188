/**
 * The one terminal outcome of a session (Node's inspect_probe.js: "records the first terminal for the session, later
 * callers are ignored"). Whatever ends a session — the target's exit, a signal, a timeout, a lost connection —
 * settles it; the first one is the answer, and the session's cleanup runs once, for that one.
 */
export class Outcome<T> {
  readonly promise: Promise<T>;
  private resolve!: (value: T) => void;
  private first: { value: T } | undefined;

  constructor() {
    this.promise = new Promise<T>((resolve) => (this.resolve = resolve));
  }

  /** Records `value` if nothing ended the session before; true if this one did. */
  settle(value: T): boolean {
    if (this.first) return false;
    this.first = { value };
    this.resolve(value);
    return true;
  }

  get settled(): boolean {
    return this.first !== undefined;
  }

  /** The first terminal event, once there is one. */
  get value(): T | undefined {
    return this.first?.value;
  }
}
