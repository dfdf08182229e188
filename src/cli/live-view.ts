/**
 * What `lineprof attach` shows while it is attached. On a terminal: the line tables with running totals, redrawn in
 * place (at most every 250 ms, as progress arrives). Otherwise: one progress line on stderr at most every second.
 */
import type { AttachProgress } from '../commands/attach';
import { formatBytes } from '../report/format';
import type { ByteFormat } from '../report/format';
import { renderText } from '../report/text';

export interface ProgressDisplay {
  update(progress: AttachProgress): void;
  /** Leaves the screen ready for the final output. */
  close(): void;
}

const HOME_AND_CLEAR = '\x1b[H\x1b[2J';

/** What the live view needs of a terminal: its size (re-read at each draw), and its 'resize' event when it has one. */
export interface LiveTerminal {
  columns?: number;
  rows?: number;
  write(text: string): unknown;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export function liveView(out: LiveTerminal, label: string, format: ByteFormat): ProgressDisplay {
  let drawn = false;
  let lastTables = '';
  let last: AttachProgress | null = null;
  const draw = (): void => {
    if (!last) return;
    // The time and the calls are what the header is for: a long label (a ws:// URL) gives way to them; what comes
    // after them is cut at the terminal's edge.
    const essential = headline(label, last).length;
    // One column is kept for the '…' that cuts the rest of the line.
    const over = essential - ((out.columns || 80) - 1);
    const head = over <= 0 ? header(label, last, format) : header(`${label.slice(0, Math.max(8, label.length - over - 1))}…`, last, format);
    out.write(`${HOME_AND_CLEAR}${fitScreen([head, '', ...lastTables.split('\n')], out.columns, out.rows)}`);
    drawn = true;
  };
  // A resized terminal is redrawn at once at its new size, not at the next progress report.
  out.on?.('resize', draw);
  return {
    update(progress) {
      if (progress.result) lastTables = renderText(progress.result, format);
      last = progress;
      draw();
    },
    close() {
      out.off?.('resize', draw);
      if (drawn) out.write(HOME_AND_CLEAR);
      drawn = false;
    },
  };
}

/**
 * The screen's lines cut to the terminal: none longer than its columns (a wrapped line would push the top off the
 * screen), and one line fewer than its rows (the last is written without a newline, so nothing scrolls); tables
 * longer than that end with a line saying how many lines are not shown.
 */
export function fitScreen(lines: string[], columns = 80, rows = 24): string {
  const width = Math.max(1, columns || 80);
  const height = Math.max(2, (rows || 24) - 1);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines = lines.slice(0, -1);
  const shown = lines.length <= height ? lines : [...lines.slice(0, height - 1), `… ${lines.length - height + 1} more lines`];
  return shown.map((l) => cut(l, width)).join('\n');
}

function cut(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}

export function progressLine(out: NodeJS.WritableStream, label: string, format: ByteFormat): ProgressDisplay {
  let last = 0;
  return {
    update(progress) {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      out.write(`lineprof: ${header(label, progress, format)}\n`);
    },
    close() {},
  };
}

/** The part of the header a terminal must always show: the time attached and the calls. */
function headline(label: string, p: AttachProgress): string {
  return `attached to ${label}: ${(p.elapsedMs / 1000).toFixed(1)} s, ${p.calls} calls`;
}

function header(label: string, p: AttachProgress, format: ByteFormat): string {
  return (
    `${headline(label, p)}, ${p.hits} hits, ` +
    `heap ${formatBytes(p.heapUsed, { ...format, unit: format.unit === 'B' ? 'B' : 'auto' })} (Ctrl-C to detach)`
  );
}
