/**
 * The CLI: parses arguments, calls the library, prints, and exits. The only place that writes to the terminal or
 * sets the exit code; every expected failure arrives here as a LineprofError and leaves as one line.
 */
import yargs from 'yargs';
import { LineprofError, UsageError } from '../errors';
import { makeRunCommand } from './commands/run';
import { splitRunArgv } from './argv';
import { reportCommand } from './commands/report';
import { attachCommand } from './commands/attach';
import { makeUsageCommand } from './commands/usage';
import { plotCommand } from './commands/plot';
import { listCommand } from './commands/list';
import { say } from './output';

export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose');
  // A reader that stops reading (`lineprof run app.js | head`) is no error of lineprof's: the tables it did not take
  // are dropped, and the exit status stays the script's.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit();
  });
  try {
    const { lineprof, script } = splitRunArgv(argv);
    await yargs(lineprof)
      .scriptName('lineprof')
      .usage('$0 <command> [options]\n\nExact line-by-line memory profiles of Node.js functions.')
      .command(makeRunCommand(script))
      .command(attachCommand)
      .command(makeUsageCommand(script))
      .command(plotCommand)
      .command(reportCommand)
      .command(listCommand)
      .option('verbose', { type: 'boolean', describe: 'Show stack traces of errors', global: true })
      .demandCommand(1, 'name a command: run, attach, usage, plot, report or list')
      .strict()
      .fail((message, err) => {
        throw err ?? new UsageError(`${message.replace(/\s*\n\s*/g, ' ')} (see lineprof --help)`);
      })
      .help()
      .version()
      .wrap(Math.min(110, process.stdout.columns || 110))
      .parseAsync();
  } catch (err) {
    process.exitCode = reportError(err, verbose);
  }
}

function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof LineprofError) {
    say(err.message);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  say(
    `internal error: ${(e?.message ?? String(err)).split('\n')[0]}. This is a bug in lineprof; please report it` +
      (verbose ? '' : ' (run with --verbose for the stack trace)') +
      '.',
  );
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 70;
}
