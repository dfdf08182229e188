/**
 * Memory over time (`lineprof usage`): the result, and its pure summaries: the peak, the one-line verdict and CSV
 * (the terminal chart is in chart.ts).
 */
import type { HeapSample } from '../wire/agent-report';
import { formatBytes } from '../report/format';
import type { ByteFormat } from '../report/format';

export const USAGE_SCHEMA_VERSION = 1;

/** One sample; `t` in seconds since sampling began. Fields a target cannot give are absent. */
export interface UsageSample {
  t: number;
  /** Resident set size of the process, from the operating system. */
  rss: number;
  /** RSS of its descendants together (`--include-children`). */
  childrenRss?: number;
  /** JS heap in use and reserved (inspector). */
  heapUsed?: number;
  heapTotal?: number;
  /** Memory outside the JS heap held by ArrayBuffers, Buffers and native objects (process.memoryUsage().external). */
  external?: number;
}

/** A call of a marked function, from its entry to its exit (seconds since sampling began). */
export interface UsageSpan {
  name: string;
  file: string;
  line: number;
  start: number;
  /** Null when the call did not end while sampling (still running, or left by a throw). */
  end: number | null;
  heapStart: number;
  heapEnd: number | null;
  /** A call in a worker thread (its threadId; its heap figures are that thread's heap); absent: the main thread. */
  thread?: number;
}

export interface UsagePeak {
  /** The largest RSS (with the children's, when included) and when. */
  rss: number;
  rssAt: number;
  heapUsed: number | null;
  heapUsedAt: number | null;
}

export interface UsageResult {
  schemaVersion: typeof USAGE_SCHEMA_VERSION;
  tool: { name: 'lineprof'; version: string };
  command: 'usage';
  /** The script launched, or the process sampled. */
  target: { script: string; argv: string[] } | { pid: number; command: string[] | null };
  intervalSeconds: number;
  startedAt: string;
  durationSeconds: number;
  exit: { code: number | null; signal: string | null } | null;
  /** What ended sampling: the process ended, the timeout, or stop() (Ctrl-C). */
  endedBy: 'exit' | 'timeout' | 'stop';
  samples: UsageSample[];
  /**
   * A script lineprof launched: when it started (seconds, as `t`): its main module's first line (CommonJS), else
   * the moment lineprof's preload handed over to it (an ES module main).
   */
  scriptStart?: number;
  spans: UsageSpan[];
  peak: UsagePeak;
  warnings: string[];
}

/** A sampler reading (epoch ms) as a sample of a result (seconds since `origin`). */
export function usageSampleOf(heap: HeapSample, origin: number): UsageSample {
  return {
    t: Math.max(0, (heap.t - origin) / 1000),
    rss: heap.rss,
    ...(heap.heapUsed !== undefined ? { heapUsed: heap.heapUsed, heapTotal: heap.heapTotal } : {}),
    ...(heap.external !== undefined ? { external: heap.external } : {}),
  };
}

/** RSS counted for the peak and the chart: the process's, plus its children's when they were sampled. */
export function totalRss(sample: UsageSample): number {
  return sample.rss + (sample.childrenRss ?? 0);
}

export function peakOf(samples: UsageSample[]): UsagePeak {
  let rss = 0;
  let rssAt = 0;
  let heapUsed: number | null = null;
  let heapUsedAt: number | null = null;
  for (const s of samples) {
    if (totalRss(s) > rss) {
      rss = totalRss(s);
      rssAt = s.t;
    }
    if (s.heapUsed !== undefined && (heapUsed === null || s.heapUsed > heapUsed)) {
      heapUsed = s.heapUsed;
      heapUsedAt = s.t;
    }
  }
  return { rss, rssAt, heapUsed, heapUsedAt };
}

export function summaryLine(result: UsageResult, format: ByteFormat): string {
  const { peak } = result;
  const heap =
    peak.heapUsed === null ? '' : `, JS heap peak ${formatBytes(peak.heapUsed, format)} at ${seconds(peak.heapUsedAt!)}`;
  const children = result.samples.some((s) => s.childrenRss !== undefined) ? ' (with children)' : '';
  return (
    `Peak RSS${children} ${formatBytes(peak.rss, format)} at ${seconds(peak.rssAt)}${heap}; ` +
    `${result.samples.length} samples over ${seconds(result.durationSeconds)}` +
    (result.spans.length > 0 ? `, ${result.spans.length} call${result.spans.length === 1 ? '' : 's'} of marked functions` : '') +
    samplingStart(result)
  );
}

/** When the first sample came, against the script's start (a launched script only). */
function samplingStart(result: UsageResult): string {
  const first = result.samples[0];
  if (result.scriptStart === undefined || first === undefined) return '';
  const lead = first.t - result.scriptStart;
  return `; sampling from ${seconds(Math.abs(lead))} ${lead < 0 ? 'before' : 'after'} the script started`;
}

function seconds(t: number): string {
  return `${t.toFixed(t < 10 ? 3 : 2)} s`;
}

export function renderCsv(result: UsageResult): string {
  const header = 'time_s,rss_bytes,children_rss_bytes,heap_used_bytes,heap_total_bytes,external_bytes';
  const cell = (v: number | undefined): string => (v === undefined ? '' : String(v));
  const rows = result.samples.map((s) =>
    [s.t.toFixed(6), s.rss, cell(s.childrenRss), cell(s.heapUsed), cell(s.heapTotal), cell(s.external)].join(','),
  );
  return [header, ...rows].join('\n') + '\n';
}

/** Reads a saved usage result back; anything else is refused in one line. */
export function parseUsageJson(value: unknown, origin: string): UsageResult {
  const v = value as Partial<UsageResult> | null;
  if (!v || v.tool?.name !== 'lineprof' || v.command !== 'usage' || !Array.isArray(v.samples) || !Array.isArray(v.spans)) {
    throw new Error(`${origin} is not a lineprof usage result`);
  }
  if (v.schemaVersion !== USAGE_SCHEMA_VERSION) {
    throw new Error(`${origin} has usage schema version ${String(v.schemaVersion)}; this lineprof reads ${USAGE_SCHEMA_VERSION}`);
  }
  // JSON reads 1e309 as Infinity: a number that is not finite would make a scale or a loop run away.
  v.samples.forEach((sample, i) => {
    for (const [field, n] of Object.entries(sample as unknown as Record<string, unknown>)) {
      if (n !== undefined && n !== null && !(typeof n === 'number' && Number.isFinite(n))) {
        throw new Error(`${origin}: samples[${i}].${field} is not a finite number: not a lineprof usage result`);
      }
    }
  });
  v.spans.forEach((span, i) => {
    for (const field of ['start', 'end', 'heapStart', 'heapEnd'] as const) {
      const n = (span as unknown as Record<string, unknown>)[field];
      if (n !== undefined && n !== null && !(typeof n === 'number' && Number.isFinite(n))) {
        throw new Error(`${origin}: spans[${i}].${field} is not a finite number: not a lineprof usage result`);
      }
    }
  });
  return v as UsageResult;
}
