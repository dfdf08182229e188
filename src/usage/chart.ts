/**
 * The terminal chart of `lineprof usage`: a line chart in braille dots (2×4 a character) of RSS and, when sampled,
 * of the JS heap, each with a labelled byte axis on round bounds and the peak marked (●), a time axis in seconds,
 * and the marked functions' calls as bars in a lane each under it. Pure text, no colours (it reads the same in a
 * log), and no line longer than the width asked for (the caller passes the terminal's columns).
 */
import { formatBytes } from '../report/format';
import type { ByteFormat } from '../report/format';
import { byteScale, tickLabel, timeTicks } from '../plot/scale';
import { printable } from '../report/text';
import { totalRss } from './model';
import type { UsageResult, UsageSample } from './model';

const DEFAULT_WIDTH = 80;
const DEFAULT_HEIGHT = 10;
/** Lane names longer than this lose their end to an ellipsis: the chart keeps most of the width. */
const MAX_NAME = 16;
const PEAK = '●';
const CLOSED = '━';
const OPEN = '╍';

interface Series {
  label: string;
  points: Array<[number, number]>;
}

export function renderChart(result: UsageResult, format: ByteFormat, width = DEFAULT_WIDTH, height = DEFAULT_HEIGHT): string {
  const samples = result.samples;
  const columns = Math.max(1, Math.floor(Number.isFinite(width) && width > 0 ? width : DEFAULT_WIDTH));
  if (samples.length === 0) return fit(['(no samples)'], columns);
  const rows = Math.max(2, Math.floor(height));
  const series: Series[] = [{ label: samples.some((s) => s.childrenRss !== undefined) ? 'RSS (with children)' : 'RSS', points: pointsOf(samples, totalRss) }];
  const heap = pointsOf(samples, (s) => s.heapUsed);
  if (heap.length > 0) series.push({ label: 'JS heap', points: heap });

  let end = Math.max(result.durationSeconds, 1e-3);
  for (const s of samples) if (s.t > end) end = s.t;
  for (const span of result.spans) end = Math.max(end, span.start, span.end ?? 0);

  const scales = series.map((s) => byteScale(maxOf(s.points)));
  // Names are the program's: shown, never obeyed, by the terminal.
  const names = [...new Set(result.spans.map((s) => s.name))];
  const labelWidth = Math.min(
    Math.max(...scales.flatMap((sc) => sc.ticks.map((t) => tickLabel(t, sc.ticks).length)), ...names.map((n) => [...shorten(printable(n), MAX_NAME)].length)),
    // On a narrow terminal the labels give way before the chart does.
    Math.max(4, Math.floor(columns / 3)),
  );
  // label, a space, the axis, the plot.
  const plotColumns = Math.max(1, columns - labelWidth - 2);
  const xOf = (t: number): number => Math.min(2 * plotColumns - 1, Math.max(0, Math.round((t / end) * (2 * plotColumns - 1))));

  const out: string[] = [];
  series.forEach((s, i) => {
    const scale = scales[i]!;
    const peak = s.points.reduce((best, p) => (p[1] > best[1] ? p : best));
    out.push(`${s.label}: peak ${PEAK} ${formatBytes(peak[1], format)} at ${seconds(peak[0])}`);
    const dots = new Grid(plotColumns, rows);
    const yOf = (bytes: number): number => Math.round((1 - bytes / scale.top) * (4 * rows - 1));
    let previous: [number, number] | null = null;
    for (const [t, bytes] of s.points) {
      const p: [number, number] = [xOf(t), yOf(bytes)];
      if (previous) dots.line(previous, p);
      else dots.set(p[0], p[1]);
      previous = p;
    }
    const cells = dots.render();
    cells[Math.floor(yOf(peak[1]) / 4)]![Math.floor(xOf(peak[0]) / 2)] = PEAK;
    // Each tick's label on the row that holds its value; the top tick first, so it wins a shared row.
    const labels = new Map<number, string>();
    for (const tick of [...scale.ticks].reverse()) {
      const row = Math.floor(yOf(tick) / 4);
      if (!labels.has(row)) labels.set(row, tickLabel(tick, scale.ticks));
    }
    cells.forEach((line, row) => {
      const label = labels.get(row);
      out.push(`${pad(label ?? '', labelWidth)} ${label === undefined ? '│' : '┤'}${line.join('')}`);
    });
    out.push(...timeAxis(end, plotColumns, labelWidth, xOf));
  });

  // The calls of marked functions, one lane each, on the same time scale.
  const open = result.spans.some((s) => s.end === null);
  for (const name of names) {
    const lane = new Array<string>(plotColumns).fill(' ');
    for (const span of result.spans) {
      if (span.name !== name) continue;
      const a = Math.floor(xOf(span.start) / 2);
      const b = Math.floor(xOf(span.end ?? end) / 2);
      for (let c = a; c <= b; c++) if (span.end !== null || lane[c] === ' ') lane[c] = span.end === null ? OPEN : CLOSED;
    }
    out.push(`${pad(shorten(printable(name), labelWidth), labelWidth)}  ${lane.join('').trimEnd()}`);
  }
  if (names.length > 0) out.push(`${' '.repeat(labelWidth)}  ${CLOSED} calls of marked functions${open ? `, ${OPEN} not ended` : ''}`);
  return fit(out, columns);
}

