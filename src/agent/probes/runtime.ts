/**
 * The probe runtime: the functions instrumented code calls (`e`, `s`, `v`, `t` on the PROBE_GLOBAL object), which
 * record a reading of the heap into a typed-array log.
 *
 * A probe allocates nothing in any JIT tier: it fills V8's heap-statistics buffer and the clock's through their
 * bindings (src/agent/heap-reader.ts), and copies the used size and the external memory as Int32 halves into the log
 * (moving a double through a variable would box it in the interpreter); its state is Smis in an Int32Array.
 *
 * Rarely a probe does more, always between its closing reading and a fresh reading that starts the next interval,
 * so that nothing it does belongs to any line (a REBASE record marks the fresh reading):
 * - when the interval it closes lasted longer than LONG_INTERVAL_NS: it asks V8's GC profiler which collections ran
 *   since the last ask. No collection is shorter than that (≥ ~40 µs measured here, see below), so every
 *   collection during a line is seen by the probe right after it, whatever it freed (a scavenge can leave new space
 *   fuller than it was).
 * - when the log is full: it hands the log to the sink (attribution), and collections during that are lineprof's.
 */
import * as v8 from 'node:v8';
import { clockBinding, heapBinding, spaceIndex } from '../heap-reader';
import { GC, MARK, RECORD_INTS, REBASE, THROW } from './log';
import type { ClockBinding, HeapBinding } from '../heap-reader';

/**
 * Intervals longer than this are checked for collections. A scavenge of a young generation that holds little takes
 * ~40 µs here (GC profiler's cost, Node 20, 1–2 MB semi-space), far less than the ~275 µs an earlier prototype saw
 * (227 scavenges) or the 370 µs–20 ms at default settings: the bound stays well under the shortest collection seen.
 */
export const LONG_INTERVAL_NS = 20_000;
const SIGN = -0x80000000;
const NS_PER_S = 1_000_000_000;
/** Records per log: 2 MiB. */
export const LOG_RECORDS = 1 << 16;
/** Expression-bodied arrows open at once (nested through their calls) that the setter can close; deeper ones are not closed. */
const ARROW_STACK = 4096;
/** Tokens wrap here: a Smi on every platform, and far more calls than can be open at once. */
const TOKEN_LIMIT = 1 << 30;

interface GcHeapState {
  heapStatistics: { usedHeapSize: number };
  heapSpaceStatistics?: Array<{ spaceName: string; spaceUsedSize: number }>;
}

interface GcProfilerLike {
  start(): void;
  stop(): { statistics: Array<{ beforeGC: GcHeapState; afterGC: GcHeapState }> } | undefined;
}

const CODE = 'code_space';
const OLD = 'old_space';
const TRUSTED = 'trusted_space';

function spaceUsed(state: GcHeapState, name: string): number {
  return state.heapSpaceStatistics?.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0;
}

export interface ProbeFunctions {
  /** A call begins: returns its token. */
  e(probe: number): number;
  /** A reading before a statement. */
  s(token: number, probe: number): void;
  /** A reading after `value` is computed; returns it. */
  v<T>(token: number, probe: number, value: T): T;
  /** The call threw out of its function. */
  t(token: number): void;
  /** An arrow with an expression body begins (attach): its token waits on a stack for the setter `x`. */
  a(probe: number): number;
  /** Given an expression-bodied arrow's value: the reading that ends the call on top of that stack (probe + 1). */
  x: unknown;
}

export interface LogSink {
  (ints: Int32Array, doubles: Float64Array, length: number): void;
}

export interface RuntimeStats {
  readings: number;
  /** Probes that checked for collections (long intervals) and flushed the log. */
  slowProbes: number;
  flushes: number;
}

