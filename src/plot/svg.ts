/**
 * The plot as SVG, drawn by hand (a line chart needs no library): memory over time, one line per series, the marked
 * functions' calls as bands with a lane each below the chart (mprof's brackets), the peak marked in red. Pure.
 */
import { formatBytes } from '../report/format';
import { COLORS } from './data';
import type { PlotData } from './data';
import { byteScale, tickLabel, timeTicks } from './scale';

export const WIDTH = 960;
/** The picture's height without lanes; each marked function's lane adds LANE below the chart, which keeps its size. */
export const HEIGHT = 540;
const MARGIN = { left: 84, right: 24, top: 64, bottom: 56 };
const LANE = 18;
/**
 * Lane names are drawn right-aligned before the chart: the left margin grows to the longest (measured at DejaVu
 * Sans 12 px's widest usual letters, ~7.2 px), up to MAX_LEFT; a longer name loses its end to an ellipsis, never
 * its start.
 */
const CHAR_PX = 7.2;
const MAX_LEFT = 300;
const LABEL_GAP = 12;
const MAX_LABEL_CHARS = Math.floor((MAX_LEFT - LABEL_GAP) / CHAR_PX);
/** The legend's labels (overlaid results are named by their files) take at most half the canvas. */
const MAX_LEGEND_CHARS = 60;
const SPAN_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

export interface PlotGeometry {
  /** Pixel position of a time (s) and a byte value, for drawing and for tests that look at the picture. */
  x(t: number): number;
  y(bytes: number): number;
}

export function plotGeometry(data: PlotData): PlotGeometry & {
  maxBytes: number;
  /** The byte axis's ticks, 0 to maxBytes. */
  ticks: number[];
  end: number;
  chartBottom: number;
  height: number;
  /** The chart's left edge: room for the y axis's labels and the longest lane name. */
  left: number;
} {
  const names = spanNames(data);
  const longest = Math.max(0, ...names.map((n) => laneLabel(n).length));
  const left = Math.max(MARGIN.left, Math.ceil(longest * CHAR_PX) + LABEL_GAP);
  const height = HEIGHT + names.length * LANE;
  const chartBottom = HEIGHT - MARGIN.bottom;
  // Loops, not spreads: a four-hour recording has a million points.
  let end = Math.max(data.durationSeconds, 1e-3);
  let top = 1;
  for (const s of data.series) {
    for (const [t, bytes] of s.points) {
      if (t > end) end = t;
      if (bytes > top) top = bytes;
    }
  }
  const scale = byteScale(top);
  const maxBytes = scale.top;
  const width = WIDTH - left - MARGIN.right;
  return {
    end,
    maxBytes,
    ticks: scale.ticks,
    chartBottom,
    height,
    left,
    x: (t) => left + (t / end) * width,
    y: (bytes) => chartBottom - (bytes / maxBytes) * (chartBottom - MARGIN.top),
  };
}

