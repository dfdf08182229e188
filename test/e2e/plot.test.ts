/** `lineprof plot` on a real usage result of fixtures/phases.js: the files it writes, its errors, and the picture. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OVERLAY_COLORS, plotDataOf } from '../../src/plot/data';
import { plotGeometry, renderSvg, HEIGHT, WIDTH } from '../../src/plot/svg';
import type { PlotData } from '../../src/plot/data';
import { parseUsageJson, peakOf } from '../../src/usage/model';
import type { UsageResult } from '../../src/usage/model';
import { runCli } from '../helpers/cli';
import { ROOT } from '../helpers/profile';
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

const MiB = 1024 ** 2;

/** A usage result with a known shape: 60 MiB, a climb to exactly 257 MiB at 1 s while allocateMemory runs, down. */
function knownPeak(name = 'allocateMemory', peakMiB = 257): UsageResult {
  const samples = Array.from({ length: 201 }, (_, i) => {
    const t = i * 0.01;
    const rss = Math.round((60 + (peakMiB - 60) * Math.max(0, 1 - Math.abs(t - 1) / 0.5)) * MiB);
    return { t, rss, heapUsed: Math.round(rss / 3) };
  });
  return {
    schemaVersion: 1,
    tool: { name: 'lineprof', version: 'test' },
    command: 'usage',
    target: { script: '/x/known.js', argv: [] },
    intervalSeconds: 0.01,
    startedAt: '2026-12-01T00:00:00.000Z',
    durationSeconds: 2,
    exit: { code: 0, signal: null },
    endedBy: 'exit',
    samples,
    spans: [{ name, file: '/x/known.js', line: 3, start: 0.5, end: 1.0, heapStart: 20 * MiB, heapEnd: 85 * MiB }],
    peak: peakOf(samples),
    warnings: [],
  };
}

function render(t: { skip(message: string): void }, svgFile: string): Image | null {
  const probe = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('rsvg-convert is not installed: apt-get install librsvg2-bin');
    return null;
  }
  const png = svgFile.replace(/\.svg$/, '.png');
  const r = spawnSync('rsvg-convert', [svgFile, '-o', png], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return decodePng(fs.readFileSync(png));
}

test('a 257 MiB peak gets a 300 MiB axis: the top label, and the peak dot high on the chart in the PNG', { timeout: 60_000 }, async (t) => {
  const json = path.join(dir, 'known.json');
  const svg = path.join(dir, 'known.svg');
  fs.writeFileSync(json, JSON.stringify(knownPeak()));
  const r = await runCli(['plot', json, '-o', svg]);
  assert.equal(r.code, 0, r.stderr);
  const text = fs.readFileSync(svg, 'utf8');
  const labels = [...text.matchAll(/text-anchor="end" fill="#333333">([^<]+)</g)].map((m) => m[1]).filter((l) => l !== 'time (s)');
  assert.deepEqual(labels, ['0 MiB', '50 MiB', '100 MiB', '150 MiB', '200 MiB', '250 MiB', '300 MiB']);
  const g = plotGeometry(plotDataOf(knownPeak()));
  assert.equal(g.maxBytes, 300 * MiB);
  const image = render(t, svg);
  if (!image) return;
  // The red dot's centre: 257/300 of the way up the chart (a 500 MiB axis would put it near the middle).
  const red = hexColor('#d62728');
  let n = 0;
  let sy = 0;
  for (let y = 2; y < image.height - 2; y++) {
    for (let x = 2; x < image.width - 2; x++) {
      let solid = true;
      for (let dy = -2; dy <= 2 && solid; dy++) for (let dx = -2; dx <= 2 && solid; dx++) solid = isNear(pixel(image, x + dx, y + dy), red, 30);
      if (solid) {
        n++;
        sy += y + 0.5;
      }
    }
  }
  assert.ok(n >= 10, `${n} pixels inside the red dot`);
  const top = g.y(300 * MiB);
  const bottom = g.y(0);
  const up = (bottom - sy / n) / (bottom - top);
  t.diagnostic(`peak dot ${(up * 100).toFixed(1)} % of the way up the axis (257/300 = 85.7 %)`);
  assert.ok(Math.abs(up - 257 / 300) < 0.03, `the dot is ${(up * 100).toFixed(1)} % up, expected 85.7 %`);
});