export class ProbeRuntime {
  readonly ints = new Int32Array(LOG_RECORDS * RECORD_INTS);
  readonly doubles = new Float64Array(this.ints.buffer);
  /**
   * [position, last token, last second, last nanosecond, readings flushed (low 30 bits), slow probes, flushes, -,
   * the last reading's used size as its high and low Int32 halves]
   */
  private readonly state = new Int32Array(10);
  private readonly gcProfiler: GcProfilerLike;
  private readonly heap: HeapBinding;
  private readonly clock: ClockBinding;
  private readonly stats32: Int32Array;
  private readonly usedIndex: number;
  private readonly externalIndex: number;
  private readonly codeSpace: number;
  private readonly oldSpace: number;
  private readonly trustedSpace: number;
  private readonly space32: Int32Array;
  private readonly spaceUsedIndex: number;
  readonly probes: ProbeFunctions;
  /** Collections that ran in lineprof's own work since the last rebase. */
  private collectedInGap = 0;

  /**
   * `onSlow`: called in every slow probe (a long interval, a full log) with the heap's used size less code space at
   * the reading that closed it, between that reading and the fresh one: what it does belongs to no line.
   */
  constructor(
    private readonly sink: LogSink,
    private readonly onSlow: (used: number) => void = () => undefined,
  ) {
    const heap = (this.heap = heapBinding());
    const clock = (this.clock = clockBinding());
    this.gcProfiler = new (v8 as unknown as { GCProfiler: new () => GcProfilerLike }).GCProfiler();
    const stats = heap.heapStatisticsBuffer;
    const stats32 = (this.stats32 = new Int32Array(stats.buffer, stats.byteOffset, stats.length * 2));
    const update = heap.updateHeapStatisticsBuffer;
    const used = (this.usedIndex = heap.kUsedHeapSizeIndex * 2);
    const external = (this.externalIndex = heap.kExternalMemoryIndex * 2);
    // Machine code the JIT installs at an interrupt in the middle of a line is the compiler's, not the line's: code
    // space is read at every probe and its growth taken out (src/agent/probes/log.ts).
    const code = (this.codeSpace = spaceIndex('code_space'));
    // Old and trusted space are swept concurrently after a full collection: their used size then drops during later
    // lines, which must count as freed, not as negative allocation. (Node 20 has no trusted space: a space that
    // never changes stands in.)
    const old = (this.oldSpace = spaceIndex('old_space'));
    const trustedIndex = spaceIndex('trusted_space');
    const trusted = (this.trustedSpace = trustedIndex >= 0 ? trustedIndex : spaceIndex('read_only_space'));
    const updateSpace = heap.updateHeapSpaceStatisticsBuffer;
    const space = heap.heapSpaceStatisticsBuffer;
    const space32 = (this.space32 = new Int32Array(space.buffer, space.byteOffset, space.length * 2));
    const spaceUsed = (this.spaceUsedIndex = heap.kSpaceUsedSizeIndex * 2);
    const hrtime = clock.hrtime;
    const time = clock.values;
    const log = this.ints;
    const state = this.state;
    const end = log.length - RECORD_INTS * 4; // room for a GC record and a rebase after the last reading
    const slow = (): void => this.slow();
    const arrowTokens = new Int32Array(ARROW_STACK);
    const arrowProbes = new Int32Array(ARROW_STACK);
    const arrowDepth = new Int32Array(1);

    const read = (id: number, token: number): void => {
      update();
      const p = state[0]!;
      log[p] = id;
      log[p + 1] = token;
      log[p + 2] = stats32[used]!;
      log[p + 3] = stats32[used + 1]!;
      log[p + 4] = stats32[external]!;
      log[p + 5] = stats32[external + 1]!;
      updateSpace(code);
      log[p + 6] = space32[spaceUsed]!;
      log[p + 7] = space32[spaceUsed + 1]!;
      updateSpace(old);
      log[p + 8] = space32[spaceUsed]!;
      log[p + 9] = space32[spaceUsed + 1]!;
      updateSpace(trusted);
      log[p + 10] = space32[spaceUsed]!;
      log[p + 11] = space32[spaceUsed + 1]!;
      hrtime();
      state[0] = p + RECORD_INTS;
      const sec = time[1]!;
      const ns = time[2]!;
      const lastSec = state[2]!;
      // In Smis only: the same second, or the next one (1e9 + 1e9 < 2^31).
      const long =
        sec === lastSec ? ns - state[3]! > LONG_INTERVAL_NS : sec !== lastSec + 1 || ns + (NS_PER_S - state[3]!) > LONG_INTERVAL_NS;
      // The heap got smaller: a collection (or sweeping). The used sizes' bit patterns order as the numbers do; the
      // low halves are compared unsigned by flipping their sign bit.
      const hi = log[p + 3]!;
      const shrank = hi < state[8]! || (hi === state[8]! && (log[p + 2]! ^ SIGN) < (state[9]! ^ SIGN));
      state[8] = hi;
      state[9] = log[p + 2]!;
      if (long || shrank || p >= end) {
        slow();
      } else {
        state[2] = sec;
        state[3] = ns;
      }
    };
    this.probes = {
      e(probe: number): number {
        const token = state[1]! + 1 === TOKEN_LIMIT ? 1 : state[1]! + 1;
        state[1] = token;
        read(probe, token);
        return token;
      },
      s(token: number, probe: number): void {
        read(probe, token);
      },
      v<T>(token: number, probe: number, value: T): T {
        read(probe, token);
        return value;
      },
      t(token: number): void {
        read(THROW, token);
      },
      a(probe: number): number {
        const token = state[1]! + 1 === TOKEN_LIMIT ? 1 : state[1]! + 1;
        state[1] = token;
        read(probe, token);
        // A call left by a throw stays below the ones made after it, whose setters take theirs from the top.
        const depth = arrowDepth[0]!;
        if (depth < ARROW_STACK) {
          arrowTokens[depth] = token;
          arrowProbes[depth] = probe + 1;
        }
        arrowDepth[0] = depth + 1;
        return token;
      },
      x: undefined,
    };
    Object.defineProperty(this.probes, 'x', {
      set(_value: unknown): void {
        const depth = arrowDepth[0]! - 1;
        if (depth < 0) return;
        arrowDepth[0] = depth;
        if (depth < ARROW_STACK) read(arrowProbes[depth]!, arrowTokens[depth]!);
      },
      enumerable: false,
    });
    this.gcProfiler.start();
    this.rebase();
  }

