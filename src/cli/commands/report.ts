/**
 * `lineprof report <result.json>`: re-render a saved result: the tables of a run/attach result, or the summary line
 * (and chart) of a usage result, as the command printed them.
 */
import type { Argv, CommandModule } from 'yargs';
import type { ProfileResult } from '../../model/types';
import { readResultFile } from '../../results/store';
import { renderChart } from '../../usage/chart';
import { summaryLine } from '../../usage/model';
import type { UsageResult } from '../../usage/model';
import { checkOutputArgs, withOutputOptions, writeFile, writeResult } from '../output';
import type { OutputArgs } from '../output';

interface ReportArgs extends OutputArgs {
  file: string;
  chart?: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <file>',
  describe: 'Print the tables of a result saved with --json (or a usage result: its summary and chart)',
  builder: (y: Argv) =>
    withOutputOptions(
      y
        .positional('file', { type: 'string', demandOption: true, describe: 'A result written by --json or --save' })
        .option('chart', { type: 'boolean', describe: 'A usage result: draw its chart (default: when stdout is a terminal)' }),
    ) as Argv<ReportArgs>,
  handler: (args) => {
    // --json writes the result again (checked, in this lineprof's schema): a copy, or a file made whole again.
    checkOutputArgs(args);
    const result = readResultFile(args.file);
    if (result.command !== 'usage') {
      writeResult(result as ProfileResult, args);
      return;
    }
    const format = { unit: args.unit, precision: args.precision };
    const toTerminal = !args.output;
    const chart = (args.chart ?? (toTerminal && process.stdout.isTTY === true))
      ? renderChart(result as UsageResult, format, (toTerminal && process.stdout.columns) || 80)
      : '';
    const text = chart + summaryLine(result as UsageResult, format) + '\n';
    if (args.output) writeFile(args.output, text);
    else process.stdout.write(text);
    if (args.json) writeFile(args.json, JSON.stringify(result, null, 2) + '\n');
  },
};