test('lane labels are not clipped: allocateMemory is drawn whole inside the picture; a very long name ends in an ellipsis', { timeout: 60_000 }, async (t) => {
  const json = path.join(dir, 'lanes.json');
  const svg = path.join(dir, 'lanes.svg');
  fs.writeFileSync(json, JSON.stringify(knownPeak()));
  assert.equal((await runCli(['plot', json, '-o', svg])).code, 0);
  const text = fs.readFileSync(svg, 'utf8');
  assert.match(text, />allocateMemory<\/text>/);
  const long = 'x'.repeat(30) + 'TheEndOfAVeryLongQualifiedName.method';
  const data = plotDataOf(knownPeak(long));
  const longSvg = renderSvg(data);
  assert.match(longSvg, new RegExp(`>${'x'.repeat(30)}\\w*…</text>`), 'cut at the end, with an ellipsis');
  assert.ok(plotGeometry(data).left <= 300);
  const image = render(t, svg);
  if (!image) return;
  // The lane's label colour (#9467bd) left of the chart: its leftmost pixel well inside the picture, not at x = 0.
  const g = plotGeometry(plotDataOf(knownPeak()));
  const purple = hexColor('#9467bd');
  let leftmost = Infinity;
  for (let y = Math.floor(g.chartBottom); y < image.height; y++) {
    for (let x = 0; x < g.left; x++) if (isNear(pixel(image, x, y), purple, 60)) leftmost = Math.min(leftmost, x);
  }
  t.diagnostic(`allocateMemory's label starts at x = ${leftmost}, the chart at ${g.left}`);
  assert.ok(leftmost >= 4 && leftmost < g.left, `the label's leftmost pixel at x = ${leftmost}`);
});

