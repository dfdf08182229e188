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
import { clockBinding, heapBinding } from './heap-reader';
import { HeapTimeline } from './timeline';
import type { HeapBinding } from './heap-reader';
import type { RecorderStats } from '../wire/agent-report';

interface GcHeapState {
  heapStatistics: { usedHeapSize: number };
  heapSpaceStatistics?: Array<{ spaceName: string; spaceUsedSize: number }>;
}

interface GcStatistics {
  /** `cost`: the collection's own time, µs. */
  statistics: Array<{ cost?: number; beforeGC: GcHeapState; afterGC: GcHeapState }>;
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


interface PendingHit {
  id: number;
  depth: number;
  raw: number;
  rawExternal: number;
  used: number;
  freed: number;
  gcs: number;
}

/**
 * From old-space refills seen at evaluation counts e1 < e2 < … with sizes L1, L2, …: between refill k and k+1 the
 * evaluations consumed the buffer taken at refill k, so the rate is ΣL(1..m-1) / (e_m - e_1).
 */
function perEvaluation(refills: Array<[number, number]>): number {
  if (refills.length < 2) return 0;
  let bytes = 0;
  for (let k = 0; k < refills.length - 1; k++) bytes += refills[k]![1];
  return bytes / (refills[refills.length - 1]![0] - refills[0]![0]);
}

const NO_GC = { freed: 0, count: 0 };
/** What a sound break-cost measurement gives on Node 20 x64 (24 B; 16 B more while calibrating), and its bounds. */
const BREAK_COST_RANGE = [-16, 256] as const;
const TYPICAL_BREAK_COST = 24;
const TYPICAL_CALIBRATING_COST = 16;
const OLD_SPACE_MARGIN = 1.1;
/** Half the shortest collection seen here (a scavenge of a nearly empty young generation, ~40 µs). */
const LONG_INTERVAL_MARGIN_NS = 20_000;
/** The largest old-space allocation buffer V8 takes: a page's allocatable area (256 KiB pages). */
const OLD_SPACE_BUFFER = 256 * 1024;
/**
 * From V8 12 old space is accounted object by object, but the compiler threads take buffers there (as in code and
 * trusted space) and give back what they did not use when their job ends: seen on Node 24, +11,736 to +198,040 B
 * between two readings with no program code between them, the same amount gone at a later reading. No condition
 * evaluation takes this much (0.5-2.5 KB).
 */
const OLD_SPACE_JUMP = 8 * 1024;
/** A calibration sample this far above the last estimate, or below zero, is not a condition's cost (see calibrationHit). */
const CALIBRATION_OUTLIER = 32 * 1024;
const END_USED = 0;
const END_EXTERNAL = 1;
const END_OLD = 2;

/**
 * The value most residuals share. Locations can differ by a word or so (two modes ~32 B apart happen): of the values
 * nearly as frequent as the most frequent one, the smallest is the cost every location shares.
 */
function commonValue(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = Math.max(0, ...counts.values());
  const leading = [...counts].filter(([, count]) => count >= top * 0.8).map(([value]) => value);
  return leading.length > 0 ? Math.min(...leading) : 0;
}

/**
 * At these hit counts of a location, then every 8192 hits, its calibration breakpoint comes back for two hits. The
 * cost drifts most early on; each window's hits cost a little more in a way calibration cannot see (up to ~400 B),
 * so windows are few.
 */
const RECALIBRATE_AT = new Set([16, 256, 2048]);
const RECALIBRATION_SAMPLES = 2;

function recalibrateAt(hits: number): boolean {
  return RECALIBRATE_AT.has(hits) || hits % 8192 === 0;
}

const depthOfFrames = (_error: Error, frames: NodeJS.CallSite[]): number => frames.length;

/** With a frozen Error: the depth of the formatted stack, which stops at the program's Error.stackTraceLimit. */
function cappedStackDepth(): number {
  return (new Error().stack ?? '').split('\n').length;
}

/**
 * Stack depth of the caller, counted with V8's structured stack trace; the program's settings are restored
 * untouched. Throws if the program froze Error (Object.freeze, SES, --frozen-intrinsics).
 */
export function stackDepth(): number {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    Error.stackTraceLimit = Infinity;
    Error.prepareStackTrace = depthOfFrames;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder);
    return holder.stack as number;
  } finally {
    if (Error.stackTraceLimit !== limit) Error.stackTraceLimit = limit;
    if (Error.prepareStackTrace !== prepare) Error.prepareStackTrace = prepare;
  }
}

