/**
 * The controller's inspector session over the websocket (chrome-remote-interface), for `attach` and `usage` of a
 * running process (launch mode opens none). The per-hit work happens inside the target, because a pause driven over
 * the websocket costs ~44 ms here (23 pauses/s: Nagle and delayed ACK hold each small segment ~40 ms) against ~30 µs
 * for a condition evaluated in place.
 */
import CDP from 'chrome-remote-interface';
import { TargetError } from '../errors';
import { debug } from '../debug';

const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 1000;
/**
 * How long an evaluation may take before the target is taken for one that does not answer (a program stopped in a
 * debugger, or a websocket server that is not Node's). The slowest of lineprof's own (planning and editing a large
 * script) take seconds.
 */
export const EVALUATE_TIMEOUT_MS = 60_000;
/** How long the first request may take: a target that does not answer it soon is not going to. */
export const FIRST_ANSWER_MS = 10_000;

export class InspectorSession {
  private constructor(
    private readonly client: CDP.Client,
    private readonly url: string,
  ) {}

  static async connect(url: string): Promise<InspectorSession> {
    debug('connecting to %s', url);
    try {
      const client = await within(CDP({ target: url, local: true }), CONNECT_TIMEOUT_MS, () => {
        return new TargetError(`the inspector at ${url} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
      });
      return new InspectorSession(client, url);
    } catch (err) {
      if (err instanceof TargetError) throw err;
      throw new TargetError(`could not connect to the inspector at ${url}: ${(err as Error).message}`);
    }
  }

  /**
   * Evaluates an expression in the target and returns its value (JSON-serialisable). The inspector's command-line
   * API is on, which gives the expression `require`. An exception in the target becomes a TargetError.
   */
  async evaluate<T>(expression: string, timeoutMs = EVALUATE_TIMEOUT_MS): Promise<T> {
    const evaluation = this.client.Runtime.evaluate({ expression, includeCommandLineAPI: true, returnByValue: true, silent: true });
    const { result, exceptionDetails } = await this.answer(evaluation, timeoutMs);
    if (exceptionDetails) {
      const message = exceptionDetails.exception?.description?.split('\n')[0] ?? exceptionDetails.text;
      throw new TargetError(message.replace(/^Error: /, ''), 'target-exception');
    }
    return result.value as T;
  }

  /**
   * Adds a function the target can call to send the controller a string (Runtime.addBinding); the listener gets
   * each payload.
   */
  async addBinding(name: string, listener: (payload: string) => void, timeoutMs = EVALUATE_TIMEOUT_MS): Promise<void> {
    this.client.Runtime.bindingCalled((event) => {
      if (event.name === name) listener(event.payload);
    });
    await this.answer(this.client.Runtime.addBinding({ name }), timeoutMs);
  }

  async removeBinding(name: string): Promise<void> {
    await this.answer(this.client.Runtime.removeBinding({ name }), EVALUATE_TIMEOUT_MS);
  }

  /** The target's answer to a request, or a TargetError once it has not come within the time. */
  private answer<T>(request: Promise<T>, timeoutMs: number): Promise<T> {
    return within(request, timeoutMs, () => {
      return new TargetError(`the inspector at ${this.url} did not answer within ${timeoutMs / 1000} s: is the program stopped in a debugger?`, 'no-answer');
    });
  }

  /** Called once if the target goes away (it exited, or closed the connection). */
  onDisconnect(listener: () => void): void {
    this.client.on('disconnect', listener);
  }

  /**
   * Closes the connection. A peer that does not take part in the closing handshake (one that stopped answering) is
   * cut off after a second, instead of the websocket library's 30 s.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // chrome-remote-interface keeps its socket (a `ws` WebSocket) as _ws; terminate() drops it at once.
        (this.client as unknown as { _ws?: { terminate(): void } })._ws?.terminate();
        resolve();
      }, CLOSE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.client.close(), cutOff]);
    } catch {
      // Already closed by the other side.
    } finally {
      clearTimeout(timer);
    }
  }

}

/** The promise's value, or the error `late` makes once `ms` have passed without one. */
async function within<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