/** The axis line with a ┬ at each tick, and the ticks' times under them (those that would overlap are left out). */
function timeAxis(end: number, plotColumns: number, labelWidth: number, xOf: (t: number) => number): string[] {
  const axis = new Array<string>(plotColumns).fill('─');
  const text = new Array<string>(plotColumns).fill(' ');
  let free = 0;
  for (const t of timeTicks(end, Math.max(1, Math.min(8, Math.floor(plotColumns / 8))))) {
    const column = Math.floor(xOf(t) / 2);
    axis[column] = '┬';
    const label = `${Number(t.toPrecision(6))} s`;
    // A label starts at its tick; the last may shift left to stay inside the chart.
    const at = Math.min(column, plotColumns - label.length);
    if (at < free || at < 0) continue;
    for (let i = 0; i < label.length; i++) text[at + i] = label[i]!;
    free = at + label.length + 1;
  }
  return [`${' '.repeat(labelWidth)} └${axis.join('')}`, `${' '.repeat(labelWidth)}  ${text.join('').trimEnd()}`];
}

/** Braille cells: dot (x, y) is column x of 2·columns, row y of 4·rows, top left first. */
class Grid {
  private readonly bits: Uint8Array;
  constructor(
    private readonly columns: number,
    private readonly rows: number,
  ) {
    this.bits = new Uint8Array(columns * rows);
  }

  set(x: number, y: number): void {
    if (x < 0 || y < 0 || x >= this.columns * 2 || y >= this.rows * 4) return;
    // The braille pattern's dot numbering: 1 2 3 7 down the left column, 4 5 6 8 down the right.
    const bit = x % 2 === 0 ? [0x01, 0x02, 0x04, 0x40][y % 4]! : [0x08, 0x10, 0x20, 0x80][y % 4]!;
    this.bits[Math.floor(y / 4) * this.columns + Math.floor(x / 2)]! |= bit;
  }

  /** Every dot from a to b, so a jump between two samples is drawn as a stroke, not two dots. */
  line(a: [number, number], b: [number, number]): void {
    const steps = Math.max(Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]), 1);
    for (let i = 0; i <= steps; i++) {
      this.set(Math.round(a[0] + ((b[0] - a[0]) * i) / steps), Math.round(a[1] + ((b[1] - a[1]) * i) / steps));
    }
  }

  render(): string[][] {
    const out: string[][] = [];
    for (let r = 0; r < this.rows; r++) {
      const line: string[] = [];
      for (let c = 0; c < this.columns; c++) {
        const bits = this.bits[r * this.columns + c]!;
        line.push(bits === 0 ? ' ' : String.fromCharCode(0x2800 + bits));
      }
      out.push(line);
    }
    return out;
  }
}

function pointsOf(samples: UsageSample[], value: (s: UsageSample) => number | undefined): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (const s of samples) {
    const v = value(s);
    if (v !== undefined) points.push([s.t, v]);
  }
  return points;
}

function maxOf(points: Array<[number, number]>): number {
  let max = 0;
  for (const [, v] of points) if (v > max) max = v;
  return max;
}

/** Right-aligned in `width` characters (cut to them on a terminal too narrow for the label). */
function pad(text: string, width: number): string {
  const chars = [...text];
  return chars.length >= width ? chars.slice(0, width).join('') : ' '.repeat(width - chars.length) + text;
}

/** The start of a name and an ellipsis when it is longer than `width` characters: never its start cut. */
function shorten(name: string, width: number): string {
  const chars = [...name];
  return chars.length <= width ? name : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** No line wider than the terminal, whatever was asked: a wrapped chart is worse than a cut one. */
function fit(lines: string[], columns: number): string {
  return lines.map((l) => [...l].slice(0, columns).join('').trimEnd()).join('\n') + '\n';
}

function seconds(t: number): string {
  return `${t.toFixed(t < 10 ? 3 : 2)} s`;
}