test('--save, list, plot with no file (the latest saved) and plot a b (overlaid, a legend entry and colour each)', { timeout: 120_000 }, async (t) => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-store-'));
  try {
    const empty = await runCli(['list'], cwd);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^\(no saved results in /);
    const none = await runCli(['plot', '-o', 'x.svg'], cwd);
    assert.equal(none.code, 2);
    assert.match(oneLine(none.stderr), /no saved result in .*--save/);

    const u = await runCli(['usage', '--interval', '0.01', '--save', '--node-arg=--expose-gc', path.join(ROOT, 'fixtures/phases.js')], cwd);
    assert.equal(u.code, 0, u.stderr);
    const usageFile = /^lineprof: saved (\.lineprof\/usage-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json)$/m.exec(u.stderr)?.[1];
    assert.ok(usageFile, u.stderr);
    const run = await runCli(['run', '--save', path.join(ROOT, 'fixtures/allocate.js')], cwd);
    assert.equal(run.code, 0, run.stderr);
    const runFile = /^lineprof: saved (\.lineprof\/run-\S+\.json)$/m.exec(run.stderr)?.[1];
    assert.ok(runFile, run.stderr);
    assert.deepEqual(fs.readdirSync(path.join(cwd, '.lineprof')).sort(), [path.basename(runFile), path.basename(usageFile)].sort());

    const list = await runCli(['list'], cwd);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trimEnd().split('\n');
    t.diagnostic(`\n${list.stdout}`);
    assert.match(rows[0]!, /^file +command +target +date +peak$/);
    assert.equal(rows.length, 3);
    const cells = (row: string): string[] => row.split(/ {2,}/);
    assert.deepEqual(cells(rows[1]!).slice(0, 3), [usageFile, 'usage', path.join(ROOT, 'fixtures/phases.js')]);
    assert.match(rows[1]!, /  \d{4}-\d\d-\d\dT[\d:.]+Z  [\d.]+ MiB RSS$/);
    assert.deepEqual(cells(rows[2]!).slice(0, 3), [runFile, 'run', path.join(ROOT, 'fixtures/allocate.js')], 'newest last');
    assert.match(rows[2]!, /  \d{4}-\d\d-\d\dT[\d:.]+Z  [\d.]+ (KiB|MiB) JS heap$/);

    // No file: the latest saved (the run's, whose JS heap timeline is drawn).
    const latest = await runCli(['plot', '-o', 'latest.svg'], cwd);
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(fs.readFileSync(path.join(cwd, 'latest.svg'), 'utf8'), /lineprof run: \S+allocate\.js/);

    // Two usage results overlaid: one line, one colour and one legend entry each.
    const other = path.join(cwd, 'known.json');
    fs.writeFileSync(other, JSON.stringify(knownPeak()));
    const both = await runCli(['plot', usageFile, other, '-o', 'both.svg'], cwd);
    assert.equal(both.code, 0, both.stderr);
    const svg = fs.readFileSync(path.join(cwd, 'both.svg'), 'utf8');
    assert.match(svg, new RegExp(`>${path.basename(usageFile).replace(/\./g, '\\.')} \\(RSS\\)</text>`));
    assert.match(svg, />known\.json \(RSS\)<\/text>/);
    const paths = [...svg.matchAll(/<path d="[^"]+" fill="none" stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    assert.deepEqual(paths, OVERLAY_COLORS.slice(0, 2));
    const image = render(t, path.join(cwd, 'both.svg'));
    if (!image) return;
    for (const color of OVERLAY_COLORS.slice(0, 2)) {
      const n = countWhere(image, (p) => isNear(p, hexColor(color), 40));
      assert.ok(n >= 200, `${n} pixels of ${color}`);
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('report usage.json: the summary line (and with --chart the chart) of lineprof usage, not "not a lineprof result"', { timeout: 30_000 }, async () => {
  const r = await runCli(['report', usageJson]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Peak RSS [\d.]+ MiB at [\d.]+ s, JS heap peak .* 1 call of marked functions/);
  assert.equal(r.stdout.trimEnd().split('\n').length, 1, 'not a terminal: the summary only');
  const chart = await runCli(['report', '--chart', '--unit', 'KiB', usageJson]);
  assert.equal(chart.code, 0, chart.stderr);
  assert.match(chart.stdout, /^RSS: peak ● [\d.]+ KiB at [\d.]+ s$/m);
  assert.match(chart.stdout, /MiB ┤/);
  assert.match(chart.stdout, /^ +grow  +━+$/m);
  assert.match(chart.stdout, /^Peak RSS [\d.]+ KiB/m);
});

test('the legend sits in a row above the chart when it fits there (it hides no line and no peak label); else in a column', () => {
  const series = (label: string, color: string) => ({ label, color, points: [[0, 1e6], [1, 2e6]] as Array<[number, number]> });
  const data: PlotData = {
    title: 't',
    subtitle: 's',
    durationSeconds: 1,
    series: [series('RSS', '#1f77b4'), series('JS heap used', '#ff7f0e'), series('external', '#2ca02c')],
    spans: [],
    peak: null,
  };
  const geometry = plotGeometry(data);
  const top = geometry.y(geometry.maxBytes);
  const legendY = (svg: string, label: string): number => Number(new RegExp(`<text x="[\\d.]+" y="([\\d.]+)" fill="#333333"><title>${label}</title>`).exec(svg)![1]);
  const svg = renderSvg(data);
  for (const s of data.series) assert.ok(legendY(svg, s.label) < top, `${s.label} at y ${legendY(svg, s.label)}, chart top ${top}`);
  // Overlaid results named by long file names do not fit in a row: a column inside the chart, one per line.
  const long = { ...data, series: data.series.map((s, i) => ({ ...s, label: `${'results/'.repeat(6)}usage-${i}.json (RSS)` })) };
  const ys = long.series.map((s) => legendY(renderSvg(long), s.label.replace(/[()]/g, '\\$&')));
  assert.ok(ys.every((y, i) => y > top && (i === 0 || y > ys[i - 1]!)), ys.join(', '));
});