/** A `gc()` function without requiring the target to have been started with --expose-gc. */
export function obtainGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  v8.setFlagsFromString('--expose-gc');
  const gc = runInContext('gc', createContext()) as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  return gc;
}

export class Recorder {
  private readonly buffers: HeapBinding;
  private readonly stats: Float64Array;
  private readonly used: number;
  private readonly external: number;
  private readonly gcProfiler: GcProfilerLike;
  private readonly gc: () => void;
  /** Calibration samples of the current window per location id, and the estimate (their median). */
  private readonly samples: number[][] = [];
  private readonly estimates: number[] = [];
  private readonly calibrating = new Set<number>();
  /** Recording hits per location. */
  private readonly locationHits: number[] = [];
  private fallbackEstimate = 0;
  /** Bytes a hit costs outside its condition (measureBreakCost). */
  private breakCost = 0;
  private probe: Set<number> | undefined;
  private probeResiduals: number[] = [];
  private probeCalibratingResiduals: number[] = [];
  /** Extra bytes a hit costs while its location also has a calibration breakpoint (measureBreakCost). */
  private calibratingCost = 0;
  private lastCommitted = -1;
  private readonly oldSpace: number;
  /** Code space and, from Node 22 (V8 12), trusted space (bytecode, compiled conditions' metadata): see jitCode. */
  private readonly compiledSpaces: number[];
  private readonly compiledEnd: Float64Array;
  /**
   * Whether old space is accounted by ~256 KB allocation buffer (Node 20, V8 11) and lineprof's share of each buffer
   * must be absorbed (absorbOwnOldSpace), or object by object (V8 12 on: it grows ~0.5–2.5 KB at every condition
   * evaluation), in which case calibration sees lineprof's old space like the rest of a condition's cost.
   */
  private readonly oldSpaceByBuffer = Number(process.versions.v8.split('.')[0]) < 12;
  /**
   * V8 12 on: the heap in use is read as the sum of the spaces that hold the program's objects, without code and
   * trusted space. The compiler threads take and give back buffers there at any moment, even between two reads of
   * one hit (seen on Node 24: code +98,336 B then -97,056 B, trusted +188,952 B then -187,088 B, in consecutive
   * intervals), so the total used size minus their change, read a moment apart, was off by tens of KB at times.
   */
  private readonly programSpaces: number[] | undefined;
  /**
   * Node 26 (V8 14): what a condition costs after the recorder has returned grows with the let/const bindings not
   * yet initialised where it was evaluated, ~760 B each (measured: a location's calibrated cost fell 7,496, 6,536,
   * 5,776, 5,016, 4,256, 3,496, 2,736 B down a function of six const lines; before the recorder, the cost was the
   * same at each). An interval holds the end of the condition where it starts and the beginning of the one where it
   * ends, so it is charged the calibrated cost of the location where it starts: charged the cost of where it ends,
   * as on Node 20-24 (where the difference is a few dozen bytes, and that way is measured), every line that
   * initialises a const came out ~760 B high.
   */
  private readonly costFromStart = Number(process.versions.v8.split('.')[0]) >= 14;
  /** new, new large-object and large-object space: with old space, what a GC makes smaller. */
  private readonly watchedSpaces: number[];
  /** programSpaces' names, to count a GC profiler's figures the same way. */
  private readonly programSpaceNames: Set<string> | undefined;
  private readonly watchedEnd: Float64Array;
  /** The same spaces at the start of the hit being recorded: one smaller at its end had a collection in between. */
  private readonly watchedStart: Float64Array;
  /** Scratch: the watched spaces right before and right after a set of readings (a collection in between shows). */
  private readonly watchedBefore: Float64Array;
  private readonly watchedAfter: Float64Array;
  private gcSuspected = false;
  /** The length of the interval being closed (ns, read long). */
  private intervalNs = 0;
  private readonly clock = clockBinding();
  /** When the last closing reading was taken: seconds (low 32 bits), nanoseconds. */
  private readonly endTime = new Float64Array(2);
  /** Intervals longer than this are checked for collections: an empty interval's length, measured at start, + 20 µs. */
  private longIntervalNs = 80_000;
  private probeElapsed: number[] = [];
  /** Old-space bytes lineprof's condition evaluations have taken that the used size has not shown yet. */
  private oldDebt = 0;
  /** Old-space bytes one condition evaluation takes (measured at start). */
  private oldPerEvaluation = 0;
  /** V8 12 on: old-space buffer jumps taken out of intervals and not yet given back (absorbOldSpaceJump). */
  private oldHeld = 0;
  private evaluations = 0;
  private probeRefills: Array<[number, number]> = [];
  private pending: PendingHit | undefined;
  /** The closing reading of the last call: used heap, external memory, old space (see markEnd). */
  private readonly ends = new Float64Array(3);
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
  /** Why the first lost hit was lost. */
  firstFailure: string | undefined;
  /** False once the program froze Error: depths are then counted to its stack trace limit only. */
  depthExact = true;
  /** The deepest stack a hit measured. */
  maxDepth = 0;
  readonly counters: RecorderStats = {
    lostHits: 0,
    jitCodeBytes: 0,
    hits: 0,
    calibrationHits: 0,
    calibratedLocations: 0,
    forcedGcs: 0,
    userGcs: 0,
    ownGcs: 0,
    medianOverheadBytes: 0,
  };