  /** True while the runtime hands its log to the sink (see Recorder.inHit). */
  inOwnCode = false;

  /** After the closing reading: collections since the last check, a flush if the log is full, a fresh reading. */
  private slow(): void {
    this.inOwnCode = true;
    try {
      this.slowPath();
    } finally {
      this.inOwnCode = false;
    }
  }

  private slowPath(): void {
    const state = this.state;
    state[5]!++;
    const last = (state[0]! - RECORD_INTS) >> 1;
    this.onSlow(this.doubles[last + 1]! - this.doubles[last + 3]!);
    this.recordGcs();
    if (state[0]! >= this.ints.length - RECORD_INTS * 4) this.flush();
    this.rebase();
  }

  /** Hands the log to the sink; collections meanwhile are lineprof's (they are dropped). */
  private flush(): void {
    const length = this.state[0]!;
    this.state[4] = (this.state[4]! + length / RECORD_INTS) & 0x3fffffff;
    this.state[6]!++;
    this.state[0] = 0;
    this.sink(this.ints, this.doubles, length);
    // Collections during the flush are lineprof's: not the program's, but they freed lineprof's garbage (the rebase
    // says so).
    this.collectedInGap += this.gcProfiler.stop()?.statistics.length ?? 0;
    if (!this.stopped) this.gcProfiler.start();
  }

