/**
 * Which of a function's break locations get a recording breakpoint, and what each one means for attribution. Pure.
 *
 * CDP locations are 0-based (line and column); everything this module returns for people is 1-based.
 */
import { lineOfOffset } from '../selection/find-functions';
import type { SourceFunction } from '../selection/find-functions';

/** A break location as `Debugger.getPossibleBreakpoints` reports it. */
export interface CdpBreakLocation {
  lineNumber: number;
  columnNumber?: number;
  type?: 'debuggerStatement' | 'call' | 'return';
}

export const enum LocationKind {
  Body = 0,
  /** The function's first location: it opens a new call when `opensCall` holds. */
  Entry = 1,
  /** A `(return)` location: the call ends right after it. */
  Return = 2,
}

export interface PlannedLocation {
  lineNumber0: number;
  columnNumber0: number;
  /**
   * 1-based line the location's time is charged to: the generated line, or for a source-mapped script the original
   * line (negated generated line where the location maps nowhere in the function's original file).
   */
  line: number;
  /** Offset in the source, which orders locations within a line. */
  offset: number;
  kind: LocationKind;
  /** Entry location that no loop can repeat, so a hit there always begins a new call. */
  opensCall: boolean;
  /**
   * The interval that starts here may contain a suspension of the call (an `await` or `yield` lies between this
   * location and the next one): it is reported as time suspended, not charged to the line.
   */
  maySuspend: boolean;
  /**
   * A `(return)` location inside a `return` statement: its line ran even when V8 gives the statement no location
   * of its own (`return text;`), so it counts an occurrence. The `(return)` at a closing brace does not.
   */
  inReturnStatement: boolean;
}

/**
 * Every location gets a breakpoint except a `call` location that follows another location on its own line: a hit
 * there could only split the line's interval in two, both charged to the same line, so it would cost ~30 µs for
 * nothing. Locations outside the function's own range (V8 may report the closing position) are dropped.
 */
export function planLocations(
  fn: SourceFunction,
  locations: CdpBreakLocation[],
  lineStarts: number[],
  lineOf: (line: number, column: number) => number = (line) => line,
): PlannedLocation[] {
  const withOffsets = locations
    .map((loc) => {
      const col = loc.columnNumber ?? 0;
      const offset = (lineStarts[loc.lineNumber] ?? 0) + col;
      return { loc, col, offset };
    })
    .filter(({ offset }) => offset >= fn.start && offset <= fn.end)
    .sort((a, b) => a.offset - b.offset);
  const planned: PlannedLocation[] = [];
  const seenLines = new Set<number>();
  withOffsets.forEach(({ loc, col, offset }, index) => {
    const line = lineOf(lineOfOffset(lineStarts, offset), col);
    const firstOnLine = !seenLines.has(line);
    seenLines.add(line);
    if (loc.type === 'call' && !firstOnLine && index !== 0) return;
    const kind = loc.type === 'return' ? LocationKind.Return : index === 0 ? LocationKind.Entry : LocationKind.Body;
    planned.push({
      lineNumber0: loc.lineNumber,
      columnNumber0: col,
      line,
      offset,
      kind,
      opensCall: kind === LocationKind.Entry && !fn.repeatRanges.some(([s, e]) => offset >= s && offset < e),
      maySuspend: false,
      inReturnStatement: kind === LocationKind.Return && fn.returnRanges.some(([s, e]) => offset >= s && offset <= e),
    });
  });
  planned.forEach((location, i) => {
    const next = planned[i + 1]?.offset ?? fn.end + 1;
    location.maySuspend = fn.suspensionOffsets.some((s) => s >= location.offset && s < next);
  });
  return planned;
}
