/** `lineprof plot` on a real usage result of fixtures/phases.js: the files it writes, its errors, and the picture. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { plotDataOf } from '../../src/plot/data';
import { plotGeometry, renderSvg, HEIGHT, WIDTH } from '../../src/plot/svg';
import type { PlotData } from '../../src/plot/data';
import { parseUsageJson } from '../../src/usage/model';
import type { UsageResult } from '../../src/usage/model';
import { runCli } from '../helpers/cli';
import { decodePng, hexColor, isNear, pixel } from '../helpers/png';
import type { Image } from '../helpers/png';

let dir: string;
let usageJson: string;
let usage: UsageResult;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-plot-'));
  usageJson = path.join(dir, 'usage.json');
  const r = await runCli(['usage', '--interval', '0.01', '--json', usageJson, '--node-arg=--expose-gc', 'fixtures/phases.js']);
  assert.equal(r.code, 0, r.stderr);
  usage = parseUsageJson(JSON.parse(fs.readFileSync(usageJson, 'utf8')), usageJson);
  assert.equal(usage.spans.length, 1, 'phases.js has one call of grow');
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const oneLine = (stderr: string): string => {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
};

test('plot -o x.svg and -o x.html: exit 0; the page holds the SVG and a table row for grow', async () => {
  const svg = path.join(dir, 'x.svg');
  const html = path.join(dir, 'x.html');
  const a = await runCli(['plot', usageJson, '-o', svg]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stderr, '');
  const svgText = fs.readFileSync(svg, 'utf8');
  // 540 px, and a lane of 18 px for grow.
  assert.match(svgText, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="960" height="558"/);
  assert.match(svgText, /<\/svg>\n$/);

  const b = await runCli(['plot', usageJson, '-o', html]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stderr, '');
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/);
  assert.ok(page.includes(svgText), 'the page embeds the same SVG');
  assert.match(page, /<tr><td>grow<\/td><td>\d+\.\d{3}<\/td><td>\d+\.\d{3}<\/td><td>[\d.]+ MiB<\/td><\/tr>/);
});

test('plot -o x.png is refused (exit 2, one line); so is a JSON file that is not a result', async () => {
  const png = await runCli(['plot', usageJson, '-o', path.join(dir, 'x.png')]);
  assert.equal(png.code, 2);
  assert.match(oneLine(png.stderr), /\.svg or \.html/);
  assert.equal(fs.existsSync(path.join(dir, 'x.png')), false);

  const other = path.join(dir, 'other.json');
  fs.writeFileSync(other, JSON.stringify({ hello: 'world', samples: [] }));
  const bad = await runCli(['plot', other, '-o', path.join(dir, 'other.svg')]);
  assert.notEqual(bad.code, 0);
  assert.match(oneLine(bad.stderr), /not a lineprof/);
  assert.equal(fs.existsSync(path.join(dir, 'other.svg')), false);
});

/**
 * The plot as a person sees it: the SVG rendered by a real renderer (rsvg-convert) and the pixels checked.
 *
 * The picture (960×540, white) shows phases.js over ~2 s: a flat start (node's baseline), then the blue RSS line
 * (#1f77b4) and the orange JS-heap line (#ff7f0e) climbing by ~50 MiB while grow runs (a light purple band over the
 * chart, and a solid purple bar #9467bd in grow's lane under the time axis), a plateau for the 0.5 s hold with the
 * red peak dot (#d62728, r = 6) on the RSS line and its bold red label, then both lines dropping when gc() frees the
 * arrays, and a quiet end. A dashed light-orange line is the heap total; a green one near the bottom is external.
 */
