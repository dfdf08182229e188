/**
 * A same-thread inspector session for the agent that runs inside the target.
 *
 * Why not `node:inspector`'s Session: every breakpoint condition V8 evaluates is compiled as a new script, and every
 * session with the debugger enabled is sent a `Debugger.scriptParsed` for it. `Session` JSON-parses each one into an
 * event object on the target's heap (~1.4 KB per hit, with irregular extras), which would land in the user's figures.
 * The raw connection hands us the message string, and we drop the condition scripts' notifications (they have an
 * empty url) without parsing them: what remains per hit is one string of nearly constant size, which calibration
 * removes.
 *
 * Responses to a same-thread session arrive synchronously, inside `dispatch`, so `post` returns the result directly.
 */

interface RawConnection {
  dispatch(message: string): void;
  disconnect(): void;
}

type ConnectionCtor = new (onMessage: (message: string) => void) => RawConnection;

export class ProtocolCallError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
    this.name = 'ProtocolCallError';
  }
}

export interface ScriptParsedEvent {
  scriptId: string;
  url: string;
  isModule?: boolean;
  sourceMapURL?: string;
  hash?: string;
}

export class InspectorConnection {
  private readonly connection: RawConnection;
  private nextId = 1;
  private response: string | undefined;
  private closed = false;

  constructor(private readonly onScriptParsed: (event: ScriptParsedEvent) => void) {
    const Connection = loadBinding<{ Connection: ConnectionCtor }>('inspector').Connection;
    this.connection = new Connection((message) => this.onMessage(message));
  }

  post<T = unknown>(method: string, params: object = {}): T {
    if (this.closed) throw new ProtocolCallError(method, 'the connection is closed');
    this.response = undefined;
    this.connection.dispatch(JSON.stringify({ id: this.nextId++, method, params }));
    const raw = this.response as string | undefined;
    this.response = undefined;
    if (raw === undefined) throw new ProtocolCallError(method, 'no synchronous response');
    const parsed = JSON.parse(raw) as { result?: T; error?: { message: string } };
    if (parsed.error) throw new ProtocolCallError(method, parsed.error.message);
    return parsed.result as T;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.disconnect();
  }

  private onMessage(message: string): void {
    // Notifications start with {"method":…, responses with {"id":…. charCodeAt allocates nothing.
    if (message.charCodeAt(2) !== 109 /* m */) {
      this.response = message;
      return;
    }
    if (!message.startsWith('{"method":"Debugger.scriptParsed"')) return;
    if (message.indexOf('"url":""') !== -1) return; // a breakpoint condition or an eval without a name
    this.onScriptParsed((JSON.parse(message) as { params: ScriptParsedEvent }).params);
  }
}

/** `process.binding` is deprecated (DEP0111) but the only zero-allocation route to these; keep its warning quiet. */
export function loadBinding<T>(name: string): T {
  const proc = process as NodeJS.Process & { binding(name: string): unknown };
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    return proc.binding(name) as T;
  } finally {
    process.noDeprecation = quiet;
  }
}
