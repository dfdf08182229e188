/** `lineprof plot <result.json> -o plot.svg|plot.html`: memory over time with the calls of marked functions. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ResultFileError, UsageError } from '../../errors';
import { plotDataOf } from '../../plot/data';
import { renderHtml } from '../../plot/html';
import { renderSvg } from '../../plot/svg';
import { parseResultJson } from '../../report/json';
import { parseUsageJson } from '../../usage/model';
import { writeFile } from '../output';
import { checkWritable } from '../output';

interface PlotArgs {
  file: string;
  output: string;
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot <file>',
  describe: 'Draw a result (of usage, run or attach) as SVG or HTML: memory over time, spans and the peak',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'A result written by --json' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'The picture to write: FILE.svg or FILE.html' })
      .example('$0 plot usage.json -o usage.svg', 'draw a lineprof usage result') as Argv<PlotArgs>,
  handler: (args) => {
    const ext = path.extname(args.output).toLowerCase();
    if (ext !== '.svg' && ext !== '.html') throw new UsageError(`--output must end in .svg or .html, got ${args.output}`);
    checkWritable(args.output);
    let text: string;
    try {
      text = fs.readFileSync(args.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let value: { command?: unknown };
    try {
      value = JSON.parse(text) as { command?: unknown };
    } catch (err) {
      throw new ResultFileError(`${args.file} is not JSON: ${(err as Error).message}`);
    }
    let data;
    try {
      data = plotDataOf(value?.command === 'usage' ? parseUsageJson(value, args.file) : parseResultJson(text, args.file));
    } catch (err) {
      if (err instanceof ResultFileError) throw err;
      throw new ResultFileError((err as Error).message);
    }
    if (data.series.every((s) => s.points.length === 0)) {
      throw new ResultFileError(`${args.file} has no memory samples to draw (a run result saved before timelines were kept?)`);
    }
    writeFile(args.output, ext === '.svg' ? renderSvg(data) : renderHtml(data));
  },
};
