/**
 * The line table, in memory_profiler's layout with the columns that make it truthful for V8. Renders from the
 * ProfileResult alone, so `lineprof report` gives the same table from saved JSON. Pure.
 */
import type { FunctionProfile, LineProfile, ProfileResult } from '../model/types';
import { formatBytes } from './format';
import type { ByteFormat } from './format';
import { conditionalLegend, tableLegend } from './columns';

const NUM_WIDTH = 13;

export function renderText(result: ProfileResult, format: ByteFormat): string {
  const out: string[] = [];
  let lastFile = '';
  for (const fn of result.functions) {
    if (fn.file !== lastFile) {
      out.push(`Filename: ${printable(fn.file)}`, '');
      lastFile = fn.file;
    }
    out.push(...renderFunction(fn, format), '');
  }
  if (result.functions.length > 0) {
    // The legend comes from the columns' definitions, as `lineprof run --help` and docs/columns.md do.
    out.push(...tableLegend());
    const engine = result.stats.engine ?? 'breakpoints';
    out.push(
      engine === 'probes'
        ? result.command === 'attach'
          ? 'Read by source probes: the scripts of the marked functions were edited in place (LiveEdit) while attached, and put back on detach.'
          : 'Read by source probes: the marked functions were instrumented as they loaded (node ran with --single-threaded).'
        : 'Read by inspector breakpoints: V8 kept the marked functions in its interpreter and allocated for the debugger ' +
          '(measured +5 % on a tokenizer); probes read them without that cost.',
    );
    if (result.functions.some(hasSuspensions)) {
      out.push(conditionalLegend('Suspended'));
    }
    const between = betweenLinesNote(result, format);
    if (between) out.push(between);
  }
  return out.join('\n') + '\n';
}

/**
 * Mem usage is the heap after each line, Increment what the line itself did: when collections ran outside every line
 * (lineprof's own work between two lines: a probe log flush, its forced GCs under breakpoints), Mem usage falls there
 * with no line's Increment to show it. Said only when it happened.
 */
function betweenLinesNote(result: ProfileResult, format: ByteFormat): string | undefined {
  const { stats } = result;
  const freed = stats.freedBetweenLines ?? 0;
  if (freed > 0) {
    return (
      `Mem usage fell by ${formatBytes(freed, format)} between lines, with no line's Increment: ` +
      `${stats.collectionsBetweenLines} collection(s) ran in lineprof's own work there and freed the program's garbage.`
    );
  }
  if ((stats.forcedGcs ?? 0) > 0) {
    return (
      `Mem usage may fall between lines with no line's Increment: lineprof ran ${stats.forcedGcs} full collection(s) ` +
      'between lines (--gc-every), which freed the program\'s garbage.'
    );
  }
  return undefined;
}

function hasSuspensions(fn: FunctionProfile): boolean {
  return fn.lines.some((line) => line.suspensions > 0);
}

export function renderFunction(fn: FunctionProfile, format: ByteFormat): string[] {
  // The Suspended column appears for functions that were suspended (async functions and generators) only.
  const suspended = hasSuspensions(fn);
  const callText = `${fn.calls} call${fn.calls === 1 ? '' : 's'}` + (fn.openCalls > 0 ? `, ${fn.openCalls} unfinished` : '');
  const header =
    pad('Line #', 6, 'right') +
    pad('Mem usage', NUM_WIDTH, 'right') +
    pad('Increment', NUM_WIDTH + 1, 'right') +
    pad('Allocated', NUM_WIDTH, 'right') +
    pad('External', NUM_WIDTH, 'right') +
    pad('Occurrences', 13, 'right') +
    (suspended ? pad('Suspended', NUM_WIDTH + 6, 'right') : '') +
    '   Line Contents';
  const rows = fn.lines.map((line) => renderLine(line, format, suspended));
  return [
    `Function: ${printable(fn.name)} (lines ${fn.startLine}-${fn.endLine})` +
      (fn.thread !== undefined ? ` (worker thread ${fn.thread})` : '') +
      `: ${callText}` +
      (fn.engine && fn.engine !== 'probes' ? `, read by ${fn.engine}` : ''),
    '',
    header,
    '='.repeat(header.length),
    ...rows,
    '',
    `Total: allocated ${formatBytes(fn.allocatedBytes, format)}, increment ${formatBytes(fn.netBytes, format)}, ` +
      `external ${formatBytes(fn.externalBytes, format)}`,
  ];
}

function renderLine(line: LineProfile, format: ByteFormat, suspendedColumn: boolean): string {
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
    (suspendedColumn ? pad(suspendedCell(line, format), NUM_WIDTH + 6, 'right') : '') +
    '   ' +
    printable(line.content)
  ).trimEnd();
}

/** `1.2 MiB (3x)`: bytes allocated while suspended on the line, and how many suspensions. */
function suspendedCell(line: LineProfile, format: ByteFormat): string {
  return line.suspensions > 0 ? `${formatBytes(line.suspendedBytes, format)} (${line.suspensions}x)` : '';
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/**
 * Text from the program or a result file, safe for a terminal: control characters (an escape sequence could move
 * the cursor, retitle the window or hide lines) are shown as `\xNN` instead of being sent raw.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}
