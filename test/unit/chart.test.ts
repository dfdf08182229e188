/** The terminal chart of `lineprof usage` and the plot's axis bounds, on a constructed result. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderChart } from '../../src/usage/chart';
import { byteScale, tickLabel } from '../../src/plot/scale';
import type { UsageResult } from '../../src/usage/model';
import { peakOf } from '../../src/usage/model';

const MiB = 1024 ** 2;
const format = { unit: 'auto' as const, precision: 2 };

/** phases.js's shape: 70 MiB flat, a climb to 257 MiB while grow runs (0.6–0.9 s), a hold, a drop at 1.4 s. */
function phases(spans: UsageResult['spans'] = []): UsageResult {
  const samples = [];
  for (let i = 0; i <= 200; i++) {
    const t = i * 0.01;
    const g = t < 0.6 ? 0 : t < 0.9 ? (t - 0.6) / 0.3 : t < 1.4 ? 1 : 0.1;
    samples.push({ t, rss: Math.round(70 * MiB + g * 187 * MiB), heapUsed: Math.round(8 * MiB + g * 50 * MiB), heapTotal: 80 * MiB });
  }
  return {
    schemaVersion: 1,
    tool: { name: 'lineprof', version: 'test' },
    command: 'usage',
    target: { script: '/x/phases.js', argv: [] },
    intervalSeconds: 0.01,
    startedAt: '2026-12-01T00:00:00.000Z',
    durationSeconds: 2,
    exit: { code: 0, signal: null },
    endedBy: 'exit',
    samples,
    spans,
    peak: peakOf(samples),
    warnings: [],
  };
}

const grow = { name: 'grow', file: '/x/phases.js', line: 7, start: 0.6, end: 0.9, heapStart: 8 * MiB, heapEnd: 58 * MiB };

test('byteScale: round bounds near the peak in 1-2-2.5-5 steps (257 MiB → 300 MiB, not 500)', () => {
  const mib = (b: number[]): number[] => b.map((x) => x / MiB);
  assert.deepEqual(mib(byteScale(257 * MiB).ticks), [0, 50, 100, 150, 200, 250, 300]);
  assert.equal(byteScale(100 * MiB).top, 100 * MiB);
  assert.equal(byteScale(101 * MiB).top, 120 * MiB);
  assert.equal(byteScale(12 * MiB).top, 12 * MiB);
  assert.equal(byteScale(900).top, 1000);
  for (const peak of [1, 999, 4097, 7.3 * MiB, 257 * MiB, 1.2 * 1024 ** 3, 33 * 1024 ** 3]) {
    const s = byteScale(peak);
    assert.ok(s.top >= peak && s.top < peak * 2, `top ${s.top} for peak ${peak}`);
    assert.ok(s.ticks.length >= 2 && s.ticks.length <= 7, `${s.ticks.length} ticks for ${peak}`);
  }
  const ticks = byteScale(5.5 * MiB).ticks;
  assert.deepEqual(ticks.map((t) => tickLabel(t, ticks)), ['0 MiB', '1 MiB', '2 MiB', '3 MiB', '4 MiB', '5 MiB', '6 MiB']);
  const quarter = byteScale(13 * MiB).ticks; // 2.5 MiB steps keep their decimal
  assert.deepEqual(quarter.map((t) => tickLabel(t, quarter)), ['0.0 MiB', '2.5 MiB', '5.0 MiB', '7.5 MiB', '10.0 MiB', '12.5 MiB', '15.0 MiB']);
});

test('renderChart: a labelled byte axis with units, the time axis in seconds, the peak marked, both series', () => {
  const text = renderChart(phases([grow]), format, 80);
  const lines = text.trimEnd().split('\n');
  assert.match(text, /^RSS: peak ● 257\.00 MiB at 0\.900 s$/m);
  assert.match(text, /^JS heap: peak ● 58\.00 MiB at 0\.900 s$/m);
  // The RSS axis: 0 to 300 MiB by 50 (every label followed by the axis tick ┤).
  for (const label of ['300 MiB', '250 MiB', '150 MiB', '50 MiB', '0 MiB']) assert.match(text, new RegExp(`^ *${label} ┤`, 'm'));
  assert.match(text, /^ *60 MiB ┤/m, 'the heap axis tops at 60 MiB for a 58 MiB peak');
  // The time axis: ticks under the chart and their times in seconds.
  const axis = lines.filter((l) => /└[─┬]+$/.test(l));
  assert.equal(axis.length, 2, 'one time axis per series');
  assert.match(text, /^ +0 s +0\.5 s +1 s +1\.5 s +2 s$/m);
  // The peak's ● sits on the line, in the top rows of the RSS chart, at 0.9 s of 2 s.
  const rssRows = lines.slice(1, 11);
  const peakRow = rssRows.findIndex((l) => l.includes('●'));
  assert.ok(peakRow >= 0 && peakRow <= 1, `peak on row ${peakRow}`);
  const plotStart = lines[axis.length && lines.indexOf(axis[0]!)]!.indexOf('└') + 1;
  const peakColumn = [...rssRows[peakRow]!].indexOf('●') - plotStart;
  const plotColumns = [...axis[0]!].length - plotStart;
  assert.ok(Math.abs(peakColumn / plotColumns - 0.45) < 0.03, `peak at column ${peakColumn} of ${plotColumns}`);
  // Braille dots draw the line.
  assert.match(text, /[\u2801-\u28ff]/);
  // grow's lane: a bar from 0.6 s to 0.9 s on the same scale.
  const lane = lines.find((l) => /^ *grow  /.test(l));
  assert.ok(lane, `no lane for grow in:\n${text}`);
  const from = lane.indexOf('━') - plotStart;
  const to = lane.lastIndexOf('━') - plotStart;
  assert.ok(Math.abs(from / plotColumns - 0.3) < 0.03 && Math.abs(to / plotColumns - 0.45) < 0.03, `grow's bar ${from}–${to} of ${plotColumns}`);
});

test('renderChart: no line is wider than the width asked for, from 20 to 200 columns', () => {
  const result = phases([grow, { ...grow, name: 'aVeryLongFunctionNameThatWouldNotFit', start: 1.5, end: null }]);
  for (const width of [20, 33, 40, 57, 80, 120, 200]) {
    const text = renderChart(result, format, width);
    const widest = Math.max(...text.split('\n').map((l) => [...l].length));
    assert.ok(widest <= width, `a ${widest}-character line at width ${width}`);
    if (width >= 40) {
      assert.ok(widest >= width - 2, `the chart uses the width: ${widest} of ${width}`);
      // A long name keeps its start and loses its end.
      assert.match(text, /^ *aVeryLong[a-zA-Z]*…  +╍+$/m);
      assert.match(text, /300 MiB ┤/);
    }
  }
});

test('renderChart: no samples, one sample, and a name with control characters', () => {
  assert.equal(renderChart({ ...phases(), samples: [] }, format, 80), '(no samples)\n');
  const one = phases();
  one.samples = [one.samples[0]!];
  one.durationSeconds = 0;
  assert.match(renderChart(one, format, 50), /●/);
  const text = renderChart(phases([{ ...grow, name: 'a\x1b[2Jb' }]), format, 80);
  assert.doesNotMatch(text, /\x1b/);
  assert.match(text, /a\\x1B\[2Jb/);
});