  constructor(
    private readonly attributor: Attributor,
    private readonly options: RecorderOptions,
    /** Called (inside a condition) when a location has enough samples: remove its calibration breakpoint. */
    private readonly onCalibrated: (id: number) => void,
    /** Called (inside a condition) to put a location's calibration breakpoint back; false if it cannot. */
    private readonly rearm: (id: number) => boolean,
  ) {
    this.buffers = heapBinding();
    this.stats = this.buffers.heapStatisticsBuffer;
    this.used = this.buffers.kUsedHeapSizeIndex;
    this.external = this.buffers.kExternalMemoryIndex;
    const spaces = v8.getHeapSpaceStatistics().map((space) => space.space_name);
    this.oldSpace = spaces.indexOf('old_space');
    this.compiledSpaces = ['code_space', 'trusted_space', 'trusted_large_object_space']
      .map((name) => spaces.indexOf(name))
      .filter((index) => index >= 0);
    this.compiledEnd = new Float64Array(this.compiledSpaces.length);
    const notProgram = new Set(['read_only_space', 'code_space', 'code_large_object_space']);
    this.programSpaces = this.oldSpaceByBuffer
      ? undefined
      : spaces.flatMap((name, index) => (notProgram.has(name) || name.includes('trusted') ? [] : [index]));
    this.programSpaceNames = this.programSpaces && new Set(this.programSpaces.map((index) => spaces[index]!));
    this.watchedSpaces = ['new_space', 'new_large_object_space', 'large_object_space']
      .map((name) => spaces.indexOf(name))
      .filter((index) => index >= 0);
    this.watchedEnd = new Float64Array(this.watchedSpaces.length);
    this.watchedStart = new Float64Array(this.watchedSpaces.length);
    this.watchedBefore = new Float64Array(this.watchedSpaces.length);
    this.watchedAfter = new Float64Array(this.watchedSpaces.length);
    this.gcProfiler = new (v8 as unknown as { GCProfiler: new () => GcProfilerLike }).GCProfiler();
    this.gc = obtainGc();
    this.gcProfiler.start();
    this.markEnd();
  }

  /** A location about to get a calibration breakpoint. */
  expectCalibration(id: number): void {
    this.calibrating.add(id);
  }

  /**
   * True while a hit is being recorded: a stop request that the inspector runs at an interrupt (the lifeline worker)
   * must not read the figures half-way through one.
   */
  inHit = false;

  /** The breakpoint condition's entry point. Never throws; always returns false so the target never pauses. */
  hit(id: number, calibration: number): boolean {
    this.inHit = true;
    try {
      return this.record(id, calibration);
    } finally {
      this.inHit = false;
    }
  }