export function renderSvg(data: PlotData): string {
  const g = plotGeometry(data);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${g.height}" viewBox="0 0 ${WIDTH} ${g.height}" ` +
      `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${g.height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escapeXml(data.title)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555555">${escapeXml(data.subtitle)}</text>`,
  );
  // Axes and grid.
  const format = { unit: 'auto' as const, precision: 1 };
  for (const bytes of g.ticks) {
    const y = round(g.y(bytes));
    out.push(
      `<line x1="${g.left}" y1="${y}" x2="${WIDTH - MARGIN.right}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${g.left - 6}" y="${y + 4}" text-anchor="end" fill="#333333">${escapeXml(tickLabel(bytes, g.ticks))}</text>`,
    );
  }
  for (const t of timeTicks(g.end)) {
    const x = round(g.x(t));
    out.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${g.chartBottom}" stroke="#f0f0f0"/>`,
      `<text x="${x}" y="${g.height - MARGIN.bottom + 18}" text-anchor="middle" fill="#333333">${formatSeconds(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${g.left}" y1="${g.chartBottom}" x2="${WIDTH - MARGIN.right}" y2="${g.chartBottom}" stroke="#333333"/>`,
    `<line x1="${g.left}" y1="${MARGIN.top}" x2="${g.left}" y2="${g.chartBottom}" stroke="#333333"/>`,
    `<text x="${WIDTH - MARGIN.right}" y="${g.height - 8}" text-anchor="end" fill="#333333">time (s)</text>`,
  );
  // Spans: a translucent band over the chart and a bar in the function's lane. Calls closer than a pixel are drawn
  // as one bar (a hot function's 100,000 calls would otherwise be 100,000 rectangles); bands only when few.
  const names = spanNames(data);
  const bands = data.spans.length <= MAX_BANDS;
  for (const bar of spanBars(data, g)) {
    const color = SPAN_COLORS[bar.lane % SPAN_COLORS.length]!;
    const w = Math.max(1, round(bar.x2 - bar.x1));
    if (bands) {
      out.push(`<rect x="${round(bar.x1)}" y="${MARGIN.top}" width="${w}" height="${round(g.chartBottom - MARGIN.top)}" fill="${color}" fill-opacity="0.10"><title>${escapeXml(bar.tip)}</title></rect>`);
    }
    out.push(
      `<rect x="${round(bar.x1)}" y="${round(g.chartBottom + 6 + bar.lane * LANE)}" width="${w}" height="${LANE - 6}" fill="${color}"${bar.open ? ' fill-opacity="0.5"' : ''}><title>${escapeXml(bar.tip)}</title></rect>`,
    );
  }
  names.forEach((name, lane) => {
    out.push(`<text x="${g.left - 6}" y="${round(g.chartBottom + 16 + lane * LANE)}" text-anchor="end" fill="${SPAN_COLORS[lane % SPAN_COLORS.length]}"><title>${escapeXml(name)}</title>${escapeXml(laneLabel(name))}</text>`);
  });
  // Series: at most the lowest and highest point of each pixel column (the picture is the same, the file small).
  for (const series of data.series) {
    if (series.points.length === 0) continue;
    const d = perColumn(series.points, g).map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`,
    );
  }
  // Legend. In one row above the chart when it fits there (it then hides no line and no peak label), else in a
  // column at the chart's top right (overlaid results are named by their files). Labels are cut as lane names are.
  const labels = data.series.map((series) => laneLabel(series.label, MAX_LEGEND_CHARS));
  const itemWidth = (label: string): number => 30 + Math.ceil([...label].length * CHAR_PX) + 18;
  const rowWidth = labels.reduce((sum, label) => sum + itemWidth(label), 0);
  const inRow = rowWidth <= WIDTH - MARGIN.right - g.left;
  const legendChars = Math.max(0, ...labels.map((label) => [...label].length));
  let rowX = WIDTH - MARGIN.right - rowWidth;
  data.series.forEach((series, i) => {
    const x = inRow ? rowX : WIDTH - MARGIN.right - Math.max(170, Math.ceil(legendChars * CHAR_PX) + 40);
    const y = inRow ? MARGIN.top - 12 : MARGIN.top + 8 + i * 18;
    rowX += itemWidth(labels[i]!);
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${series.color}" stroke-width="3"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${x + 30}" y="${y + 4}" fill="#333333"><title>${escapeXml(series.label)}</title>${escapeXml(labels[i]!)}</text>`,
    );
  });
  // The peak.
  if (data.peak) {
    const x = round(g.x(data.peak.t));
    const y = round(g.y(data.peak.bytes));
    const label = `${data.peak.label} ${formatBytes(data.peak.bytes, format)} at ${formatSeconds(data.peak.t)}`;
    const anchor = x > WIDTH / 2 ? 'end' : 'start';
    out.push(
      `<circle cx="${x}" cy="${y}" r="6" fill="${COLORS.peak}"/>`,
      `<text x="${anchor === 'end' ? x - 10 : x + 10}" y="${Math.max(MARGIN.top + 12, y - 10)}" text-anchor="${anchor}" fill="${COLORS.peak}" font-weight="bold">${escapeXml(label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const MAX_BANDS = 200;

interface SpanBar {
  lane: number;
  x1: number;
  x2: number;
  open: boolean;
  tip: string;
}

/** Each lane's calls, as bars in pixels; calls less than a pixel apart merge into one bar ("N calls"). */
function spanBars(data: PlotData, g: PlotGeometry & { end: number }): SpanBar[] {
  const names = spanNames(data);
  const bars: SpanBar[] = [];
  const last = new Map<number, SpanBar & { calls: number; first: number; lastEnd: number }>();
  const sorted = [...data.spans].sort((a, b) => a.start - b.start);
  for (const span of sorted) {
    const lane = names.indexOf(span.name);
    const x1 = g.x(span.start);
    const x2 = g.x(span.end ?? g.end);
    const open = span.end === null;
    const previous = last.get(lane);
    if (previous && x1 <= previous.x2 + 1 && previous.open === open) {
      previous.x2 = Math.max(previous.x2, x2);
      previous.calls++;
      previous.lastEnd = Math.max(previous.lastEnd, span.end ?? g.end);
      previous.tip = `${span.name}: ${previous.calls} calls, ${formatSeconds(previous.first)}–${formatSeconds(previous.lastEnd)}`;
      continue;
    }
    const bar = {
      lane,
      x1,
      x2,
      open,
      calls: 1,
      first: span.start,
      lastEnd: span.end ?? g.end,
      tip:
        `${span.name}: ${formatSeconds(span.start)}–${open ? 'not ended' : formatSeconds(span.end!)}` +
        (span.heapEnd === null ? '' : `, heap ${signed(span.heapEnd - span.heapStart)}`),
    };
    bars.push(bar);
    last.set(lane, bar);
  }
  return bars;
}

/** The first, lowest, highest and last point of each pixel column, in order: the line looks the same. */
function perColumn(points: Array<[number, number]>, g: PlotGeometry): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let column = Number.NaN;
  let bucket: Array<[number, number]> = [];
  const flush = (): void => {
    if (bucket.length === 0) return;
    let low = 0;
    let high = 0;
    bucket.forEach((p, i) => {
      if (p[1] > bucket[low]![1]) low = i; // larger y is lower on the page
      if (p[1] < bucket[high]![1]) high = i;
    });
    for (const i of [...new Set([0, low, high, bucket.length - 1])].sort((a, b) => a - b)) out.push(bucket[i]!);
    bucket = [];
  };
  for (const [t, bytes] of points) {
    const x = round(g.x(t));
    const y = round(g.y(bytes));
    if (Math.floor(x) !== column) {
      flush();
      column = Math.floor(x);
    }
    bucket.push([x, y]);
  }
  flush();
  return out;
}

function spanNames(data: PlotData): string[] {
  return [...new Set(data.spans.map((s) => s.name))];
}

/** A lane's name as drawn: whole, or its start and an ellipsis when longer than the widest margin holds. */
export function laneLabel(name: string, max = MAX_LABEL_CHARS): string {
  const chars = [...name];
  return chars.length <= max ? name : `${chars.slice(0, max - 1).join('')}…`;
}

function formatSeconds(t: number): string {
  return t >= 10 ? `${t.toFixed(0)} s` : t >= 1 ? `${t.toFixed(1)} s` : `${(t * 1000).toFixed(0)} ms`;
}

function signed(bytes: number): string {
  return `${bytes >= 0 ? '+' : '−'}${formatBytes(Math.abs(bytes), { unit: 'auto', precision: 1 })}`;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
