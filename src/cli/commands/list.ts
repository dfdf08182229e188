/** `lineprof list`: the results saved with --save in ./.lineprof/, newest last (as `mprof list`). */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { formatBytes } from '../../report/format';
import { printable } from '../../report/text';
import { listSaved, STORE_DIR } from '../../results/store';

export const listCommand: CommandModule = {
  command: 'list',
  describe: `List the results saved with --save in ./${STORE_DIR}/, newest last`,
  builder: (y) => y.example('$0 list', 'then: lineprof plot -o plot.svg draws the last one'),
  handler: () => {
    const entries = listSaved();
    if (entries.length === 0) {
      process.stdout.write(`(no saved results in ${path.join(process.cwd(), STORE_DIR)}: lineprof usage --save or run --save adds one)\n`);
      return;
    }
    const format = { unit: 'auto' as const, precision: 2 };
    const rows = entries.map((e) => [
      e.file,
      e.command,
      e.error ? `(${e.error})` : e.target,
      e.date,
      e.peak ? `${formatBytes(e.peak.bytes, format)} ${e.peak.of}` : '—',
    ]);
    const header = ['file', 'command', 'target', 'date', 'peak'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    // Targets and file names come from the files: shown, never obeyed, by the terminal.
    process.stdout.write([line(header), ...rows.map((r) => printable(line(r)))].join('\n') + '\n');
  },
};