  private record(id: number, calibration: number): boolean {
    // V8 may collect at any call in lineprof's own code (a collection it has scheduled runs at an interrupt check),
    // even between two readings: the opening readings are taken again until no watched space shrank while they
    // were read, so that they are of one moment.
    let start: number;
    let startExternal: number;
    let oldStart: number;
    let shrank: boolean;
    do {
      this.readWatched(this.watchedBefore);
      start = this.readUsed();
      startExternal = this.stats[this.external]!;
      oldStart = this.readOldSpace();
      shrank = this.spacesShrank(oldStart);
    } while (this.smallerThan(this.watchedStart, this.watchedBefore));
    const jit = this.jitCode();
    const elapsed = this.elapsedNs();
    this.intervalNs = elapsed;
    if (this.probe) this.probeElapsed.push(elapsed);
    // A collection shrinks some space, or makes the interval long: one that allocated more than it freed in every
    // space (a call churning through many young generations) is seen by its length (no collection is shorter than
    // ~40 µs here; an interval without one lasts about the hit's own cost).
    this.gcSuspected = shrank || elapsed > this.longIntervalNs;
    try {
      const ownOld = this.absorbOwnOldSpace(oldStart);
      if (calibration === 1) {
        // Between a recording condition and its calibration twin only V8's and lineprof's work runs: a collection
        // there is in no line (its drop is in the sample, which the median or the outlier check leaves out). Left in
        // the GC profiler, what it freed went to the next line that read it (seen: +8 MB, a young generation's
        // worth, on Node 24).
        if (this.gcSuspected) this.discardOwnWorkGcs();
        this.calibrationHit(id, start - ownOld - jit);
      }
      else this.recordingHit(id, start - ownOld - jit, startExternal);
    } catch (err) {
      // A failure here must not change the program; the hit is lost, and the report says so.
      this.counters.lostHits++;
      this.firstFailure ??= String((err as Error)?.message ?? err);
    }
    this.lastId = id;
    this.lastWasCalibration = calibration === 1;
    const forced = this.collectedInThisHit;
    this.collectedInThisHit = false;
    if (!forced) this.ownGarbage = Math.max(0, this.ownGarbage + this.readUsed() - start);
    // Nothing may run after the closing reading: whatever allocated there would land in the next interval. A
    // collection since the opening readings is lineprof's own: markEnd drops it before it reads.
    this.markEnd(forced ? undefined : this.watchedStart);
    return false;
  }

