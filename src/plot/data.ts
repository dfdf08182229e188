/**
 * What a plot draws, from either kind of result: a `lineprof usage` result (RSS, heap and external memory over time,
 * with the marked functions' calls as spans) or a `run`/`attach` result (the JS heap timeline of the session). Pure.
 */
import type { ProfileResult } from '../model/types';
import type { UsageResult } from '../usage/model';
import { totalRss } from '../usage/model';

export interface PlotSeries {
  label: string;
  color: string;
  dashed?: boolean;
  points: Array<[t: number, bytes: number]>;
}

export interface PlotSpan {
  name: string;
  start: number;
  /** Null: the call had not ended (drawn to the end of the plot, open). */
  end: number | null;
  heapStart: number;
  heapEnd: number | null;
}

export interface PlotData {
  title: string;
  subtitle: string;
  durationSeconds: number;
  series: PlotSeries[];
  spans: PlotSpan[];
  /** The peak of the first series, marked on the plot. */
  peak: { t: number; bytes: number; label: string } | null;
}

export const COLORS = {
  rss: '#1f77b4',
  heapUsed: '#ff7f0e',
  heapTotal: '#ffbb78',
  external: '#2ca02c',
  peak: '#d62728',
};

export function plotDataOf(result: UsageResult | ProfileResult): PlotData {
  return result.command === 'usage' ? fromUsage(result as UsageResult) : fromProfile(result as ProfileResult);
}

function fromUsage(result: UsageResult): PlotData {
  const s = result.samples;
  const series: PlotSeries[] = [
    {
      label: s.some((x) => x.childrenRss !== undefined) ? 'RSS (with children)' : 'RSS',
      color: COLORS.rss,
      points: s.map((x) => [x.t, totalRss(x)]),
    },
  ];
  const pick = (label: string, color: string, value: (x: (typeof s)[number]) => number | undefined, dashed = false): void => {
    const points = s.filter((x) => value(x) !== undefined).map((x): [number, number] => [x.t, value(x)!]);
    if (points.length > 0) series.push({ label, color, points, dashed });
  };
  pick('JS heap used', COLORS.heapUsed, (x) => x.heapUsed);
  pick('JS heap total', COLORS.heapTotal, (x) => x.heapTotal, true);
  pick('external', COLORS.external, (x) => x.external);
  const target = 'script' in result.target ? result.target.script : `pid ${result.target.pid}`;
  return {
    title: `lineprof usage: ${target}`,
    subtitle: `${s.length} samples every ${result.intervalSeconds} s, started ${result.startedAt}`,
    durationSeconds: result.durationSeconds,
    series,
    spans: result.spans.map((x) => ({ name: x.name, start: x.start, end: x.end, heapStart: x.heapStart, heapEnd: x.heapEnd })),
    peak: s.length > 0 ? { t: result.peak.rssAt, bytes: result.peak.rss, label: 'peak RSS' } : null,
  };
}

function fromProfile(result: ProfileResult): PlotData {
  const timeline = result.timeline ?? [];
  let peak: PlotData['peak'] = null;
  for (const [t, bytes] of timeline) if (!peak || bytes > peak.bytes) peak = { t, bytes, label: 'peak JS heap' };
  return {
    title: `lineprof ${result.command}: ${result.script ?? ''}`.trim(),
    subtitle: `JS heap in use at the marked functions' lines; ${result.functions.length} functions, started ${result.startedAt}`,
    durationSeconds: Math.max(result.durationMs / 1000, timeline[timeline.length - 1]?.[0] ?? 0),
    series: [{ label: 'JS heap in use', color: COLORS.heapUsed, points: timeline }],
    spans: [],
    peak,
  };
}

/** One colour per overlaid result (mprof plot a b), in order; then they repeat. */
export const OVERLAY_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/**
 * Several results on one plot (`lineprof plot a.json b.json`): each result's first series (RSS for usage, the JS
 * heap timeline for run/attach) in a colour of its own, named in the legend by `name` (its file); the spans lanes
 * are named "name: function"; the peak marked is the highest of them all.
 */
export function overlayPlotData(items: Array<{ name: string; result: UsageResult | ProfileResult }>): PlotData {
  if (items.length === 1) return plotDataOf(items[0]!.result);
  const series: PlotSeries[] = [];
  const spans: PlotSpan[] = [];
  let peak: PlotData['peak'] = null;
  let duration = 0;
  items.forEach(({ name, result }, i) => {
    const data = plotDataOf(result);
    const first = data.series[0]!;
    series.push({ label: `${name} (${first.label})`, color: OVERLAY_COLORS[i % OVERLAY_COLORS.length]!, points: first.points });
    for (const s of data.spans) spans.push({ ...s, name: `${name}: ${s.name}` });
    if (data.peak && (!peak || data.peak.bytes > peak.bytes)) peak = { ...data.peak, label: `${name} ${data.peak.label}` };
    duration = Math.max(duration, data.durationSeconds);
  });
  return {
    title: `lineprof plot: ${items.length} results`,
    subtitle: `${items.map((x) => x.name).join(', ')}; times since each one's start`,
    durationSeconds: duration,
    series,
    spans,
    peak,
  };
}
