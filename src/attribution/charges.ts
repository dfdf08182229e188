/**
 * How an interval's figures are charged, shared by both attributions (breakpoints by stack depth, probes by call
 * token): to a line, to a line's suspensions, and a call's totals to its function. Pure.
 */
import type { LineStats } from '../wire/agent-report';

export type { LineStats };

/**
 * One heap reading, with every counter cumulative since the start of profiling so that any two readings can be
 * subtracted, however many other readings came between them.
 */
export interface Reading {
  /** JS heap bytes the program itself has added (lineprof's own footprint removed; GCs by lineprof excluded). */
  heap: number;
  /** Bytes freed by garbage collections that ran while user code ran. heap + freed only grows: it is allocation. */
  freed: number;
  /** Number of such garbage collections. */
  gcs: number;
  /** External (ArrayBuffer/Buffer backing store) bytes, cumulative change. */
  external: number;
  /** The JS heap in use now, lineprof's own garbage removed (for the Mem usage column). */
  heapInUse: number;
}


/** Line figures, zero unless given. */
export function lineStatsOf(figures: Partial<LineStats>): LineStats {
  return {
    occurrences: 0,
    allocatedBytes: 0,
    netBytes: 0,
    externalBytes: 0,
    peakHeapInUse: 0,
    gcIntervals: 0,
    thrownIntervals: 0,
    suspensions: 0,
    suspendedBytes: 0,
    ...figures,
  };
}

export interface FunctionStats {
  calls: number;
  /** Calls still open when the figures were taken (a generator never exhausted, a call in progress). */
  openCalls: number;
  allocatedBytes: number;
  netBytes: number;
  externalBytes: number;
  /** The largest net heap change of one call (the budget `--max-increment` checks); null before any call ended. */
  maxCallNetBytes: number | null;
  lines: Map<number, LineStats>;
}

/** What a call carries from its entry: where it began, and what its suspensions added (kept out of its totals). */
export interface CallFigures {
  openedAt: Reading;
  suspendedHeap: number;
  suspendedFreed: number;
  suspendedExternal: number;
}

export function newFunctionStats(): FunctionStats {
  return { calls: 0, openCalls: 0, allocatedBytes: 0, netBytes: 0, externalBytes: 0, maxCallNetBytes: null, lines: new Map() };
}

/** A line's figures in its function, made on first use. */
export function lineStatsIn(fn: FunctionStats, line: number): LineStats {
  let stats = fn.lines.get(line);
  if (!stats) {
    stats = lineStatsOf({});
    fn.lines.set(line, stats);
  }
  return stats;
}

/** The interval from one reading to another, charged to a line. */
export function chargeInterval(stats: LineStats, from: Reading, to: Reading, thrown: boolean): void {
  const net = to.heap - from.heap;
  stats.netBytes += net;
  stats.allocatedBytes += net + (to.freed - from.freed);
  stats.externalBytes += to.external - from.external;
  if (to.gcs !== from.gcs) stats.gcIntervals++;
  if (thrown) stats.thrownIntervals++;
  if (to.heapInUse > stats.peakHeapInUse) stats.peakHeapInUse = to.heapInUse;
}

/**
 * The interval spans a suspension of the call: its bytes go to the line's Suspended figure (when the call has a
 * line yet) and are kept out of the call's totals.
 */
export function chargeSuspension(call: CallFigures, stats: LineStats | undefined, from: Reading, to: Reading): void {
  const heap = to.heap - from.heap;
  const freed = to.freed - from.freed;
  call.suspendedHeap += heap;
  call.suspendedFreed += freed;
  call.suspendedExternal += to.external - from.external;
  if (!stats) return;
  stats.suspensions++;
  stats.suspendedBytes += heap + freed;
}

/**
 * A call's totals added to its function, closed at `reading` (the caller adds only the outermost running call of a
 * function, so that recursion counts once). `ended`: it returned or threw, not cut off by the end of profiling.
 */
export function addCallTotals(fn: FunctionStats, call: CallFigures, reading: Reading, ended: boolean): void {
  const net = reading.heap - call.openedAt.heap - call.suspendedHeap;
  fn.netBytes += net;
  // A budget errs on the safe side: a call's increment spans it from entry to exit, what ran while it was suspended
  // included (the awaited work is often the call's own).
  const span = net + call.suspendedHeap;
  if (ended && (fn.maxCallNetBytes === null || span > fn.maxCallNetBytes)) fn.maxCallNetBytes = span;
  fn.allocatedBytes += net + (reading.freed - call.openedAt.freed - call.suspendedFreed);
  fn.externalBytes += reading.external - call.openedAt.external - call.suspendedExternal;
}
