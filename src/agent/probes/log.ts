/**
 * The probe log's layout, and its replay into readings with the GC accounting. Pure: the runtime fills the log in the
 * target; this turns it into cumulative readings for the attributor, and unit tests replay recorded logs through it.
 *
 * A record is 12 Int32 slots (48 bytes); slots 2–11 hold five doubles, copied as Int32 halves so that the probe
 * never boxes a number:
 *   [probe id ≥ 0, token, used, external, code, old, trusted]   a probe's reading: the JS heap's used size, external
 *                                                                memory, and the used size of code, old and trusted
 *                                                                space
 *   [THROW, token, …the same]               a call threw out of its function
 *   [REBASE, n, …]                          the next interval starts here: lineprof's own work came in between,
 *                                           during which n collections ran
 *   [MARK, 0, …]                            a reading of lineprof's own that closes the running interval (a report
 *                                           while the program runs, the end): no call is charged
 *   [GC, count, freed, code freed, old+trusted change, 0, 0]
 *                                           collections during the interval the previous record closed
 *
 * The accounting of an interval, every term known:
 * - code space is the JIT's (machine code): left out entirely, and in an interval where code space changed, what old
 *   and trusted space gained outside collections is the compiler's (its metadata) and left out too;
 * - net (Increment) = the change of the heap without code space;
 * - freed = what collections freed (their before − after, less code) + what sweeping freed after a full collection:
 *   old and trusted space are swept concurrently, so their used size drops during later intervals; a drop outside
 *   any collection is counted as freed there, and such an interval is flagged like one with a collection;
 * - allocated (gross) = net + freed.
 */
import type { Reading } from '../../attribution/attributor';

export const RECORD_INTS = 12;
export const THROW = -1;
export const GC = -2;
export const REBASE = -3;
export const MARK = -4;

interface RawReading {
  used: number;
  external: number;
  code: number;
  /** Old + trusted space. */
  swept: number;
}

interface GcFigures {
  count: number;
  freed: number;
  codeFreed: number;
  sweptGrowth: number;
}


export interface ReadingSink {
  hit(probeId: number, token: number, reading: Reading): void;
  thrown(token: number, reading: Reading): void;
  /** Whether a marked call is running (its next line is still to come). */
  inCall?(): boolean;
}

export interface GcAccountingStats {
  /** Collections that ran while the program ran, seen in an interval. */
  userGcs: number;
  /** Bytes they freed (before − after, as V8's GC profiler reports it). */
  freedBytes: number;
  /** Largest share of a GC's freed bytes that was lineprof's own garbage. */
  ownGarbageReclaimed: number;
  /** Machine code the JIT installed during intervals (code space's growth), left out of their figures. */
  jitCodeBytes: number;
  /** Bytes that old and trusted space lost outside any collection: sweeping after a full collection. */
  sweptBytes: number;
  /** Intervals in which sweeping freed memory. */
  sweptIntervals: number;
  /**
   * Collections that ran in lineprof's own work between two lines (a flush, a report), and what they freed of the
   * program's heap: Mem usage falls there with no line's Increment to show it.
   */
  collectionsBetweenLines: number;
  freedBetweenLines: number;
  /** Intervals whose heap shrank by more than any collection or sweeping explains (counted as freed there). */
  unexplainedDrops: number;
}

/**
 * Cumulative counters over the whole run, so that any two readings can be subtracted however many came between:
 * `heap` is the program's net heap change, `freed` what collections freed of the program's, so heap + freed only
 * grows (it is allocation).
 */
export class LogReplay {
  private heap = 0;
  private freed = 0;
  private gcs = 0;
  private external = 0;
  /** Where the current interval started (once `started`). */
  private readonly start: RawReading = { used: 0, external: 0, code: 0, swept: 0 };
  private started = false;
  private readonly scratch: RawReading = { used: 0, external: 0, code: 0, swept: 0 };
  private readonly gc: GcFigures = { count: 0, freed: 0, codeFreed: 0, sweptGrowth: 0 };
  /** lineprof's own garbage since the last collection: rebases add it; a GC frees it along with the program's. */
  private ownGarbage = 0;
  private last: Reading = { heap: 0, freed: 0, gcs: 0, external: 0, heapInUse: 0 };
  readonly stats: GcAccountingStats = {
    userGcs: 0,
    freedBytes: 0,
    ownGarbageReclaimed: 0,
    jitCodeBytes: 0,
    sweptBytes: 0,
    sweptIntervals: 0,
    unexplainedDrops: 0,
    collectionsBetweenLines: 0,
    freedBetweenLines: 0,
  };

  constructor(private readonly sink: ReadingSink) {}

