/**
 * The child's stderr passes through unchanged except for the lines Node's inspector prints about lineprof's own
 * connection, which the user did not ask for and which would otherwise interleave with the program's output.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** How each notice begins; the ones ending in `ws://` continue with an address, the others are whole lines. */
const NOTICE_STARTS = [
  'Debugger listening on ws://',
  'Debugger ending on ws://',
  'For help, see: https://nodejs.org/en/docs/inspector',
  // Node 22 and later print this instead.
  'For help, see: https://nodejs.org/learn/getting-started/debugging',
  'Debugger attached.',
  'Waiting for the debugger to disconnect...',
];

/** Could this unfinished line still turn out to be a notice? If not, it is passed on at once (a prompt, say). */
function mayBecomeNotice(partial: string): boolean {
  return NOTICE_STARTS.some((start) => start.startsWith(partial) || partial.startsWith(start));
}

export function isInspectorNotice(line: string): boolean {
  return NOTICE_STARTS.some((start) =>
    start.endsWith('ws://') ? line.startsWith(start) && /^\S+$/.test(line.slice(start.length)) : line === start,
  );
}

/** Passes text through line by line, dropping the inspector's notices; a partial last line is flushed at the end. */
export class InspectorNoticeFilter extends Transform {
  private pending = '';
  /** A UTF-8 character may be split across chunks: decode across them. */
  private readonly decoder = new StringDecoder('utf8');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.pending + this.decoder.write(chunk);
    const lastNewline = text.lastIndexOf('\n');
    const complete = text.slice(0, lastNewline + 1);
    let rest = text.slice(lastNewline + 1);
    const kept = complete
      .split(/(?<=\n)/)
      .filter((line) => line !== '' && !isInspectorNotice(line.replace(/\r?\n$/, '')));
    if (rest !== '' && !mayBecomeNotice(rest)) {
      kept.push(rest);
      rest = '';
    }
    this.pending = rest;
    callback(null, kept.join(''));
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.pending + this.decoder.end();
    callback(null, isInspectorNotice(rest) ? '' : rest);
  }
}
