/**
 * One report from the reports of a program's threads: the main thread's, and one per worker thread that ran
 * lineprof's agent (src/agent/threads.ts). Pure.
 */
import type { AgentReport } from '../wire/agent-report';

export interface ThreadReport {
  threadId: number;
  /** Undefined: the worker announced itself but saved no report (still running, busy, when the program ended). */
  report: AgentReport | undefined;
}

/**
 * The main thread's report with each worker's functions (labelled with their thread), spans and warnings added. A
 * selector is unmatched only if it matched in no thread.
 */
export function mergeThreadReports(main: AgentReport, workers: ThreadReport[]): AgentReport {
  if (workers.length === 0) return main;
  const functions = [...main.functions];
  const spans = [...(main.spans ?? [])];
  const warnings = [...main.warnings];
  let spansDropped = main.spansDropped ?? 0;
  let hits = main.stats.hits;
  let unmatchedFunctions = main.unmatched.functions;
  let unmatchedLines = main.unmatched.lines;
  const extra = new Map<string, Set<string>>();
  for (const { threadId, report } of [...workers].sort((a, b) => a.threadId - b.threadId)) {
    if (!report) {
      warnings.push(
        `worker thread ${threadId} saved no report before the program ended (it was busy when asked): its functions are not shown`,
      );
      continue;
    }
    if (!report.final) {
      warnings.push(
        `worker thread ${threadId} was busy when the program ended: its figures are those of its last report, at most a second old`,
      );
    }
    const offset = functions.length;
    functions.push(...report.functions.map((fn) => ({ ...fn, thread: threadId })));
    spans.push(...(report.spans ?? []).map((span) => ({ ...span, fn: span.fn + offset })));
    spansDropped += report.spansDropped ?? 0;
    hits += report.stats.hits;
    for (const w of report.warnings) warnings.push(`worker thread ${threadId}: ${w}`);
    unmatchedFunctions = unmatchedFunctions.filter((f) => report.unmatched.functions.includes(f));
    unmatchedLines = unmatchedLines.filter((l) => report.unmatched.lines.includes(l));
    for (const [key, value] of Object.entries(report.unmatched)) {
      if (key === 'functions' || key === 'lines' || !Array.isArray(value)) continue;
      if (!extra.has(key)) extra.set(key, new Set());
      for (const v of value as string[]) extra.get(key)!.add(v);
    }
  }
  // Other lists (the selectors matched only in node_modules, the lines outside functions): of every thread, kept
  // for the selectors still unmatched.
  const unmatched: Record<string, string[]> = { ...(main.unmatched as unknown as Record<string, string[]>) };
  for (const [key, value] of Object.entries(unmatched)) {
    if (key === 'functions' || key === 'lines' || !Array.isArray(value)) continue;
    for (const v of value) (extra.get(key) ?? extra.set(key, new Set()).get(key)!).add(v);
  }
  for (const [key, set] of extra) unmatched[key] = [...set].filter((v) => unmatchedFunctions.includes(v) || unmatchedLines.includes(v));
  unmatched.functions = unmatchedFunctions;
  unmatched.lines = unmatchedLines;
  return {
    ...main,
    functions,
    unmatched: unmatched as unknown as AgentReport['unmatched'],
    stats: { ...main.stats, hits },
    warnings,
    ...(main.spans || spans.length > 0 ? { spans, spansDropped } : {}),
  };
}
