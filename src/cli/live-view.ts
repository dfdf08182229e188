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

export function liveView(out: NodeJS.WriteStream, label: string, format: ByteFormat): ProgressDisplay {
  let drawn = false;
  let lastTables = '';
  return {
    update(progress) {
      if (progress.result) lastTables = renderText(progress.result, format);
      const rows = Math.max(10, (out.rows || 40) - 3);
      const body = lastTables.split('\n').slice(0, rows).join('\n');
      out.write(`${HOME_AND_CLEAR}${header(label, progress, format)}\n\n${body}`);
      drawn = true;
    },
    close() {
      if (drawn) out.write(HOME_AND_CLEAR);
      drawn = false;
    },
  };
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

function header(label: string, p: AttachProgress, format: ByteFormat): string {
  return (
    `attached to ${label}: ${(p.elapsedMs / 1000).toFixed(1)} s, ${p.calls} calls, ${p.hits} hits, ` +
    `heap ${formatBytes(p.heapUsed, { ...format, unit: format.unit === 'B' ? 'B' : 'auto' })} (Ctrl-C to detach)`
  );
}
