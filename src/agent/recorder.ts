/**
 * The recorder runs inside the target, called from every recording breakpoint's condition (which returns false, so
 * the program never pauses). It reads the heap, removes lineprof's own footprint, and feeds the attributor.
 *
 * Exactness, in three parts:
 * 1. Its own work is free: it reads the heap first thing, and again last thing; the next interval starts from that
 *    second reading, so whatever the recorder allocated in between is in no interval.
 * 2. The breakpoint condition itself allocates before and after the recorder runs (V8 compiles the condition anew on
 *    each hit, materialises the frame's scope, and sends the session a notification). That cost depends on the
 *    location (its scope) and is calibrated per location: a second session puts a calibration breakpoint on the same
 *    location, whose condition V8 evaluates right after the recording one with no user code between, so the heap
 *    change between the two is exactly one condition's cost. After a few samples the calibration breakpoint is
 *    removed and the median is subtracted from every interval that ends at that location.
 * 3. A garbage collection inside an interval makes its net figure smaller than what was allocated. A GC profiler,
 *    stopped and restarted at each reading, tells which intervals had one and how much it freed, so the allocated
 *    figure stays right and the interval is flagged. lineprof itself runs a full GC every `gcEvery` hits, inside the
 *    recorder (so it belongs to no interval): it keeps the garbage of compiled conditions from making later hits slow
 *    and from triggering collections in the user's lines.
 */
import { createContext, runInContext } from 'node:vm';
import * as v8 from 'node:v8';
import type { Attributor, Reading } from '../attribution/attributor';
import { loadBinding } from './inspector-connection';

interface HeapBuffers {
  heapStatisticsBuffer: Float64Array;
  updateHeapStatisticsBuffer(): void;
  kUsedHeapSizeIndex: number;
  kExternalMemoryIndex: number;
}

interface GcStatistics {
  statistics: Array<{
    beforeGC: { heapStatistics: { usedHeapSize: number } };
    afterGC: { heapStatistics: { usedHeapSize: number } };
  }>;
}

interface GcProfilerLike {
  start(): void;
  stop(): GcStatistics | undefined;
}

export interface RecorderOptions {
  /** Full GC every this many recorded hits (0: never). */
  gcEvery: number;
  /** Calibration samples taken per location before its calibration breakpoint is removed. */
  calibrationSamples: number;
}

export interface RecorderStats {
  hits: number;
  calibrationHits: number;
  calibratedLocations: number;
  forcedGcs: number;
  userGcs: number;
  /** Median, over calibrated locations, of the per-hit footprint removed (bytes). */
  medianOverheadBytes: number;
  /** Per-hit cost outside the condition, measured at start (bytes). */
  breakCostBytes?: number;
}

interface PendingHit {
  id: number;
  depth: number;
  raw: number;
  rawExternal: number;
  used: number;
  freed: number;
  gcs: number;
}

const depthOfFrames = (_error: Error, frames: NodeJS.CallSite[]): number => frames.length;

/** Stack depth of the caller, counted with V8's structured stack trace; user settings are restored untouched. */
function stackDepth(): number {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = Infinity;
  Error.prepareStackTrace = depthOfFrames;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder);
  const depth = holder.stack as number;
  Error.stackTraceLimit = limit;
  Error.prepareStackTrace = prepare;
  return depth;
}

/** A `gc()` function without requiring the target to have been started with --expose-gc. */
function obtainGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  v8.setFlagsFromString('--expose-gc');
  const gc = runInContext('gc', createContext()) as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  return gc;
}

export class Recorder {
  private readonly buffers: HeapBuffers;
  private readonly stats: Float64Array;
  private readonly used: number;
  private readonly external: number;
  private readonly gcProfiler: GcProfilerLike;
  private readonly gc: () => void;
  /** Calibration samples per location id, and the estimate (median) once there is one. */
  private readonly samples: number[][] = [];
  private readonly estimates: number[] = [];
  private readonly calibrating = new Set<number>();
  private fallbackEstimate = 0;
  /** Bytes a hit costs outside its condition (measureBreakCost). */
  private breakCost = 0;
  private probe: Set<number> | undefined;
  private probeResiduals: number[] = [];
  private lastCommitted = -1;
  private pending: PendingHit | undefined;
  private lastEnd = 0;
  private lastExternalEnd = 0;
  private lastId = -1;
  private lastWasCalibration = false;
  private heap = 0;
  private freed = 0;
  private gcs = 0;
  private externalClock = 0;
  /** lineprof's own garbage since the last GC, removed from the Mem usage column. */
  private ownGarbage = 0;
  private hitsSinceGc = 0;
  private collectedInThisHit = false;
  readonly counters: RecorderStats = {
    hits: 0,
    calibrationHits: 0,
    calibratedLocations: 0,
    forcedGcs: 0,
    userGcs: 0,
    medianOverheadBytes: 0,
  };

