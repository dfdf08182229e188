/** `lineprof attach [host:port | ws://…] | --pid PID`: profile marked functions in a running process, then detach. */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_MAX_EDIT_PAUSE_MS, listTarget, startAttach } from '../../commands/attach';
import type { ScriptListing } from '../../agent/agent';
import type { AttachEnd } from '../../commands/attach';
import { DEFAULT_GC_EVERY } from '../../core/options';
import { onSignals } from '../signals';
import { DEFAULT_INSPECTOR } from '../../target/endpoint';
import { liveView, progressLine } from '../live-view';
import { printable } from '../../report/text';
import { incrementVerdict, OVER_BUDGET_EXIT } from '../../budget';
import { checkOutputArgs, say, sizeOption, warn, withOutputOptions, writeResult } from '../output';
import type { OutputArgs } from '../output';

interface AttachArgs extends OutputArgs {
  address?: string;
  pid?: number;
  'allow-remote': boolean;
  function: string[];
  line: string[];
  markers: boolean;
  'include-node-modules': boolean;
  duration?: number;
  calls?: number;
  'gc-every': number;
  live?: boolean;
  list: boolean;
  'max-increment'?: string;
  engine: 'auto' | 'probes' | 'breakpoints';
  'max-edit-pause': number;
}

const ENDINGS: Record<AttachEnd, string> = {
  duration: 'the duration elapsed',
  calls: 'the marked functions reached the number of calls asked for',
  interrupted: 'interrupted',
  'target-exit': 'the target exited',
  'connection-lost': 'the connection to the target was lost',
  'until-stopped': 'stopped',
};

export const attachCommand: CommandModule<object, AttachArgs> = {
  command: 'attach [address]',
  describe: 'Profile marked functions in a running Node.js process, then detach and print the tables',
  builder: (y: Argv) =>
    withOutputOptions(
      y
        .positional('address', {
          type: 'string',
          describe: `host:port or ws:// URL of the process's inspector (default ${DEFAULT_INSPECTOR})`,
        })
        .option('pid', { type: 'number', describe: 'Attach to this Node.js process, opening its inspector (SIGUSR1)' })
        .option('allow-remote', {
          type: 'boolean',
          default: false,
          describe: 'Accept a non-loopback address (the inspector has no authentication)',
        })
        .option('function', { alias: 'f', type: 'string', array: true, nargs: 1, default: [], describe: 'Profile functions of this name; repeatable' })
        .option('line', { alias: 'l', type: 'string', array: true, nargs: 1, default: [], describe: 'Profile the innermost function containing FILE:LINE; repeatable' })
        .option('markers', { type: 'boolean', default: true, describe: 'Honour `// @profile` comments in the loaded source' })
        .option('include-node-modules', { type: 'boolean', default: false, describe: 'Also look in node_modules' })
        .option('duration', { type: 'number', describe: 'Detach after SECONDS' })
        .option('calls', { type: 'number', describe: 'Detach after N calls of the marked functions, all together (not N of each)' })
        .option('max-increment', {
          type: 'string',
          describe: 'Fail (exit 3) if one call of a marked function grew the JS heap by more than SIZE, e.g. 10MiB',
        })
        .option('engine', {
          choices: ['auto', 'probes', 'breakpoints'] as const,
          default: 'auto' as const,
          describe:
            'How lines are read: probes (the scripts edited in place by LiveEdit and put back on detach, <1 µs a ' +
            'line; Node 20-24), breakpoints (the inspector, ~50-100 µs a line), or auto: probes where the Node has ' +
            'LiveEdit, else breakpoints',
        })
        .option('max-edit-pause', {
          type: 'number',
          default: DEFAULT_MAX_EDIT_PAUSE_MS,
          describe: 'Probes: a script whose edit would stop the process longer than MS (estimated) keeps breakpoints',
        })
        .option('gc-every', { type: 'number', default: DEFAULT_GC_EVERY, describe: 'Full GC every N hits, outside every reading (breakpoints)' })
        .option('list', {
          type: 'boolean',
          default: false,
          describe: "List the process's scripts and their functions (marked ones starred), then detach",
        })
        .option('live', {
          type: 'boolean',
          describe: 'Redraw the tables while attached (default: when stdout is a terminal; --no-live for a progress line)',
        })
        .conflicts('pid', 'address')
        .example('$0 attach --duration 30', 'profile the process listening on 127.0.0.1:9229 for 30 s')
        .example('$0 attach --pid 4242 -f handleRequest --calls 100', 'open the inspector of process 4242'),
    ) as Argv<AttachArgs>,
  handler: async (args) => {
    if (args.list) {
      const { label, scripts } = await listTarget({
        address: args.address,
        pid: args.pid,
        allowRemote: args['allow-remote'],
        functions: args.function,
        markers: args.markers,
        includeNodeModules: args['include-node-modules'],
      });
      process.stdout.write(renderListing(label, scripts));
      return;
    }
    checkOutputArgs(args);
    const maxIncrement = args['max-increment'] === undefined ? undefined : sizeOption('--max-increment', args['max-increment']);
    const format = { unit: args.unit, precision: args.precision };
    const live = args.live ?? process.stdout.isTTY === true;
    const label = printable(args.pid !== undefined ? `PID ${args.pid}` : (args.address ?? DEFAULT_INSPECTOR));
    const status = live ? liveView(process.stdout, label, format) : progressLine(process.stderr, label, format);
    const handle = startAttach({
        address: args.address,
        pid: args.pid,
        allowRemote: args['allow-remote'],
        functions: args.function,
        lines: args.line,
        markers: args.markers,
        includeNodeModules: args['include-node-modules'],
        gcEvery: args['gc-every'],
        engine: args.engine,
        maxEditPauseMs: args['max-edit-pause'],
        durationMs: args.duration !== undefined ? args.duration * 1000 : undefined,
        calls: args.calls,
      onProgress: (p) => status.update(p),
      liveReports: live,
    });
    // A closed terminal (SIGHUP) detaches as Ctrl-C does: the target is put back before lineprof goes.
    const removeSignalHandlers = onSignals(handle);
    try {
      const { result, ended } = await handle.done;
      status.close();
      say(`detached (${ENDINGS[ended]})`);
      warn(result.warnings);
      writeResult(result, args);
      const verdict = maxIncrement === undefined ? undefined : incrementVerdict(result, maxIncrement);
      if (verdict) {
        say(verdict);
        process.exitCode = OVER_BUDGET_EXIT;
      }
    } finally {
      status.close();
      removeSignalHandlers();
    }
  },
};

function renderListing(label: string, scripts: ScriptListing[]): string {
  const out = [`Scripts of ${label} (* marked; mark with // @profile, --function NAME or --line FILE:LINE):`, ''];
  for (const script of scripts) {
    // Names and paths are the target's: shown, never obeyed, by the terminal.
    out.push(printable(script.error ? `${script.file}  (not parsed: ${script.error})` : script.file));
    for (const f of script.functions) out.push(`  ${f.marked ? '*' : ' '} ${String(f.line).padStart(5)}  ${printable(f.name)}`);
  }
  if (scripts.length === 0) out.push('(no scripts of the program are loaded yet)');
  return out.join('\n') + '\n';
}