test('the plot as a person sees it: rendered to PNG, the lines, the peak dot and the grow bar are where they belong', async (t) => {
  const probe = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('rsvg-convert is not installed: apt-get install librsvg2-bin');
    return;
  }
  const svg = path.join(dir, 'seen.svg');
  const png = path.join(dir, 'seen.png');
  const r = await runCli(['plot', usageJson, '-o', svg]);
  assert.equal(r.code, 0, r.stderr);
  const render = spawnSync('rsvg-convert', [svg, '-o', png], { encoding: 'utf8' });
  assert.equal(render.status, 0, render.stderr);
  const image = decodePng(fs.readFileSync(png));

  // 540 px and one lane of 18 px for the one marked function.
  assert.equal(image.width, WIDTH);
  assert.equal(image.height, HEIGHT + 18);
  assert.equal(image.height, plotGeometry(plotDataOf(usage)).height);

  const total = image.width * image.height;
  const whiteish = countWhere(image, (p) => p.r >= 235 && p.g >= 235 && p.b >= 235);
  assert.ok(whiteish / total > 0.7, `${((whiteish / total) * 100).toFixed(1)} % of the pixels are white-ish, expected most`);

  const rss = countWhere(image, (p) => isNear(p, hexColor('#1f77b4'), 40));
  const heap = countWhere(image, (p) => isNear(p, hexColor('#ff7f0e'), 40));
  assert.ok(rss >= 200, `${rss} pixels of the RSS colour #1f77b4`);
  assert.ok(heap >= 200, `${heap} pixels of the heap colour #ff7f0e`);

  // The same geometry the SVG was drawn with, from the same result.
  const data = plotDataOf(usage);
  const g = plotGeometry(data);
  assert.ok(data.peak, 'the plot has a peak');

  // The peak dot: red pixels deep inside a solid red area. The bold red label beside it is red too, but its strokes
  // are ~2 px wide: none of its pixels has a whole 5×5 neighbourhood of red. The dot (12 px across) has dozens.
  const red = hexColor('#d62728');
  const isRed = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < image.width && y < image.height && isNear(pixel(image, x, y), red, 30);
  const anyRed = countWhere(image, (p) => isNear(p, red, 30));
  assert.ok(anyRed > 0, 'red peak-marker pixels exist');
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      let solid = true;
      for (let dy = -2; dy <= 2 && solid; dy++) for (let dx = -2; dx <= 2 && solid; dx++) solid = isRed(x + dx, y + dy);
      if (solid) {
        n++;
        sx += x + 0.5; // pixel centres
        sy += y + 0.5;
      }
    }
  }
  assert.ok(n >= 10, `${n} pixels inside a solid red disc (of ${anyRed} red pixels)`);
  const cx = sx / n;
  const cy = sy / n;
  const ex = g.x(data.peak.t);
  const ey = g.y(data.peak.bytes);
  const off = Math.hypot(cx - ex, cy - ey);
  assert.ok(
    off <= 12,
    `peak dot centroid (${cx.toFixed(1)}, ${cy.toFixed(1)}) is ${off.toFixed(1)} px from the peak's position (${ex.toFixed(1)}, ${ey.toFixed(1)})`,
  );

  // grow's bar: the first span lane's colour in a horizontal bar under the chart, from the call's start to its end.
  const span = usage.spans[0]!;
  const purple = hexColor('#9467bd');
  let left = Infinity;
  let right = -Infinity;
  let barRows = 0;
  for (let y = 0; y < image.height; y++) {
    // The longest run of the colour in this row.
    let best: [number, number] | null = null;
    let start = -1;
    for (let x = 0; x <= image.width; x++) {
      const on = x < image.width && isNear(pixel(image, x, y), purple, 24);
      if (on && start < 0) start = x;
      if (!on && start >= 0) {
        if (!best || x - start > best[1] - best[0]) best = [start, x];
        start = -1;
      }
    }
    if (best && best[1] - best[0] >= 20) {
      barRows++;
      assert.ok(y > g.chartBottom, `purple bar row ${y} is in grow's lane, under the chart (bottom ${g.chartBottom})`);
      left = Math.min(left, best[0]);
      right = Math.max(right, best[1]);
    }
  }
  assert.ok(barRows >= 6, `${barRows} rows of a horizontal #9467bd bar, expected the lane bar (12 px high)`);
  const startX = g.x(span.start);
  assert.ok(Math.abs(left - startX) <= 3, `the bar's left edge at x = ${left}, expected ${startX.toFixed(1)} (grow started at ${span.start.toFixed(3)} s) ± 3 px`);
  t.diagnostic(
    `peak dot at (${cx.toFixed(1)}, ${cy.toFixed(1)}), expected (${ex.toFixed(1)}, ${ey.toFixed(1)}); ` +
      `grow bar x ${left}–${right}, expected ${startX.toFixed(1)}–${g.x(span.end ?? g.end).toFixed(1)}; ` +
      `${rss} RSS, ${heap} heap, ${anyRed} red pixels; ${((whiteish / total) * 100).toFixed(1)} % white-ish`,
  );
  assert.notEqual(span.end, null);
  const endX = g.x(span.end!);
  assert.ok(Math.abs(right - endX) <= 3, `the bar's right edge at x = ${right}, expected ${endX.toFixed(1)} (grow ended at ${span.end!.toFixed(3)} s) ± 3 px`);
});

function countWhere(image: Image, predicate: (p: ReturnType<typeof pixel>) => boolean): number {
  let n = 0;
  for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) if (predicate(pixel(image, x, y))) n++;
  return n;
}

test('plot refuses a result holding a number JSON reads as Infinity (1e309): one line, nothing drawn', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-inf-'));
  const json = path.join(dir, 'usage.json');
  assert.equal((await runCli(['usage', '--interval', '0.01', '--json', json, 'fixtures/allocate.js'])).code, 0);
  const text = fs.readFileSync(json, 'utf8').replace(/"rss":\s*\d+/, '"rss": 1e309');
  fs.writeFileSync(json, text);
  const svg = path.join(dir, 'usage.svg');
  const r = await runCli(['plot', json, '-o', svg]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^lineprof: \S+usage\.json: samples\[\d+\]\.rss is not a finite number: not a lineprof usage result\n$/);
  assert.ok(!fs.existsSync(svg));
});

test('24 marked functions: the canvas grows a lane for each, and every bar, name and label is drawn inside it', () => {
  const spans = Array.from({ length: 24 }, (_, i) => ({ name: `fn${i}`, start: i * 0.1, end: i * 0.1 + 0.05, heapStart: 1000, heapEnd: 2000 }));
  const data: PlotData = {
    title: 't',
    subtitle: 's',
    durationSeconds: 3,
    series: [{ label: 'RSS', color: '#1f77b4', points: [[0, 1e6], [3, 2e6]] }],
    spans,
    peak: null,
  };
  const g = plotGeometry(data);
  const svg = renderSvg(data);
  assert.equal(g.height, HEIGHT + 24 * 18);
  assert.ok(g.chartBottom > 100, `chart bottom ${g.chartBottom}`);
  for (const m of svg.matchAll(/<(?:rect|text)\b[^>]*?\by="([-\d.]+)"(?:[^>]*?\bheight="([\d.]+)")?/g)) {
    const y = Number(m[1]);
    const h = Number(m[2] ?? 0);
    assert.ok(y >= 0 && y + h <= g.height, `drawn at y=${y}, height ${h}, outside a ${g.height} px canvas`);
  }
  for (const name of spans.map((s) => s.name)) assert.match(svg, new RegExp(`>${name}<`));
});
