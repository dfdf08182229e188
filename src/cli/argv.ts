import * as fs from 'node:fs';
import { UsageError } from '../errors';

/**
 * Splits `lineprof run [lineprof options] <script> [script args…]`: everything from the script on belongs to the
 * script, flags included (c8's hideInstrumenteeArgs). yargs alone cannot stop at the script without also stopping at
 * the command name.
 */

/** lineprof options of `run` and `usage` that take a value (so the token after them is not the script). */
const VALUE_OPTIONS = new Set([
  '--pid',
  '--interval',
  '--timeout',
  '--csv',
  '--max-peak',
  '--max-increment',
  '--function',
  '-f',
  '--line',
  '-l',
  '--node-arg',
  '--output',
  '-o',
  '--json',
  '--unit',
  '--precision',
  '--gc-every',
  '--engine',
]);

/** lineprof options of `run` and `usage` that take no value. */
const FLAG_OPTIONS = new Set([
  '--include-children',
  '--no-include-children',
  '--chart',
  '--no-chart',
  '--save',
  '--no-save',
  '--allow-remote',
  '--markers',
  '--no-markers',
  '--include-node-modules',
  '--no-include-node-modules',
  '--verbose',
  '--help',
  '-h',
  '--version',
]);

export interface SplitArgv {
  /** What yargs should parse: the command, lineprof's options and the script. */
  lineprof: string[];
  /** The script's own arguments, untouched. */
  script: string[];
}

/** A `usage` target that is an inspector (host:port, a bare port, ws://…), not a script: it takes no arguments. */
export const ADDRESS = /^(\d+|[\w.-]*:\d+|\[[^\]]*\]:\d+|wss?:\/\/.*)$/;

export function isAddressTarget(token: string): boolean {
  return ADDRESS.test(token) && !fs.existsSync(token);
}

export function splitRunArgv(argv: string[]): SplitArgv {
  const commandIndex = argv.findIndex((a) => !a.startsWith('-'));
  const command = argv[commandIndex];
  if (commandIndex === -1 || (command !== 'run' && command !== 'usage')) return { lineprof: argv, script: [] };
  const lineprof = argv.slice(0, commandIndex + 1);
  for (let i = commandIndex + 1; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return { lineprof: [...lineprof, ...argv.slice(i + 1, i + 2)], script: argv.slice(i + 2) };
    if (token.startsWith('-') && token !== '-') {
      const value = argv[i + 1];
      if (VALUE_OPTIONS.has(token) && value !== undefined) {
        // `--node-arg --no-opt`: yargs would read a dash-led value as an option of its own; `=` keeps it a value.
        lineprof.push(value.startsWith('-') ? `${token}=${value}` : token, ...(value.startsWith('-') ? [] : [value]));
        i++;
      } else if (FLAG_OPTIONS.has(token) || token.includes('=')) {
        lineprof.push(token);
      } else if (VALUE_OPTIONS.has(token)) {
        throw new UsageError(`${token} needs a value (see lineprof ${command} --help)`);
      } else {
        // An unknown flag before the script would make yargs take the script as its value: say what is wrong.
        throw new UsageError(`unknown option ${token} before the script (see lineprof ${command} --help)`);
      }
      continue;
    }
    if (command === 'usage' && isAddressTarget(token)) {
      // `usage host:port --timeout 5`: an inspector has no arguments, so what follows it is lineprof's (as for
      // attach); anything else after it goes to the handler, which refuses it in one line.
      const rest = splitOptions(argv.slice(i + 1), command);
      return { lineprof: [...lineprof, token, ...rest.lineprof], script: rest.script };
    }
    return { lineprof: [...lineprof, token], script: argv.slice(i + 1) };
  }
  return { lineprof, script: [] };
}

/** lineprof's options after a `usage` inspector address; other tokens are kept apart. */
function splitOptions(argv: string[], command: string): SplitArgv {
  const lineprof: string[] = [];
  const other: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const value = argv[i + 1];
    if (VALUE_OPTIONS.has(token) && value !== undefined) {
      lineprof.push(value.startsWith('-') ? `${token}=${value}` : token, ...(value.startsWith('-') ? [] : [value]));
      i++;
    } else if (token.startsWith('-') && token !== '-' && (FLAG_OPTIONS.has(token) || (token.includes('=') && VALUE_OPTIONS.has(token.slice(0, token.indexOf('=')))))) {
      lineprof.push(token);
    } else if (VALUE_OPTIONS.has(token)) {
      throw new UsageError(`${token} needs a value (see lineprof ${command} --help)`);
    } else if (token.startsWith('-') && token !== '-') {
      throw new UsageError(`unknown option ${token} (see lineprof ${command} --help)`);
    } else {
      other.push(token);
    }
  }
  return { lineprof, script: other };
}