  /** A reading outside any breakpoint (end of profiling), for closing open calls. */
  readNow(): Reading {
    const used = this.readUsed();
    this.intervalNs = this.elapsedNs();
    this.spacesShrank(this.readOldSpace()); // the watched spaces' sizes at this reading
    const gcs = this.takeGcs(true);
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
      this.ends[END_USED] += after - before;
      this.ownGarbage += after - before;
    }
  }

  private recordingHit(id: number, used: number, external: number): void {
    this.counters.hits++;
    const gcs = this.takeGcs();
    const hit: PendingHit = {
      id,
      depth: this.attributor.continuingDepth(id) ?? this.measuredDepth(),
      raw: used - this.lastEnd,
      rawExternal: external - this.lastExternalEnd,
      used,
      freed: gcs.freed,
      gcs: gcs.count,
    };
    const opener = this.lastId;
    if (this.costFromStart && opener >= 0 && this.estimates[opener] !== undefined) {
      this.commit(hit, this.estimates[opener]!);
    } else if (this.estimates[id] === undefined && this.calibrating.has(id)) {
      // First hit of this location: its calibration sample comes right after, in this same hit.
      this.pending = hit;
    } else {
      this.commit(hit, this.estimates[id] ?? this.fallbackEstimate);
    }
    // The cost of a condition drifts by up to ~150 B over the first hundreds and thousands of hits: take fresh
    // samples now and then. The breakpoint set now is evaluated from this location's next hit on.
    const hits = (this.locationHits[id] = (this.locationHits[id] ?? 0) + 1);
    if (recalibrateAt(hits) && !this.calibrating.has(id) && this.rearm(id)) {
      this.calibrating.add(id);
      this.samples[id] = [];
    }
    if (this.options.gcEvery > 0 && ++this.hitsSinceGc >= this.options.gcEvery) this.forceGc();
  }

  private calibrationHit(id: number, used: number): void {
    this.counters.calibrationHits++;
    if (this.lastId === id && !this.lastWasCalibration) {
      // The estimate is the median of the current window's samples only (older ones describe an earlier regime);
      // the median keeps one taken across a buffer refill or a GC from counting.
      const samples = (this.samples[id] ??= []);
      const sample = used - this.lastEnd;
      // Between the two conditions only V8's own work runs: a sample below zero or tens of KB above the last
      // estimate caught a step in V8's accounting (seen on Node 24: -129,856 B, with old and new space both
      // growing), not a condition's cost, and would be taken off the location's every interval. It is not kept.
      const outlier = !this.oldSpaceByBuffer && (sample < 0 || sample > this.fallbackEstimate + CALIBRATION_OUTLIER);
      if (!outlier) samples.push(sample);
      const sorted = [...samples].sort((a, b) => a - b);
      if (sorted.length > 0) {
        this.estimates[id] = sorted[(sorted.length - 1) >> 1]!;
        this.fallbackEstimate = this.estimates[id]!;
      }
      const first = !this.locationHits[id] || this.locationHits[id]! <= this.options.calibrationSamples;
      const wanted = first ? this.options.calibrationSamples : RECALIBRATION_SAMPLES;
      if (samples.length >= wanted && this.calibrating.delete(id)) {
        if (first) this.counters.calibratedLocations++;
        this.onCalibrated(id);
      }
    }
    const pending = this.pending;
    if (pending && pending.id === id) {
      this.pending = undefined;
      this.commit(pending, this.estimates[id] ?? this.fallbackEstimate);
    }
  }

  /**
   * Raw hits for investigating exactness (LINEPROF_TRACE=1): id, raw bytes, overhead removed, depth, GCs, for the
   * first 200,000 hits. Preallocated, so that keeping it changes nothing it observes.
   */
  private readonly traceBuffer: number[] | undefined = process.env.LINEPROF_TRACE ? new Array<number>(5 * (Number(process.env.LINEPROF_TRACE_HITS) || 200_000)).fill(0.5) : undefined;
  private traceLength = 0;

  get trace(): number[] | undefined {
    return this.traceBuffer?.slice(0, this.traceLength);
  }

  private commit(hit: PendingHit, conditionCost: number): void {
    // While its calibration breakpoint is in place, a location's hit costs a little more (V8 lists the hit
    // breakpoints in a new array when a location has several).
    const calibrating = this.calibrating.has(hit.id);
    const overhead = conditionCost + this.breakCost + (calibrating ? this.calibratingCost : 0);
    const trace = this.traceBuffer;
    if (trace && this.traceLength + 5 <= trace.length) {
      trace[this.traceLength++] = hit.id;
      trace[this.traceLength++] = hit.raw;
      trace[this.traceLength++] = overhead;
      trace[this.traceLength++] = hit.depth;
      trace[this.traceLength++] = hit.gcs;
    }
    // A GC in the interval also freed lineprof's own garbage (already excluded from the figures): count it back so
    // that only the program's garbage makes the net figure smaller.
    const ownReclaimed = hit.gcs > 0 ? Math.min(this.ownGarbage, hit.freed) : 0;
    this.heap += hit.raw - overhead + ownReclaimed;
    this.freed += hit.freed - ownReclaimed;
    this.gcs += hit.gcs;
    this.externalClock += hit.rawExternal;
    if (hit.gcs > 0) {
      this.ownGarbage = 0;
      this.oldDebt = 0;
      this.oldHeld = 0;
    }
    this.ownGarbage += overhead;
    const previous = this.lastCommitted;
    this.lastCommitted = hit.id;
    if (this.probe) {
      if (this.probe.has(hit.id) && this.probe.has(previous)) {
        (calibrating ? this.probeCalibratingResiduals : this.probeResiduals).push(hit.raw - conditionCost);
      }
      return;
    }
    const reading = this.reading(hit.used, 0, 0);
    this.attributor.hit(hit.id, hit.depth, reading);
    this.timeline.add(reading.heapInUse);
  }

  readonly timeline = new HeapTimeline();

  /**
   * Measures what one breakpoint hit costs beyond its condition (V8's own bookkeeping on entering and leaving the
   * break, ~24 B on Node 20 x64), which a calibration pair at one location cannot see: `run` executes a function
   * whose probed locations allocate nothing, so what remains of their intervals is that cost. The hits go to no
   * figure.
   */
  measureBreakCost(probe: Set<number>, run: () => void): number {
    this.probe = probe;
    this.probeResiduals = [];
    this.probeCalibratingResiduals = [];
    this.probeRefills = [];
    this.probeElapsed = [];
    // The first full GC lowers the cost of later hits by ~60-100 B (V8 settles its structures for the compiled
    // conditions); measuring and calibrating after one keeps every estimate in the regime the program will run in.
    this.forceGc();
    try {
      // Enough evaluations to see the old-space buffer refilled a few times (each holds ~250 evaluations or more).
      for (let round = 0; round < 12 && this.probeRefills.length < 4; round++) run();
      // A few refills give the rate to a few per cent; erring high only lets the debt absorb a little program old
      // space, erring low leaves lineprof bytes in every line.
      this.oldPerEvaluation = Math.round(perEvaluation(this.probeRefills) * OLD_SPACE_MARGIN);
    } finally {
      this.probe = undefined;
      this.counters.hits = 0;
      this.counters.calibrationHits = 0;
      this.counters.calibratedLocations = 0;
      this.counters.forcedGcs = 0;
      this.forceGc();
      this.counters.forcedGcs = 0;
      this.markEnd();
    }
    const sorted = this.probeElapsed.slice(this.probeElapsed.length >> 1).sort((a, b) => a - b);
    if (sorted.length > 0) this.longIntervalNs = sorted[sorted.length >> 1]! + LONG_INTERVAL_MARGIN_NS;
    this.breakCost = commonValue(this.probeResiduals.slice(this.probeResiduals.length >> 1));
    this.calibratingCost = commonValue(this.probeCalibratingResiduals) - this.breakCost;
    return this.breakCost;
  }

  /**
   * The break cost is a few dozen bytes; now and then the probe's own calibration lands in an odd state and the
   * measurement comes out hundreds of bytes off (seen: -664 B), which would then be added to every hit of the
   * program. Such a measurement is taken again, with the probe's locations calibrated afresh; after three tries
   * lineprof uses the typical value and says so.
   */
  measureBreakCostChecked(probe: Set<number>, run: () => void): { breakCost: number; trusted: boolean } {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cost = this.measureBreakCost(probe, run);
      if (cost >= BREAK_COST_RANGE[0] && cost <= BREAK_COST_RANGE[1]) return { breakCost: cost, trusted: true };
      for (const id of probe) {
        if (!this.calibrating.has(id) && this.rearm(id)) this.calibrating.add(id);
        this.samples[id] = [];
      }
    }
    this.breakCost = TYPICAL_BREAK_COST;
    this.calibratingCost = TYPICAL_CALIBRATING_COST;
    return { breakCost: this.breakCost, trusted: false };
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

  /**
   * Garbage collections that ran since the last reading (in user code), and what they freed. Stopping the GC
   * profiler costs ~25 µs, so it is only read when a space shrank, which no allocation can cause: a GC missed that
   * way (one whose interval allocated more than it freed in every space) is counted at the next one.
   */
  private takeGcs(force = false): { freed: number; count: number } {
    if (!force && !this.gcSuspected) return NO_GC;
    // A collection since this hit's opening readings ran in lineprof's own work, and is the last in the list (one
    // that reading the profiler sets off lands in no list: the figures are copied first).
    const ownLast = this.shrankSinceStart();
    const result = this.gcProfiler.stop();
    this.gcProfiler.start();
    let freed = 0;
    const list = result?.statistics ?? [];
    if (list.length > 0 && ownLast) {
      list.pop();
      this.countOwnGcs(1);
    }
    // The profiler holds every collection since it was last read, and some may have run in lineprof's own time,
    // unseen there (seen on Node 22-26: a young generation's 8 MB freed, in an interval whose heap did not drop). The
    // interval lasted `intervalNs` (read long): collections that take longer together cannot all have run in it; the
    // earliest are lineprof's.
    let cost = 0;
    for (const s of list) cost += (s.cost ?? 0) * 1000;
    while (list.length > 0 && cost > this.intervalNs) {
      cost -= (list.shift()!.cost ?? 0) * 1000;
      this.countOwnGcs(1);
    }
    for (const s of list) freed += this.usedByProgram(s.beforeGC) - this.usedByProgram(s.afterGC);
    if (list.length > 0) this.counters.userGcs += list.length;
    return { freed, count: list.length };
  }

  /**
   * A collection ran inside the recorder's own work (a watched space shrank between the hit's readings): it belongs
   * to no interval. Left in the GC profiler, what it freed (megabytes of conditions' garbage) would be added to the
   * Allocated of the next line that reads the profiler (seen on attach: +2 to +3.6 KB a call of a 80 B line).
   */
  private discardOwnWorkGcs(): void {
    const list = this.gcProfiler.stop()?.statistics ?? [];
    this.gcProfiler.start();
    this.countOwnGcs(list.length);
  }

  /** Collections in lineprof's own work: counted, and, as after one in a line, its garbage and buffers are gone. */
  private countOwnGcs(count: number): void {
    if (count === 0) return;
    this.counters.ownGcs = (this.counters.ownGcs ?? 0) + count;
    this.ownGarbage = 0;
    this.oldDebt = 0;
    this.oldHeld = 0;
  }

  /** Whether a watched space is smaller now than at the hit's start (only a collection does that). */
  private shrankSinceStart(): boolean {
    this.readWatched(this.watchedAfter);
    return this.smallerThan(this.watchedAfter, this.watchedStart);
  }

  /**
   * The heap in use in a GC profiler's figures, counted as readUsed counts it. From V8 12 a full collection frees
   * megabytes of the conditions' bytecode in trusted space, which the used size read leaves out: counted as freed,
   * it was added to the Allocated of the line it ran in (seen +8 MB a collection on Node 22-26).
   */
  private usedByProgram(state: GcHeapState): number {
    const names = this.programSpaceNames;
    if (!names || !state.heapSpaceStatistics) return state.heapStatistics.usedHeapSize;
    let used = 0;
    for (const space of state.heapSpaceStatistics) if (names.has(space.spaceName)) used += space.spaceUsedSize;
    return used;
  }

  private forceGc(): void {
    this.hitsSinceGc = 0;
    this.counters.forcedGcs++;
    this.gc();
    this.gcProfiler.stop();
    this.gcProfiler.start();
    this.ownGarbage = 0;
    this.oldDebt = 0;
    this.oldHeld = 0;
    this.collectedInThisHit = true;
  }

  finishStats(): RecorderStats {
    const estimates = this.estimates.filter((e) => e !== undefined).sort((a, b) => a - b);
    this.counters.medianOverheadBytes = estimates.length > 0 ? estimates[(estimates.length - 1) >> 1]! : 0;
    return {
      ...this.counters,
      breakCostBytes: this.breakCost,
      calibratingCostBytes: this.calibratingCost,
      oldSpacePerEvaluationBytes: this.oldPerEvaluation,
    };
  }

  /**
   * Old space is accounted by allocation buffer: its used size grows by a whole free-list block (up to a 256 KB page)
   * when V8 takes a new buffer, not object by object. Compiling each breakpoint condition puts ~1 KB in old space
   * (script, function info, bytecode), so those jumps are mostly lineprof's own: they are absorbed against a debt
   * that grows by the measured old-space cost of each evaluation and is cleared by any GC (which releases the
   * buffers and makes the figure exact again). A buffer is counted when taken, before it is filled, so the debt may
   * run one buffer ahead. Old-space growth beyond that is the program's.
   */
  private absorbOwnOldSpace(oldNow: number): number {
    if (!this.oldSpaceByBuffer) return this.absorbOldSpaceJump(oldNow);
    this.evaluations++;
    this.oldDebt += this.oldPerEvaluation;
    const grew = oldNow - this.lastOldEnd;
    if (this.probe && grew > 0) this.probeRefills.push([this.evaluations, grew]);
    if (grew <= 0) return 0;
    // A buffer is counted whole when taken, before the evaluations that fill it: the debt may run ahead by one.
    const absorbed = Math.min(grew, Math.max(0, this.oldDebt + OLD_SPACE_BUFFER));
    this.oldDebt -= absorbed;
    return absorbed;
  }

  /**
   * V8 12 on: old space grows object by object, a condition's share included (calibration measures it with the rest
   * of the condition's cost), so only a jump of a whole buffer is taken out, and given back when the buffer is
   * returned (old space shrinking with no GC). A GC clears what is held.
   */
  private absorbOldSpaceJump(oldNow: number): number {
    const grew = oldNow - this.lastOldEnd;
    if (grew >= OLD_SPACE_JUMP) {
      this.oldHeld += grew;
      return grew;
    }
    if (grew < 0 && this.oldHeld > 0) {
      const back = Math.max(grew, -this.oldHeld);
      this.oldHeld += back;
      return back;
    }
    return 0;
  }

  /** Whether new, old or large-object space is smaller than at the end of the last call (only a GC does that); the
   * watched spaces' sizes are kept in watchedStart. */
  private spacesShrank(oldNow: number): boolean {
    this.readWatched(this.watchedStart);
    return oldNow < this.lastOldEnd || this.smallerThan(this.watchedStart, this.watchedEnd);
  }

  /**
   * Machine code V8's compilers install (optimised code finishing in the background is installed at an interrupt,
   * in the middle of whatever line runs then, tens of KB at a time) is the JIT's, not the line's. On Node 20 its
   * code-space growth is taken out of the interval (a GC can shrink code space; growth only is counted); from Node 22
   * code and trusted space (bytecode, code metadata) are left out of the used size altogether (programSpaces), and
   * their growth is only counted in the stats.
   */
  private jitCode(): number {
    let grown = 0;
    for (let i = 0; i < this.compiledSpaces.length; i++) {
      const changed = this.readSpace(this.compiledSpaces[i]!) - this.compiledEnd[i]!;
      if (changed > 0) grown += changed;
    }
    if (grown > 0) this.counters.jitCodeBytes += grown;
    // V8 12 on, these spaces are not in the used size read at all (programSpaces).
    return this.programSpaces ? 0 : grown;
  }

  private readSpace(space: number): number {
    if (space < 0) return 0;
    this.buffers.updateHeapSpaceStatisticsBuffer(space);
    return this.buffers.heapSpaceStatisticsBuffer[this.buffers.kSpaceUsedSizeIndex]!;
  }

  private readOldSpace(): number {
    this.buffers.updateHeapSpaceStatisticsBuffer(this.oldSpace);
    return this.buffers.heapSpaceStatisticsBuffer[this.buffers.kSpaceUsedSizeIndex]!;
  }

  private measuredDepth(): number {
    const depth = this.stackDepth();
    if (depth > this.maxDepth) this.maxDepth = depth;
    return depth;
  }

  private stackDepth(): number {
    if (this.depthExact) {
      try {
        return stackDepth();
      } catch {
        this.depthExact = false;
      }
    }
    return cappedStackDepth();
  }

  private readUsed(): number {
    this.buffers.updateHeapStatisticsBuffer();
    const spaces = this.programSpaces;
    if (!spaces) return this.stats[this.used]!;
    let used = 0;
    for (let i = 0; i < spaces.length; i++) {
      this.buffers.updateHeapSpaceStatisticsBuffer(spaces[i]!);
      used += this.buffers.heapSpaceStatisticsBuffer[this.buffers.kSpaceUsedSizeIndex]!;
    }
    return used;
  }

  /**
   * The closing readings. Values go into a Float64Array, never into object fields: an unoptimised store of a number
   * into a field can box it on the heap, and that allocation, made after the reading, would be charged to the next
   * interval (it showed as ~96 B per hit until the recorder was optimised). The total comes last.
   *
   * A collection while they are read, or since `since` (the watched spaces when lineprof's work now ending began: a
   * hit's opening readings), is lineprof's own: it is dropped from the GC profiler, and the readings are taken again
   * after it.
   */
  private markEnd(since?: Float64Array): void {
    this.clock.hrtime();
    this.endTime[0] = this.clock.values[1]!;
    this.endTime[1] = this.clock.values[2]!;
    const ends = this.ends;
    let baseline = since;
    for (;;) {
      this.readWatched(this.watchedEnd);
      for (let i = 0; i < this.compiledSpaces.length; i++) this.compiledEnd[i] = this.readSpace(this.compiledSpaces[i]!);
      this.buffers.updateHeapSpaceStatisticsBuffer(this.oldSpace);
      ends[END_OLD] = this.buffers.heapSpaceStatisticsBuffer[this.buffers.kSpaceUsedSizeIndex]!;
      ends[END_USED] = this.readUsed();
      ends[END_EXTERNAL] = this.stats[this.external]!;
      this.readWatched(this.watchedAfter);
      if (!this.smallerThan(this.watchedAfter, baseline ?? this.watchedEnd)) break;
      this.discardOwnWorkGcs();
      baseline = undefined;
    }
  }

  private readWatched(into: Float64Array): void {
    for (let i = 0; i < this.watchedSpaces.length; i++) {
      this.buffers.updateHeapSpaceStatisticsBuffer(this.watchedSpaces[i]!);
      into[i] = this.buffers.heapSpaceStatisticsBuffer[this.buffers.kSpaceUsedSizeIndex]!;
    }
  }

  /** Whether some watched space is smaller in `now` than in `then` (only a collection makes one smaller). */
  private smallerThan(now: Float64Array, then: Float64Array): boolean {
    for (let i = 0; i < now.length; i++) if (now[i]! < then[i]!) return true;
    return false;
  }

  private get lastEnd(): number {
    return this.ends[END_USED]!;
  }

  /** Nanoseconds since the last closing reading (the clock is read before it: the interval errs long). */
  private elapsedNs(): number {
    this.clock.hrtime();
    return (this.clock.values[1]! - this.endTime[0]!) * 1e9 + (this.clock.values[2]! - this.endTime[1]!);
  }

  private get lastExternalEnd(): number {
    return this.ends[END_EXTERNAL]!;
  }

  private get lastOldEnd(): number {
    return this.ends[END_OLD]!;
  }
}