  constructor(
    private readonly attributor: Attributor,
    private readonly options: RecorderOptions,
    /** Called (inside a condition) when a location has enough samples: remove its calibration breakpoint. */
    private readonly onCalibrated: (id: number) => void,
  ) {
    this.buffers = loadBinding<HeapBuffers>('v8');
    this.stats = this.buffers.heapStatisticsBuffer;
    this.used = this.buffers.kUsedHeapSizeIndex;
    this.external = this.buffers.kExternalMemoryIndex;
    this.gcProfiler = new (v8 as unknown as { GCProfiler: new () => GcProfilerLike }).GCProfiler();
    this.gc = obtainGc();
    this.gcProfiler.start();
    this.markEnd();
  }

  /** A location about to get a calibration breakpoint. */
  expectCalibration(id: number): void {
    this.calibrating.add(id);
  }

  /** The breakpoint condition's entry point. Never throws; always returns false so the target never pauses. */
  hit(id: number, calibration: number): boolean {
    const start = this.readUsed();
    const startExternal = this.stats[this.external]!;
    try {
      if (calibration === 1) this.calibrationHit(id, start);
      else this.recordingHit(id, start, startExternal);
    } catch {
      // A failure here must not change the program; the hit is lost (it shows in no figure).
    }
    this.lastId = id;
    this.lastWasCalibration = calibration === 1;
    this.markEnd();
    if (this.collectedInThisHit) this.collectedInThisHit = false;
    else this.ownGarbage += this.lastEnd - start;
    return false;
  }

  /** A reading outside any breakpoint (end of profiling), for closing open calls. */
  readNow(): Reading {
    const used = this.readUsed();
    const gcs = this.takeGcs();
    this.heap += used - this.lastEnd;
    this.externalClock += this.stats[this.external]! - this.lastExternalEnd;
    const reading = this.reading(used, gcs.freed, gcs.count);
    this.markEnd();
    return reading;
  }

  /** Bytes the agent allocates outside the recorder (setting breakpoints on a new script) must not count either. */
  exclude<T>(work: () => T): T {
    const before = this.readUsed();
    try {
      return work();
    } finally {
      const after = this.readUsed();
      this.lastEnd += after - before;
      this.ownGarbage += after - before;
    }
  }

  private recordingHit(id: number, used: number, external: number): void {
    this.counters.hits++;
    const gcs = this.takeGcs();
    const hit: PendingHit = {
      id,
      depth: stackDepth(),
      raw: used - this.lastEnd,
      rawExternal: external - this.lastExternalEnd,
      used,
      freed: gcs.freed,
      gcs: gcs.count,
    };
    if (this.estimates[id] === undefined && this.calibrating.has(id)) {
      // First hit of this location: its calibration sample comes right after, in this same hit.
      this.pending = hit;
    } else {
      this.commit(hit, this.estimates[id] ?? this.fallbackEstimate);
    }
    if (this.options.gcEvery > 0 && ++this.hitsSinceGc >= this.options.gcEvery) this.forceGc();
  }

  private calibrationHit(id: number, used: number): void {
    this.counters.calibrationHits++;
    if (this.lastId === id && !this.lastWasCalibration) {
      const samples = (this.samples[id] ??= []);
      samples.push(used - this.lastEnd);
      const sorted = [...samples].sort((a, b) => a - b);
      this.estimates[id] = sorted[(sorted.length - 1) >> 1]!;
      this.fallbackEstimate = this.estimates[id]!;
      if (samples.length >= this.options.calibrationSamples && this.calibrating.delete(id)) {
        this.counters.calibratedLocations++;
        this.onCalibrated(id);
      }
    }
    const pending = this.pending;
    if (pending && pending.id === id) {
      this.pending = undefined;
      this.commit(pending, this.estimates[id] ?? this.fallbackEstimate);
    }
  }

