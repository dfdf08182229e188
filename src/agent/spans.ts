/**
 * Spans mode (`lineprof usage`): each marked function's calls as enter/exit events with the time and the JS heap at
 * each, like mprof's brackets. Only the entry and exit locations get a breakpoint, so the function's lines run at
 * full speed between them.
 */
import type { SpanEvent } from '../wire/agent-report';
import { heapBinding, spaceIndex } from './heap-reader';
import { obtainGc, stackDepth } from './recorder';

/**
 * V8 compiles a breakpoint condition anew at every hit and keeps each compiled script until a full GC; without one
 * now and then, hits slow down as the list grows (measured: ~440 µs a hit after 40,000 hits, against ~25 µs).
 */
const GC_EVERY = 2048;

/** Spans kept; later calls are counted, not kept (a hot function would otherwise grow the target's memory). */
export const SPAN_LIMIT = 100_000;

export class SpanRecorder {
  private readonly buffers = heapBinding();
  private readonly spans: SpanEvent[] = [];
  private dropped = 0;
  private hits = 0;
  private readonly gc = obtainGc();
  /** Open calls per function, most recent last, with the stack depth of their entry. */
  private readonly open = new Map<number, Array<{ span: SpanEvent; depth: number }>>();

  /**
   * `exit` is 0 at a function's entry, 1 at one of its exits. A plain function's exit closes its open call at the
   * same stack depth; calls of it left deeper were left by a throw (they keep no end). Async functions and
   * generators end where they resume, at another depth, and in any order: an exit closes the oldest open call
   * (calls of one async function cannot be told apart from entry and exit alone; docs/usage.md).
   */
  constructor(private readonly endsInAnyOrder: (fn: number) => boolean) {}

  /** The breakpoint condition's entry point; never pauses. */
  hit(fn: number, exit: number): boolean {
    // Before the time is read: the collection's pause is lineprof's, not the call's.
    if (++this.hits % GC_EVERY === 0) this.gc();
    const t = performance.timeOrigin + performance.now();
    const heap = this.programHeap();
    let open = this.open.get(fn);
    if (!open) this.open.set(fn, (open = []));
    const anyOrder = this.endsInAnyOrder(fn);
    const depth = anyOrder ? 0 : stackDepth();
    // Calls of a plain function open at this depth or deeper cannot still be running: they were left by a throw.
    // (At an entry, a call open at this very depth is stale too; at an exit, that one is the call ending.)
    if (!anyOrder) while (open.length > 0 && open[open.length - 1]!.depth > depth - 1 + exit) open.pop();
    if (exit === 0) {
      if (this.spans.length >= SPAN_LIMIT) {
        this.dropped++;
        return false;
      }
      const span: SpanEvent = { fn, start: t, heapStart: heap };
      this.spans.push(span);
      open.push({ span, depth });
    } else {
      const entry = anyOrder ? open.shift() : open[open.length - 1]?.depth === depth ? open.pop() : undefined;
      if (entry) {
        entry.span.end = t;
        entry.span.heapEnd = heap;
      }
    }
    return false;
  }

  /**
   * The JS heap less code and trusted space: V8's compiler threads take and give back buffers of tens to hundreds of
   * KB there at any moment (Node 22+), which are not the program's.
   */
  private programHeap(): number {
    const b = this.buffers;
    b.updateHeapStatisticsBuffer();
    let heap = b.heapStatisticsBuffer[b.kUsedHeapSizeIndex]!;
    for (const space of this.compilerSpaces) {
      b.updateHeapSpaceStatisticsBuffer(space);
      heap -= b.heapSpaceStatisticsBuffer[b.kSpaceUsedSizeIndex]!;
    }
    return heap;
  }

  private readonly compilerSpaces = ['code_space', 'trusted_space'].map(spaceIndex).filter((i) => i >= 0);

  /** The spans so far (open ones have no end). */
  report(): { spans: SpanEvent[]; spansDropped: number } {
    return { spans: this.spans.map((s) => ({ ...s })), spansDropped: this.dropped };
  }
}
