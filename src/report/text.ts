/**
 * The line table, in memory_profiler's layout with the columns that make it truthful for V8. Renders from the
 * ProfileResult alone, so `lineprof report` gives the same table from saved JSON. Pure.
 */
import type { FunctionProfile, LineProfile, ProfileResult } from '../model/types';
import { formatBytes } from './format';
import type { ByteFormat } from './format';

const NUM_WIDTH = 13;

export function renderText(result: ProfileResult, format: ByteFormat): string {
  const out: string[] = [];
  let lastFile = '';
  for (const fn of result.functions) {
    if (fn.file !== lastFile) {
      out.push(`Filename: ${fn.file}`, '');
      lastFile = fn.file;
    }
    out.push(...renderFunction(fn, format), '');
  }
  if (result.functions.length > 0) {
    out.push(
      'Increment = heap change (net), Allocated = bytes allocated (gross), External = ArrayBuffer/Buffer memory.',
      '* a GC ran during the line: Increment includes what it freed, Allocated does not.  ' +
        '! left by a throw here.',
      'Figures include what each line\'s calls allocated. See `lineprof run --help` or docs/columns.md.',
    );
  }
  return out.join('\n') + '\n';
}

export function renderFunction(fn: FunctionProfile, format: ByteFormat): string[] {
  const callText = `${fn.calls} call${fn.calls === 1 ? '' : 's'}` + (fn.openCalls > 0 ? `, ${fn.openCalls} unfinished` : '');
  const header =
    pad('Line #', 6, 'right') +
    pad('Mem usage', NUM_WIDTH, 'right') +
    pad('Increment', NUM_WIDTH + 1, 'right') +
    pad('Allocated', NUM_WIDTH, 'right') +
    pad('External', NUM_WIDTH, 'right') +
    pad('Occurrences', 13, 'right') +
    '   Line Contents';
  const rows = fn.lines.map((line) => renderLine(line, format));
  return [
    `Function: ${fn.name} (lines ${fn.startLine}-${fn.endLine}): ${callText}`,
    '',
    header,
    '='.repeat(header.length),
    ...rows,
    '',
    `Total: allocated ${formatBytes(fn.allocatedBytes, format)}, increment ${formatBytes(fn.netBytes, format)}, ` +
      `external ${formatBytes(fn.externalBytes, format)}`,
  ];
}

function renderLine(line: LineProfile, format: ByteFormat): string {
  const ran = line.occurrences > 0 || line.memUsageBytes !== null;
  const bytes = (n: number) => (ran ? formatBytes(n, format) : '');
  const mark = (line.gcAffected > 0 ? '*' : '') + (line.thrownIntervals > 0 ? '!' : '');
  return (
    pad(String(line.line), 6, 'right') +
    pad(line.memUsageBytes === null ? '' : formatBytes(line.memUsageBytes, format), NUM_WIDTH, 'right') +
    pad(bytes(line.netBytes) + (ran ? mark.padEnd(1) : ' '), NUM_WIDTH + 1, 'right') +
    pad(bytes(line.allocatedBytes), NUM_WIDTH, 'right') +
    pad(bytes(line.externalBytes), NUM_WIDTH, 'right') +
    pad(ran ? String(line.occurrences) : '', 13, 'right') +
    '   ' +
    line.content
  ).trimEnd();
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}
