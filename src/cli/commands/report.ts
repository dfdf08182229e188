/** `lineprof report <result.json>`: re-render the tables of a saved result. */
import * as fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../errors';
import { parseResultJson } from '../../report/json';
import { withOutputOptions, writeResult } from '../output';
import type { OutputArgs } from '../output';

interface ReportArgs extends OutputArgs {
  file: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <file>',
  describe: 'Print the tables of a result saved with --json',
  builder: (y: Argv) =>
    withOutputOptions(
      y.positional('file', { type: 'string', demandOption: true, describe: 'A result written by --json' }),
    ) as Argv<ReportArgs>,
  handler: (args) => {
    let text: string;
    try {
      text = fs.readFileSync(args.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    writeResult(parseResultJson(text, args.file), { ...args, json: undefined });
  },
};