  /** Raw hits for investigation (LINEPROF_TRACE): id, raw bytes, overhead removed, depth. */
  readonly trace: number[] | undefined = process.env.LINEPROF_TRACE ? [] : undefined;

  private commit(hit: PendingHit, conditionCost: number): void {
    const overhead = conditionCost + this.breakCost;
    this.trace?.push(hit.id, hit.raw, overhead, hit.depth, hit.gcs);
    // A GC in the interval also freed lineprof's own garbage (already excluded from the figures): count it back so
    // that only the program's garbage makes the net figure smaller.
    const ownReclaimed = hit.gcs > 0 ? Math.min(this.ownGarbage, hit.freed) : 0;
    this.heap += hit.raw - overhead + ownReclaimed;
    this.freed += hit.freed - ownReclaimed;
    this.gcs += hit.gcs;
    this.externalClock += hit.rawExternal;
    if (hit.gcs > 0) this.ownGarbage = 0;
    this.ownGarbage += overhead;
    const previous = this.lastCommitted;
    this.lastCommitted = hit.id;
    if (this.probe) {
      if (this.probe.has(hit.id) && this.probe.has(previous)) this.probeResiduals.push(hit.raw - conditionCost);
      return;
    }
    this.attributor.hit(hit.id, hit.depth, this.reading(hit.used, 0, 0));
  }

  /**
   * Measures what one breakpoint hit costs beyond its condition (V8's own bookkeeping on entering and leaving the
   * break, ~24 B on Node 20 x64), which a calibration pair at one location cannot see: `run` executes a function
   * whose probed locations allocate nothing, so what remains of their intervals is that cost. The hits go to no
   * figure.
   */
  measureBreakCost(probe: Set<number>, run: () => void): number {
    this.probe = probe;
    this.probeResiduals = [];
    try {
      run();
    } finally {
      this.probe = undefined;
      this.counters.hits = 0;
      this.counters.calibrationHits = 0;
      this.counters.calibratedLocations = 0;
    }
    const settled = this.probeResiduals.slice(this.probeResiduals.length >> 1);
    const counts = new Map<number, number>();
    for (const r of settled) counts.set(r, (counts.get(r) ?? 0) + 1);
    let best = 0;
    let bestCount = 0;
    for (const [value, count] of counts) if (count > bestCount) [best, bestCount] = [value, count];
    this.breakCost = best;
    return best;
  }

  private reading(used: number, extraFreed: number, extraGcs: number): Reading {
    this.freed += extraFreed;
    this.gcs += extraGcs;
    return {
      heap: this.heap,
      freed: this.freed,
      gcs: this.gcs,
      external: this.externalClock,
      heapInUse: used - this.ownGarbage,
    };
  }

  /** Garbage collections that ran since the last reading (in user code), and what they freed. */
  private takeGcs(): { freed: number; count: number } {
    const result = this.gcProfiler.stop();
    this.gcProfiler.start();
    let freed = 0;
    const list = result?.statistics ?? [];
    for (const s of list) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    if (list.length > 0) this.counters.userGcs += list.length;
    return { freed, count: list.length };
  }

  private forceGc(): void {
    this.hitsSinceGc = 0;
    this.counters.forcedGcs++;
    this.gc();
    this.gcProfiler.stop();
    this.gcProfiler.start();
    this.ownGarbage = 0;
    this.collectedInThisHit = true;
  }

  finishStats(): RecorderStats {
    const estimates = this.estimates.filter((e) => e !== undefined).sort((a, b) => a - b);
    this.counters.medianOverheadBytes = estimates.length > 0 ? estimates[(estimates.length - 1) >> 1]! : 0;
    return { ...this.counters, breakCostBytes: this.breakCost };
  }

  private readUsed(): number {
    this.buffers.updateHeapStatisticsBuffer();
    return this.stats[this.used]!;
  }

  private markEnd(): void {
    this.buffers.updateHeapStatisticsBuffer();
    this.lastEnd = this.stats[this.used]!;
    this.lastExternalEnd = this.stats[this.external]!;
  }
}
