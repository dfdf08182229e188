/** Options and output shared by the commands that print a line table. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors';
import { checkWholeNumber } from '../core/options';
import type { ProfileResult } from '../model/types';
import { BYTE_UNITS, parseBytes } from '../report/format';
import type { ByteUnit } from '../report/format';
import { renderJson } from '../report/json';
import { printable, renderText } from '../report/text';

export interface OutputArgs {
  output?: string;
  json?: string;
  unit: ByteUnit;
  precision: number;
}

export function withOutputOptions<T>(y: Argv<T>): Argv<T & OutputArgs> {
  return y
    .option('output', { alias: 'o', type: 'string', describe: 'Write the tables to FILE instead of stdout' })
    .option('json', { type: 'string', describe: 'Also write the result as JSON to FILE (schema: docs/output-schema.md)' })
    .option('unit', { choices: BYTE_UNITS, default: 'auto' as ByteUnit, describe: 'Unit of the byte columns' })
    .option('precision', {
      type: 'number',
      default: 2,
      describe: 'Digits after the decimal point for KiB and larger',
    }) as Argv<T & OutputArgs>;
}

/**
 * One line of lineprof's own on stderr. What it says may hold text of the program's or a result file's (a name, a
 * path, a line the script printed): control characters are shown as \xNN, never sent to the terminal raw.
 */
export function say(message: string): void {
  process.stderr.write(`lineprof: ${printable(message)}\n`);
}

export function warn(warnings: string[]): void {
  for (const warning of warnings) say(`warning: ${warning}`);
}

/** Every output option checked before anything runs: a bad one must not cost the user the profile. */
export function checkOutputArgs(args: OutputArgs): void {
  checkWholeNumber('--precision', args.precision, 0, 9);
  for (const file of [args.output, args.json]) if (file) checkWritable(file);
}

export function writeResult(result: ProfileResult, args: OutputArgs): void {
  checkOutputArgs({ ...args, output: undefined, json: undefined });
  const text = renderText(result, { unit: args.unit, precision: args.precision });
  // The tables first: if a file cannot be written after all, what was gathered is still on the terminal.
  if (args.output) writeFile(args.output, text);
  else process.stdout.write(text);
  if (args.json) writeFile(args.json, renderJson(result));
}

/**
 * Writes to a temporary file beside the target and renames it over: a full disk or a crash leaves the previous file
 * as it was, never a truncated one.
 */
export function writeFile(file: string, content: string): void {
  const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, content);
    fs.renameSync(temporary, file);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Refuses an output path that cannot be written before the script runs, not after. */
export function checkWritable(file: string): void {
  const full = path.resolve(file);
  const existing = fs.statSync(full, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new UsageError(`cannot write ${file}: it is a directory; name a file`);
  const target = existing ? full : path.dirname(full);
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch {
    throw new UsageError(
      existing ? `cannot write ${file}: permission denied` : `cannot write ${file}: ${target} does not exist or is not writable`,
    );
  }
}


/** A size option (`--max-peak 200MiB`), or one line saying what is wrong with it. */
export function sizeOption(name: string, text: string): number {
  try {
    return parseBytes(text);
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message}`);
  }
}
