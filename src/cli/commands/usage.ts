/** `lineprof usage`: memory over time, like memory_profiler's `mprof run` / `memory_usage`. */
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../errors';
import { OVER_BUDGET_EXIT, peakVerdict } from '../../budget';
import { BYTE_UNITS } from '../../report/format';
import type { ByteFormat, ByteUnit } from '../../report/format';
import { renderCsv, summaryLine } from '../../usage/model';
import { renderChart } from '../../usage/chart';
import type { UsageResult } from '../../usage/model';
import { DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, sampleUsage } from '../../commands/usage';
import type { UsageOptions } from '../../commands/usage';
import { checkWholeNumber } from '../../core/options';
import { checkWritable, say, sizeOption, warn, writeFile } from '../output';
import { onSignals } from '../signals';
import { checkSavable, saveResult } from '../../results/store';
import { isAddressTarget } from '../argv';
import { exitStatus } from '../../core/exit-status';

interface UsageArgs {
  target?: string;
  pid?: number;
  interval: number;
  timeout?: number;
  'include-children': boolean;
  json?: string;
  csv?: string;
  save?: boolean;
  chart?: boolean;
  'max-peak'?: string;
  function: string[];
  line: string[];
  'node-arg': string[];
  markers: boolean;
  'allow-remote': boolean;
  unit: ByteUnit;
  precision: number;
}


export const makeUsageCommand = (scriptArgs: string[]): CommandModule<object, UsageArgs> => ({
  command: 'usage [target] [args..]',
  describe: 'Sample the memory of a script (or a running process) over time, with the calls of marked functions',
  builder: (y: Argv) =>
    y
      .positional('target', { type: 'string', describe: 'A script to run, or host:port of a Node inspector' })
      .positional('args', { type: 'string', array: true, describe: "The script's own arguments (passed untouched)" })
      .option('pid', { type: 'number', describe: 'Sample this running process (any program; RSS only)' })
      .option('interval', {
        type: 'number',
        default: DEFAULT_INTERVAL_SECONDS,
        describe: `Seconds between samples (from ${MIN_INTERVAL_SECONDS})`,
      })
      .option('timeout', { type: 'number', describe: 'Stop after this many seconds (a script lineprof started is ended)' })
      .option('include-children', { type: 'boolean', default: false, describe: "Add the RSS of the process's children" })
      .option('json', { type: 'string', describe: 'Write every sample and span as JSON to FILE (docs/usage.md)' })
      .option('csv', { type: 'string', describe: 'Write every sample as CSV to FILE' })
      .option('save', { type: 'boolean', describe: 'Also save the result as ./.lineprof/usage-TIME.json (lineprof list, lineprof plot)' })
      .option('chart', { type: 'boolean', describe: 'Draw a chart in the terminal (default: when stdout is a terminal)' })
      .option('max-peak', { type: 'string', describe: 'Fail (exit 3) if the peak RSS exceeds SIZE, e.g. 200MiB' })
      .option('function', { nargs: 1, alias: 'f', type: 'string', array: true, default: [], describe: 'Record the calls of functions of this name as spans; repeatable' })
      .option('line', { nargs: 1, alias: 'l', type: 'string', array: true, default: [], describe: 'Record the calls of the innermost function containing FILE:LINE; repeatable' })
      .option('node-arg', { nargs: 1, type: 'string', array: true, default: [], describe: 'Pass a flag to node; repeatable' })
      .option('markers', { type: 'boolean', default: true, describe: 'Record the calls of `// @profile` functions as spans' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'Allow an inspector address that is not loopback' })
      .option('unit', { choices: BYTE_UNITS, default: 'auto' as ByteUnit, describe: 'Unit of the figures printed' })
      .option('precision', { type: 'number', default: 2, describe: 'Digits after the decimal point for KiB and larger' })
      .example('$0 usage --interval 0.01 app.js', 'sample app.js every 10 ms until it ends')
      .example('$0 usage --pid 4242 --timeout 30 --csv mem.csv', 'sample a running process for 30 s')
      .example('$0 usage --max-peak 200MiB test/load.js', 'fail if the script ever holds more than 200 MiB')
      .epilog('Then: lineprof plot result.json -o plot.svg draws the samples and the spans.') as Argv<UsageArgs>,
  handler: async (args) => {
    for (const file of [args.json, args.csv]) if (file) checkWritable(file);
    if (args.save) checkSavable();
    const maxPeak = args['max-peak'] === undefined ? undefined : sizeOption('--max-peak', args['max-peak']);
    const format: ByteFormat = { unit: args.unit, precision: args.precision };
    const target = args.target;
    const isAddress = target !== undefined && isAddressTarget(target);
    if (args.pid !== undefined && target !== undefined) {
      throw new UsageError('give either a script (or host:port) or --pid, not both');
    }
    if ((args.pid !== undefined || isAddress) && scriptArgs.length > 0) {
      // Only a script takes arguments: anything after host:port would be lost silently.
      throw new UsageError(`unexpected ${scriptArgs.join(' ')} after ${target ?? `--pid ${args.pid}`}: only a script takes arguments`);
    }
    checkWholeNumber('--precision', args.precision, 0, 9);
    const options: UsageOptions = {
      ...(args.pid !== undefined ? { pid: args.pid } : isAddress ? { address: target } : { script: target }),
      args: scriptArgs,
      nodeArgs: args['node-arg'],
      intervalSeconds: args.interval,
      timeoutSeconds: args.timeout,
      includeChildren: args['include-children'],
      functions: args.function,
      lines: args.line,
      markers: args.markers,
      allowRemote: args['allow-remote'],
    };
    const handle = sampleUsage(options);
    // Ctrl-C ends the sampling; a script lineprof started gets the signal too and its figures are kept.
    const removeSignalHandlers = onSignals(handle);
    let result: UsageResult;
    try {
      result = await handle.done;
    } finally {
      removeSignalHandlers();
    }
    warn(result.warnings);
    if (args.chart ?? process.stdout.isTTY) process.stdout.write(renderChart(result, format, chartWidth()));
    process.stdout.write(summaryLine(result, format) + '\n');
    if (args.json) writeFile(args.json, JSON.stringify(result, null, 2) + '\n');
    if (args.csv) writeFile(args.csv, renderCsv(result));
    if (args.save) say(`saved ${saveResult(result)}`);
    const exit = result.exit;
    // A script lineprof ended at the timeout did what was asked: that is a success, not its SIGTERM. Otherwise (its
    // own end, or Ctrl-C) the status is the script's, as under `run`; a process sampled from outside has none.
    process.exitCode =
      exit && result.endedBy !== 'timeout' ? exitStatus({ code: exit.code, signal: exit.signal as NodeJS.Signals | null }) : 0;
    const verdict = maxPeak === undefined ? undefined : peakVerdict(result, maxPeak);
    if (verdict) {
      say(verdict);
      if (process.exitCode === 0) process.exitCode = OVER_BUDGET_EXIT;
    }
  },
});

/** The chart fills the terminal's width (80 when stdout is not a terminal, e.g. `--chart > file`). */
function chartWidth(): number {
  return process.stdout.columns || 80;
}
