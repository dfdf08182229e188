/**
 * Turns the agent's figures, kept per generated line, into figures per original line (TypeScript, or any
 * source-mapped language): each generated line is mapped through the script's source map, and generated lines that
 * map to one original line are summed into it. Generated lines with no mapping stay, under the generated file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceMapConsumer } from 'source-map';
import type { LineStats } from '../attribution/attributor';
import type { AgentFunctionReport, AgentReport } from '../model/types';
import { splitLines } from '../selection/find-functions';
import { loadSourceMap } from './load';
import type { LoadedSourceMap } from './load';

export async function applySourceMaps(report: AgentReport): Promise<AgentReport> {
  const maps = new Map<string, LoadedSourceMap | Error>();
  const warnings = [...report.warnings];
  const functions: AgentFunctionReport[] = [];
  for (const fn of report.functions) {
    if (!fn.sourceMapURL) {
      functions.push(fn);
      continue;
    }
    let loaded = maps.get(fn.file);
    if (!loaded) {
      try {
        loaded = loadSourceMap(fn.file, fn.sourceMapURL);
      } catch (err) {
        loaded = err as Error;
        warnings.push(`could not read the source map of ${fn.file} (${loaded.message}): its lines are the generated ones`);
      }
      maps.set(fn.file, loaded);
    }
    if (loaded instanceof Error) functions.push(fn);
    else functions.push(...(await mapFunction(fn, loaded)));
  }
  return { ...report, functions, warnings };
}

async function mapFunction(fn: AgentFunctionReport, loaded: LoadedSourceMap): Promise<AgentFunctionReport[]> {
  const consumer = await new SourceMapConsumer(loaded.map as never);
  try {
    const originalOf = (line: number): { source: string; line: number } | undefined => {
      const pos = consumer.originalPositionFor({ line, column: 0, bias: SourceMapConsumer.LEAST_UPPER_BOUND });
      return pos.source && pos.line ? { source: pos.source, line: pos.line } : undefined;
    };
    // Each generated line of the function, mapped once; the function's original source is where its first mapped
    // line goes.
    const origins: Array<{ source: string; line: number } | undefined> = [];
    for (let line = fn.startLine; line <= fn.endLine; line++) origins.push(originalOf(line));
    const head = origins.find((o) => o !== undefined);
    if (!head) return [fn];
    const mapped = new Map<number, LineStats>();
    const unmapped: Array<[number, LineStats]> = [];
    const originalLines = origins.filter((o) => o?.source === head.source).map((o) => o!.line);
    for (const [line, stats] of fn.lines) {
      const o = origins[line - fn.startLine];
      if (!o || o.source !== head.source) {
        unmapped.push([line, stats]);
        continue;
      }
      const existing = mapped.get(o.line);
      mapped.set(o.line, existing ? sumStats(existing, stats) : { ...stats });
    }
    const startLine = Math.min(...originalLines, ...mapped.keys());
    const endLine = Math.max(...originalLines, ...mapped.keys());
    const sourcePath = resolveSource(head.source, loaded);
    const content =
      consumer.sourceContentFor(head.source, true) ?? readIfExists(sourcePath) ?? undefined;
    const lines = content ? splitLines(content) : [];
    const original: AgentFunctionReport = {
      ...fn,
      file: sourcePath,
      url: head.source,
      startLine,
      endLine,
      source: Array.from({ length: endLine - startLine + 1 }, (_, i) => lines[startLine - 1 + i] ?? ''),
      lines: [...mapped].sort((a, b) => a[0] - b[0]),
      instrumentedLines: [...mapped.keys()].sort((a, b) => a - b),
      sourceMapURL: undefined,
    };
    if (unmapped.length === 0) return [original];
    const generated: AgentFunctionReport = {
      ...fn,
      name: `${fn.name} (generated lines without a mapping)`,
      lines: unmapped,
      sourceMapURL: undefined,
    };
    return [original, generated];
  } finally {
    consumer.destroy();
  }
}

function resolveSource(source: string, loaded: LoadedSourceMap): string {
  if (source.startsWith('file:')) return new URL(source).pathname;
  return path.resolve(loaded.directory, loaded.map.sourceRoot ?? '', source);
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function sumStats(a: LineStats, b: LineStats): LineStats {
  return {
    occurrences: a.occurrences + b.occurrences,
    allocatedBytes: a.allocatedBytes + b.allocatedBytes,
    netBytes: a.netBytes + b.netBytes,
    externalBytes: a.externalBytes + b.externalBytes,
    peakHeapInUse: Math.max(a.peakHeapInUse, b.peakHeapInUse),
    gcIntervals: a.gcIntervals + b.gcIntervals,
    thrownIntervals: a.thrownIntervals + b.thrownIntervals,
    suspensions: a.suspensions + b.suspensions,
    suspendedBytes: a.suspendedBytes + b.suspendedBytes,
  };
}
