/**
 * `lineprof plot [result.json…] -o plot.svg|plot.html`: memory over time with the calls of marked functions. No file:
 * the latest result saved with --save; several: overlaid, one colour each (as `mprof plot a b`).
 */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ResultFileError, UsageError } from '../../errors';
import { overlayPlotData } from '../../plot/data';
import { renderHtml } from '../../plot/html';
import { renderSvg } from '../../plot/svg';
import { latestSaved, readResultFile } from '../../results/store';
import { writeFile } from '../output';
import { checkWritable } from '../output';

interface PlotArgs {
  files: string[];
  output: string;
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot [files..]',
  describe: 'Draw results (of usage, run or attach) as SVG or HTML: memory over time, spans and the peak',
  builder: (y: Argv) =>
    y
      .positional('files', {
        type: 'string',
        array: true,
        default: [],
        describe: 'Results written by --json or --save; none: the latest saved (lineprof list); several: overlaid',
      })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'The picture to write: FILE.svg or FILE.html' })
      .example('$0 plot usage.json -o usage.svg', 'draw a lineprof usage result')
      .example('$0 plot -o latest.svg', 'draw the latest result saved with --save')
      .example('$0 plot before.json after.json -o both.svg', 'overlay two results') as Argv<PlotArgs>,
  handler: (args) => {
    const ext = path.extname(args.output).toLowerCase();
    if (ext !== '.svg' && ext !== '.html') throw new UsageError(`--output must end in .svg or .html, got ${args.output}`);
    checkWritable(args.output);
    const files = args.files.length > 0 ? args.files : [latestSaved()];
    // Named by file name in the legend; by the path given when two share a name.
    const bases = files.map((file) => path.basename(file));
    const items = files.map((file, i) => ({
      name: bases.indexOf(bases[i]!) === bases.lastIndexOf(bases[i]!) ? bases[i]! : file,
      result: readResultFile(file),
    }));
    const data = overlayPlotData(items);
    if (data.series.every((s) => s.points.length === 0)) {
      throw new ResultFileError(`${files.join(', ')} has no memory samples to draw (a run result saved before timelines were kept?)`);
    }
    writeFile(args.output, ext === '.svg' ? renderSvg(data) : renderHtml(data));
  },
};