  /**
   * Everything recorded so far is handed to the sink, up to a reading taken now (a MARK: it closes the interval that
   * is running without ending any call), with the collections since the last check; then a fresh reading. For
   * reports while the program runs (between its tasks) and at the end of profiling.
   */
  snapshot(): void {
    this.writeReading(MARK);
    this.recordGcs();
    this.flush();
    this.rebase();
  }

  stats(): RuntimeStats {
    const s = this.state;
    return { readings: s[4]! + s[0]! / RECORD_INTS, slowProbes: s[5]!, flushes: s[6]! };
  }

  /** Stops the GC profiler (the end of profiling); probes that still fire do not start it again. */
  stop(): void {
    this.stopped = true;
    this.gcProfiler.stop();
  }

  private stopped = false;

  /**
   * A GC record for the collections since the last check, if any: how many, what they freed in all, what of that was
   * code space, and how they changed old and trusted space (promotion adds there; sweeping after them does not count
   * as theirs). Allocates: only after a closing reading.
   */
  private recordGcs(): void {
    const result = this.gcProfiler.stop();
    if (!this.stopped) this.gcProfiler.start();
    const list = result?.statistics ?? [];
    if (list.length === 0) return;
    let freed = 0;
    let codeFreed = 0;
    let sweptGrowth = 0;
    for (const gc of list) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      codeFreed += spaceUsed(gc.beforeGC, CODE) - spaceUsed(gc.afterGC, CODE);
      sweptGrowth += spaceUsed(gc.afterGC, OLD) + spaceUsed(gc.afterGC, TRUSTED) - spaceUsed(gc.beforeGC, OLD) - spaceUsed(gc.beforeGC, TRUSTED);
    }
    const p = this.state[0]!;
    this.ints[p] = GC;
    this.ints[p + 1] = list.length;
    const d = p >> 1;
    this.doubles[d + 1] = freed;
    this.doubles[d + 2] = codeFreed;
    this.doubles[d + 3] = sweptGrowth;
    this.doubles[d + 4] = 0;
    this.doubles[d + 5] = 0;
    this.state[0] = p + RECORD_INTS;
  }

  /** A fresh reading that starts the next interval. Nothing may run after it inside the probe. */
  private rebase(): void {
    this.writeReading(REBASE);
    this.ints[this.state[0]! - RECORD_INTS + 1] = this.collectedInGap;
    this.collectedInGap = 0;
    this.clock.hrtime();
    this.state[2] = this.clock.values[1]!;
    this.state[3] = this.clock.values[2]!;
  }

  /** A reading record of lineprof's own (no probe): copied as Int32 halves, as the probes do, so nothing is boxed. */
  private writeReading(kind: number): void {
    const p = this.state[0]!;
    const ints = this.ints;
    const stats32 = this.stats32;
    const space32 = this.space32;
    const used = this.spaceUsedIndex;
    this.heap.updateHeapStatisticsBuffer();
    ints[p] = kind;
    ints[p + 1] = 0;
    ints[p + 2] = stats32[this.usedIndex]!;
    ints[p + 3] = stats32[this.usedIndex + 1]!;
    this.state[9] = ints[p + 2]!;
    this.state[8] = ints[p + 3]!;
    ints[p + 4] = stats32[this.externalIndex]!;
    ints[p + 5] = stats32[this.externalIndex + 1]!;
    this.heap.updateHeapSpaceStatisticsBuffer(this.codeSpace);
    ints[p + 6] = space32[used]!;
    ints[p + 7] = space32[used + 1]!;
    this.heap.updateHeapSpaceStatisticsBuffer(this.oldSpace);
    ints[p + 8] = space32[used]!;
    ints[p + 9] = space32[used + 1]!;
    this.heap.updateHeapSpaceStatisticsBuffer(this.trustedSpace);
    ints[p + 10] = space32[used]!;
    ints[p + 11] = space32[used + 1]!;
    this.state[0] = p + RECORD_INTS;
  }
}
