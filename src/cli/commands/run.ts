/** `lineprof run [options] <script> [args…]`: like `python -m memory_profiler script.py`. */
import type { Argv, CommandModule } from 'yargs';
import { columnHelp } from '../../report/columns';
import { startRun } from '../../commands/run';
import { DEFAULT_GC_EVERY } from '../../core/options';
import { describeExit, exitStatus } from '../../core/exit-status';
import { incrementVerdict, OVER_BUDGET_EXIT } from '../../budget';
import { checkOutputArgs, say, sizeOption, warn, withOutputOptions, writeResult } from '../output';
import type { OutputArgs } from '../output';
import { onSignals } from '../signals';
import { checkSavable, saveResult } from '../../results/store';

interface RunArgs extends OutputArgs {
  script: string;
  function: string[];
  line: string[];
  'node-arg': string[];
  markers: boolean;
  'include-node-modules': boolean;
  'gc-every': number;
  engine: 'probes' | 'breakpoints';
  'max-increment'?: string;
  save?: boolean;
}

const COLUMN_HELP = columnHelp();

/** `scriptArgs` are the script's own arguments, split off before yargs sees the command line (see ../argv.ts). */
export const makeRunCommand = (scriptArgs: string[]): CommandModule<object, RunArgs> => ({
  command: 'run [options] <script> [args..]',
  describe: 'Run a script and print the line table of each marked function when it ends',
  builder: (y: Argv) =>
    withOutputOptions(
      y
        .positional('script', { type: 'string', demandOption: true, describe: 'The script to run' })
        .positional('args', { type: 'string', array: true, describe: "The script's own arguments (passed untouched)" })
        .option('function', {
          nargs: 1,
          alias: 'f',
          type: 'string',
          array: true,
          default: [],
          describe: 'Profile functions of this name (plain `load` or qualified `Store.load`); repeatable',
        })
        .option('line', {
          nargs: 1,
          alias: 'l',
          type: 'string',
          array: true,
          default: [],
          describe: 'Profile the innermost function containing FILE:LINE; repeatable',
        })
        .option('node-arg', {
          nargs: 1,
          type: 'string',
          array: true,
          default: [],
          describe: 'Pass a flag to node, e.g. --node-arg=--no-opt; repeatable',
        })
        .option('markers', {
          type: 'boolean',
          default: true,
          describe: 'Honour `// @profile` comments (--no-markers to ignore them)',
        })
        .option('include-node-modules', {
          type: 'boolean',
          default: false,
          describe: 'Also look for marked functions in node_modules',
        })
        .option('max-increment', {
          type: 'string',
          describe: 'Fail (exit 3) if one call of a marked function grows the JS heap by more than SIZE, e.g. 10MiB',
        })
        .option('engine', {
          choices: ['probes', 'breakpoints'] as const,
          default: 'probes' as const,
          describe:
            'How lines are read: probes (instrumented as modules load, <1 µs a line) or breakpoints (the inspector, ' +
            '~50-100 µs a line, for code the hooks cannot reach)',
        })
        .option('save', { type: 'boolean', describe: 'Also save the result as ./.lineprof/run-TIME.json (lineprof list, lineprof plot)' })
        .option('gc-every', {
          type: 'number',
          default: DEFAULT_GC_EVERY,
          describe: "Breakpoints: run a full GC outside lineprof's readings every N hits, keeping them fast (0: never)",
        })
        .example('$0 run fixtures/allocate.js', 'profile the functions marked with // @profile')
        .example('$0 run -f Store.load app.js --port 3000', 'profile Store.load; app.js gets --port 3000')
        .epilog(`Columns of the table:\n${COLUMN_HELP}\n\nMarks: a \`// @profile\` comment on the line directly above a function (or \`/* @profile */\` just before it).`),
    ) as Argv<RunArgs>,
  handler: async (args) => {
    checkOutputArgs(args);
    if (args.save) checkSavable();
    const maxIncrement = args['max-increment'] === undefined ? undefined : sizeOption('--max-increment', args['max-increment']);
    const handle = startRun({
      script: args.script,
      args: scriptArgs,
      nodeArgs: args['node-arg'],
      functions: args.function,
      lines: args.line,
      markers: args.markers,
      includeNodeModules: args['include-node-modules'],
      gcEvery: args['gc-every'],
      engine: args.engine,
    });
    const removeSignalHandlers = onSignals(handle);
    try {
      const { result, exit } = await handle.done;
      warn(result.warnings);
      if (exit.signal) say(`the script was ${describeExit(exit)}`);
      else if (exit.code !== 0) say(`the script ended with ${describeExit(exit)}`);
      process.exitCode = exitStatus(exit);
      writeResult(result, args);
      if (args.save) say(`saved ${saveResult(result)}`);
      const verdict = maxIncrement === undefined ? undefined : incrementVerdict(result, maxIncrement);
      if (verdict) {
        say(verdict);
        if (process.exitCode === 0) process.exitCode = OVER_BUDGET_EXIT;
      }
    } finally {
      removeSignalHandlers();
    }
  },
});


