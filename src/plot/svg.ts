/**
 * The plot as SVG, drawn by hand (a line chart needs no library): memory over time, one line per series, the marked
 * functions' calls as bands with a lane each below the chart (mprof's brackets), the peak marked in red. Pure.
 */
import { formatBytes } from '../report/format';
import { COLORS } from './data';
import type { PlotData } from './data';

export const WIDTH = 960;
export const HEIGHT = 540;
const MARGIN = { left: 84, right: 24, top: 64, bottom: 56 };
const LANE = 18;
const SPAN_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

export interface PlotGeometry {
  /** Pixel position of a time (s) and a byte value, for drawing and for tests that look at the picture. */
  x(t: number): number;
  y(bytes: number): number;
}

export function plotGeometry(data: PlotData): PlotGeometry & { maxBytes: number; end: number; chartBottom: number } {
  const names = spanNames(data);
  const chartBottom = HEIGHT - MARGIN.bottom - names.length * LANE;
  const end = Math.max(data.durationSeconds, ...data.series.flatMap((s) => s.points.map((p) => p[0])), 1e-3);
  const maxBytes = niceMax(Math.max(1, ...data.series.flatMap((s) => s.points.map((p) => p[1]))));
  const width = WIDTH - MARGIN.left - MARGIN.right;
  return {
    end,
    maxBytes,
    chartBottom,
    x: (t) => MARGIN.left + (t / end) * width,
    y: (bytes) => chartBottom - (bytes / maxBytes) * (chartBottom - MARGIN.top),
  };
}

export function renderSvg(data: PlotData): string {
  const g = plotGeometry(data);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escape(data.title)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555555">${escape(data.subtitle)}</text>`,
  );
  // Axes and grid.
  const format = { unit: 'auto' as const, precision: 1 };
  for (let i = 0; i <= 5; i++) {
    const bytes = (g.maxBytes * i) / 5;
    const y = round(g.y(bytes));
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${WIDTH - MARGIN.right}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end" fill="#333333">${escape(formatBytes(bytes, format))}</text>`,
    );
  }
  for (const t of timeTicks(g.end)) {
    const x = round(g.x(t));
    out.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${g.chartBottom}" stroke="#f0f0f0"/>`,
      `<text x="${x}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle" fill="#333333">${formatSeconds(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" y1="${g.chartBottom}" x2="${WIDTH - MARGIN.right}" y2="${g.chartBottom}" stroke="#333333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${g.chartBottom}" stroke="#333333"/>`,
    `<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 8}" text-anchor="end" fill="#333333">time (s)</text>`,
  );
  // Spans: a translucent band over the chart and a bar in the function's lane.
  const names = spanNames(data);
  data.spans.forEach((span) => {
    const lane = names.indexOf(span.name);
    const color = SPAN_COLORS[lane % SPAN_COLORS.length]!;
    const x1 = round(g.x(span.start));
    const x2 = round(g.x(span.end ?? g.end));
    const w = Math.max(1, x2 - x1);
    const tip = `${span.name}: ${formatSeconds(span.start)}–${span.end === null ? 'not ended' : formatSeconds(span.end)}` +
      (span.heapEnd === null ? '' : `, heap ${signed(span.heapEnd - span.heapStart)}`);
    out.push(
      `<rect x="${x1}" y="${MARGIN.top}" width="${w}" height="${round(g.chartBottom - MARGIN.top)}" fill="${color}" fill-opacity="0.10"><title>${escape(tip)}</title></rect>`,
      `<rect x="${x1}" y="${round(g.chartBottom + 6 + lane * LANE)}" width="${w}" height="${LANE - 6}" fill="${color}"${span.end === null ? ' fill-opacity="0.5"' : ''}><title>${escape(tip)}</title></rect>`,
    );
  });
  names.forEach((name, lane) => {
    out.push(`<text x="${MARGIN.left - 6}" y="${round(g.chartBottom + 16 + lane * LANE)}" text-anchor="end" fill="${SPAN_COLORS[lane % SPAN_COLORS.length]}">${escape(name)}</text>`);
  });
  // Series.
  for (const series of data.series) {
    if (series.points.length === 0) continue;
    const d = series.points.map(([t, b], i) => `${i === 0 ? 'M' : 'L'}${round(g.x(t))},${round(g.y(b))}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`,
    );
  }
  // Legend.
  data.series.forEach((series, i) => {
    const x = WIDTH - MARGIN.right - 170;
    const y = MARGIN.top + 8 + i * 18;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${series.color}" stroke-width="3"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${x + 30}" y="${y + 4}" fill="#333333">${escape(series.label)}</text>`,
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
      `<text x="${anchor === 'end' ? x - 10 : x + 10}" y="${Math.max(MARGIN.top + 12, y - 10)}" text-anchor="${anchor}" fill="${COLORS.peak}" font-weight="bold">${escape(label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function spanNames(data: PlotData): string[] {
  return [...new Set(data.spans.map((s) => s.name))];
}

/** 1, 2 or 5 times a power of two MiB (or of 1024 below), at or above the value. */
function niceMax(bytes: number): number {
  const base = bytes >= 1024 ** 2 ? 1024 ** 2 : bytes >= 1024 ? 1024 : 1;
  const v = bytes / base;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= v)! * magnitude;
  return step * base;
}

function timeTicks(end: number): number[] {
  const raw = end / 8;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= raw)! * magnitude;
  const ticks: number[] = [];
  for (let t = 0; t <= end + 1e-9; t += step) ticks.push(Number(t.toFixed(6)));
  return ticks;
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

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