  /** Replays records [0, length) of a log. The replay's state carries over to the next call. */
  replay(ints: Int32Array, doubles: Float64Array, length: number): void {
    // One object a reading, the one the attributor keeps; the rest in locals and the fields below (a replay runs
    // over a million records a second in a hot loop: its garbage is the program's GC pressure).
    const at = this.scratch;
    for (let i = 0; i < length; i += RECORD_INTS) {
      const id = ints[i]!;
      if (id === GC) continue; // taken with the record before it
      const d = i >> 1;
      at.used = doubles[d + 1]!;
      at.external = doubles[d + 2]!;
      at.code = doubles[d + 3]!;
      at.swept = doubles[d + 4]! + doubles[d + 5]!;
      if (id === REBASE) {
        // A collection in lineprof's own work (its token slot counts them) freed lineprof's garbage, and some of the
        // program's: the heap in use falls between two lines.
        if (ints[i + 1]! > 0) {
          // Only inside a marked call does the fall show in a table (between two of its lines).
          if (this.started && this.sink.inCall?.() === true) {
            const before = this.start.used - this.start.code - this.ownGarbage;
            this.stats.collectionsBetweenLines += ints[i + 1]!;
            this.stats.freedBetweenLines += Math.max(0, before - (at.used - at.code));
          }
          this.ownGarbage = 0;
        }
        if (this.started) this.ownGarbage += Math.max(0, at.used - at.code - (this.start.used - this.start.code));
        this.setStart(at);
        continue;
      }
      const g = i + RECORD_INTS < length && ints[i + RECORD_INTS] === GC ? (i + RECORD_INTS) >> 1 : -1;
      const gc = this.gc;
      gc.count = g < 0 ? 0 : ints[i + RECORD_INTS + 1]!;
      gc.freed = g < 0 ? 0 : doubles[g + 1]!;
      gc.codeFreed = g < 0 ? 0 : doubles[g + 2]!;
      gc.sweptGrowth = g < 0 ? 0 : doubles[g + 3]!;
      const reading = this.close(at, gc);
      if (id === MARK) continue;
      if (id === THROW) this.sink.thrown(ints[i + 1]!, reading);
      else this.sink.hit(id, ints[i + 1]!, reading);
    }
  }

  private setStart(at: RawReading): void {
    this.started = true;
    this.start.used = at.used;
    this.start.external = at.external;
    this.start.code = at.code;
    this.start.swept = at.swept;
  }


  /** lineprof's own garbage not yet collected, as far as the log replayed so far shows. */
  get ownGarbageNow(): number {
    return this.ownGarbage;
  }

  /** The last reading replayed (a MARK's, after a snapshot): where open calls are closed at the end. */
  get current(): Reading {
    return this.last;
  }

  private close(at: RawReading, gc: GcFigures): Reading {
    if (!this.started) this.setStart(at);
    const start = this.start;
    const codeChange = at.code - start.code;
    // Old and trusted space's change outside collections: allocation; sweeping when it is a drop.
    const outside = at.swept - start.swept - gc.sweptGrowth;
    // V8 compiled code during the interval: what compiling put in old and trusted space is the compiler's too.
    const compiled = codeChange !== 0;
    const compilerBytes = Math.max(0, codeChange) + (compiled ? Math.max(0, outside) : 0);
    this.stats.jitCodeBytes += compilerBytes;
    const net = at.used - start.used - codeChange - (compiled ? outside : 0);
    const swept = compiled ? 0 : Math.max(0, -outside);
    let freed = swept;
    if (swept > 0) {
      this.stats.sweptBytes += swept;
      this.stats.sweptIntervals++;
    }
    if (gc.count > 0) {
      freed += gc.freed - gc.codeFreed;
      this.stats.userGcs += gc.count;
      this.stats.freedBytes += gc.freed - gc.codeFreed;
    }
    // Allocation is never negative. New space's used size can drop by tens of KB outside any collection (seen right
    // before a scavenge, Node 20): what V8 let go there counts as freed, and the interval is flagged; the interval's
    // own allocation under that drop is what remains unknown.
    if (net + freed < 0) {
      this.stats.unexplainedDrops++;
      freed = -net;
    }
    if (freed > 0 || gc.count > 0) {
      // A collection frees lineprof's own garbage too (what its rebases added): that part is not the program's.
      const own = Math.min(this.ownGarbage, Math.max(0, freed));
      this.heap += net + own;
      this.freed += freed - own;
      this.gcs += Math.max(1, gc.count);
      if (gc.count > 0) this.ownGarbage = 0;
      else this.ownGarbage -= own;
      if (own > this.stats.ownGarbageReclaimed) this.stats.ownGarbageReclaimed = own;
    } else {
      this.heap += net;
    }
    this.external += at.external - start.external;
    this.setStart(at);
    this.last = {
      heap: this.heap,
      freed: this.freed,
      gcs: this.gcs,
      external: this.external,
      heapInUse: at.used - at.code - this.ownGarbage,
    };
    return this.last;
  }
}
