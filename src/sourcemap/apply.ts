/**
 * The last step of source mapping, in the controller. The agent already keeps a source-mapped function's figures per
 * original line (it must know them before the script runs: occurrences are counted per line); break locations that
 * map nowhere in the function's original file are kept under their negated generated line. Those are shown apart,
 * as a second table under the generated file, never dropped. Pure.
 */
import type { LineStats } from '../attribution/attributor';
import type { AgentFunctionReport, AgentReport } from '../wire/agent-report';

export function separateUnmappedLines(report: AgentReport): AgentReport {
  return { ...report, functions: report.functions.flatMap(separate) };
}

function separate(fn: AgentFunctionReport): AgentFunctionReport[] {
  const generated = fn.generated;
  if (!generated) return [fn];
  const mapped = fn.lines.filter(([line]) => line > 0);
  const unmapped = fn.lines.filter(([line]) => line < 0).map(([line, stats]): [number, LineStats] => [-line, stats]);
  const original: AgentFunctionReport = {
    ...fn,
    lines: mapped,
    instrumentedLines: fn.instrumentedLines.filter((line) => line > 0),
  };
  if (unmapped.length === 0 && !fn.instrumentedLines.some((line) => line < 0)) return [original];
  return [
    original,
    {
      ...fn,
      name: `${fn.name} (generated lines without a mapping)`,
      url: generated.url,
      file: generated.file,
      startLine: generated.startLine,
      endLine: generated.endLine,
      source: generated.source,
      lines: unmapped.sort((a, b) => a[0] - b[0]),
      instrumentedLines: fn.instrumentedLines.filter((line) => line < 0).map((line) => -line).sort((a, b) => a - b),
      // The function's calls; totals of these lines only (the original's table has the function's).
      allocatedBytes: sum(unmapped, 'allocatedBytes'),
      netBytes: sum(unmapped, 'netBytes'),
      externalBytes: sum(unmapped, 'externalBytes'),
      maxCallNetBytes: null,
      generated: undefined,
    },
  ];
}

function sum(lines: Array<[number, LineStats]>, field: 'allocatedBytes' | 'netBytes' | 'externalBytes'): number {
  return lines.reduce((total, [, stats]) => total + stats[field], 0);
}
