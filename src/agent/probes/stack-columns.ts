/**
 * Stack traces of instrumented code show the source's columns, as without lineprof: the probes inserted on a line
 * would otherwise move every column after them. Node formats stacks through `Error.prepareStackTrace` (its own
 * function, which also applies source maps under --enable-source-maps); lineprof puts a function in front of it that
 * hands it the frames of instrumented files with their columns mapped back, so its output is what it would be
 * without probes. A program that sets its own `Error.prepareStackTrace` replaces both (its frames then carry the
 * instrumented columns).
 */
import type { ColumnShifts } from '../../instrument/columns';
import { originalColumn } from '../../instrument/columns';

type Prepare = (error: Error, frames: NodeJS.CallSite[]) => unknown;

export function installStackColumns(shiftsOf: (file: string) => ColumnShifts | undefined): void {
  const format = Error.prepareStackTrace as Prepare | undefined;
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]): unknown => {
    const mapped = frames.map((frame) => mappedFrame(frame, shiftsOf));
    return format ? format(error, mapped) : defaultFormat(error, mapped);
  };
}

/** V8's own format, for a node that has no prepareStackTrace of its own. */
function defaultFormat(error: Error, frames: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = '<error>';
  }
  return header + frames.map((frame) => `\n    at ${frame.toString()}`).join('');
}

/**
 * A frame of an instrumented file with the source's column: every CallSite method answers as the real frame's,
 * except the column and the text. One small object per frame (its methods are shared), made only when a stack is
 * formatted.
 */
class MappedFrame {
  constructor(
    readonly frame: NodeJS.CallSite,
    readonly column: number,
  ) {}

  getColumnNumber(): number {
    return this.column;
  }

  toString(): string {
    const text = this.frame.toString();
    const position = `${this.frame.getFileName()}:${this.frame.getLineNumber()}:${this.frame.getColumnNumber()}`;
    const at = text.lastIndexOf(position);
    if (at < 0) return text;
    const mapped = `${this.frame.getFileName()}:${this.frame.getLineNumber()}:${this.column}`;
    return text.slice(0, at) + mapped + text.slice(at + position.length);
  }
}

let delegated = false;

/** The CallSite methods (other than the two above) delegate to the real frame. */
function delegateCallSiteMethods(frame: NodeJS.CallSite): void {
  if (delegated) return;
  delegated = true;
  const proto = Object.getPrototypeOf(frame) as Record<string, unknown>;
  const target = MappedFrame.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = proto[name];
    if (typeof method !== 'function' || name === 'constructor' || name in target) continue;
    target[name] = function (this: MappedFrame, ...args: unknown[]) {
      return (method as (...a: unknown[]) => unknown).apply(this.frame, args);
    };
  }
}

/** The frame as it is, or for an instrumented file a stand-in whose column (and text) is the source's. */
function mappedFrame(frame: NodeJS.CallSite, shiftsOf: (file: string) => ColumnShifts | undefined): NodeJS.CallSite {
  const file = frame.getFileName();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  const shifts = file ? shiftsOf(file) : undefined;
  if (!shifts || line === null || column === null) return frame;
  const mapped = originalColumn(shifts, line, column - 1) + 1;
  if (mapped === column) return frame;
  delegateCallSiteMethods(frame);
  return new MappedFrame(frame, mapped) as unknown as NodeJS.CallSite;
}
