/**
 * Spans mode (`lineprof usage`): each marked function's calls as enter/exit events with the time and the JS heap at
 * each, like mprof's brackets. Only the entry and exit locations get a breakpoint, so the function's lines run at
 * full speed between them.
 */
import type { SpanEvent } from '../model/types';
import type { HeapBuffers } from './recorder';
import { loadBinding } from './inspector-connection';

/** Spans kept; later calls are counted, not kept (a hot function would otherwise grow the target's memory). */
export const SPAN_LIMIT = 100_000;

export class SpanRecorder {
  private readonly buffers = loadBinding<HeapBuffers>('v8');
  private readonly spans: SpanEvent[] = [];
  private dropped = 0;
  /** Open calls per function, most recent last. */
  private readonly open = new Map<number, SpanEvent[]>();

  /**
   * `exit` is 0 at a function's entry, 1 at one of its exits. An exit closes the function's most recent open call,
   * except for async functions and generators, whose calls may end in any order: there the oldest (the calls of one
   * async function cannot be told apart from entry and exit alone; docs/usage.md).
   */
  constructor(private readonly endsInAnyOrder: (fn: number) => boolean) {}

  /** The breakpoint condition's entry point; never pauses. */
  hit(fn: number, exit: number): boolean {
    const t = performance.timeOrigin + performance.now();
    this.buffers.updateHeapStatisticsBuffer();
    const heap = this.buffers.heapStatisticsBuffer[this.buffers.kUsedHeapSizeIndex]!;
    let open = this.open.get(fn);
    if (!open) this.open.set(fn, (open = []));
    if (exit === 0) {
      if (this.spans.length >= SPAN_LIMIT) {
        this.dropped++;
        return false;
      }
      const span: SpanEvent = { fn, start: t, heapStart: heap };
      this.spans.push(span);
      open.push(span);
    } else {
      const span = this.endsInAnyOrder(fn) ? open.shift() : open.pop();
      if (span) {
        span.end = t;
        span.heapEnd = heap;
      }
    }
    return false;
  }

  /** The spans so far (open ones have no end). */
  report(): { spans: SpanEvent[]; spansDropped: number } {
    return { spans: this.spans.map((s) => ({ ...s })), spansDropped: this.dropped };
  }
}
