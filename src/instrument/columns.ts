/**
 * Columns of instrumented code back to the source's: the instrumenter only inserts text within lines, so a line's
 * column shift is the inserted text before that column on that line. Pure.
 */
import { lineOfOffset } from '../selection/find-functions';

/** Per line (1-based), the insertions on it as [0-based column in the source, inserted length], sorted. */
export type ColumnShifts = Map<number, Array<[number, number]>>;

export function columnShiftsOf(insertions: Array<[number, number]>, lineStarts: number[]): ColumnShifts {
  const shifts: ColumnShifts = new Map();
  for (const [offset, length] of insertions) {
    const line = lineOfOffset(lineStarts, offset);
    let list = shifts.get(line);
    if (!list) shifts.set(line, (list = []));
    list.push([offset - lineStarts[line - 1]!, length]);
  }
  return shifts;
}

/**
 * The source column of a 0-based column of the instrumented line. A column inside inserted text (a probe's own
 * frame) maps to where the text was inserted.
 */
export function originalColumn(shifts: ColumnShifts, line: number, column: number): number {
  const list = shifts.get(line);
  if (!list) return column;
  let remaining = column;
  let at = 0;
  for (const [insertedAt, length] of list) {
    const plain = insertedAt - at;
    if (remaining < plain) return at + remaining;
    remaining -= plain;
    at = insertedAt;
    if (remaining < length) return insertedAt;
    remaining -= length;
  }
  return at + remaining;
}
