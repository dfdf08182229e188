/** `lineprof usage` as a user runs it: the summary line, CSV and JSON files, the --max-peak budget, the chart. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli';

const PHASES = ['--interval', '0.01', '--node-arg=--expose-gc', 'fixtures/phases.js'];

const oneLine = (stderr: string): string => {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
};

test('usage --csv --json: exit 0, a summary line, a CSV row per JSON sample', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-usage-'));
  try {
    const csv = path.join(dir, 'u.csv');
    const json = path.join(dir, 'u.json');
    const r = await runCli(['usage', '--csv', csv, '--json', json, ...PHASES]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const summary = r.stdout.split('\n').find((l) => l.startsWith('Peak RSS'));
    assert.ok(summary, `no line starting with 'Peak RSS' in:\n${r.stdout}`);
    assert.match(summary, /^Peak RSS [\d.]+ MiB at [\d.]+ s, JS heap peak [\d.]+ MiB at [\d.]+ s; \d+ samples over [\d.]+ s, 1 call of marked functions$/);
    // Not a terminal and no --chart: no chart.
    assert.doesNotMatch(r.stdout, /RSS \(peak/);

    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.command, 'usage');
    assert.ok(result.samples.length >= 40, `${result.samples.length} samples`);
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'time_s,rss_bytes,children_rss_bytes,heap_used_bytes,heap_total_bytes,external_bytes');
    const rows = lines.slice(1);
    assert.equal(rows.length, result.samples.length);
    // Row i is sample i; no children were sampled, so that column is empty.
    rows.forEach((row, i) => {
      const cells = row.split(',');
      assert.equal(cells.length, 6, `row ${i + 1}: ${row}`);
      assert.ok(Math.abs(Number(cells[0]) - result.samples[i].t) < 1e-6, `row ${i + 1} time ${cells[0]} vs ${result.samples[i].t}`);
      assert.equal(Number(cells[1]), result.samples[i].rss, `row ${i + 1} rss`);
      assert.equal(cells[2], '', `row ${i + 1} children`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--max-peak 1MiB: over budget, exit 3 with one line saying so', async () => {
  const r = await runCli(['usage', '--max-peak', '1MiB', ...PHASES]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(oneLine(r.stderr), /over budget: peak RSS .* exceeds --max-peak/);
  assert.match(r.stdout, /^Peak RSS /m);
});

test('--max-peak 10GiB --chart: within budget, exit 0, the chart on stdout', async () => {
  const r = await runCli(['usage', '--max-peak', '10GiB', '--chart', ...PHASES]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^RSS \(peak [\d.]+ MiB\)$/m);
  assert.match(r.stdout, /^JS heap \(peak [\d.]+ MiB\)$/m);
  assert.match(r.stdout, /█/, 'the chart has full blocks at its peak');
  assert.match(r.stdout, /^Peak RSS /m);
});

test('--max-peak banana: exit 2, one line, nothing run', async () => {
  const r = await runCli(['usage', '--max-peak', 'banana', ...PHASES]);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /--max-peak.*banana/);
  assert.equal(r.stdout, '');
});

test('--timeout ends a script that would run forever: the script stops, lineprof exits 0 with what it sampled', async () => {
  const started = Date.now();
  // (A signal to a process with an inspector session open waits for the session to go; the sampler's used to stay.)
  const r = await runCli(['usage', '--timeout', '0.8', '--interval', '0.05', '--no-chart', 'fixtures/targets/long-running.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 15_000, 'lineprof came back');
  assert.match(r.stdout, /^ready/m);
  assert.match(r.stdout, /Peak RSS .* samples over/);
  assert.match(r.stderr, /sampling stopped after the 0\.8 s timeout; the script was ended \(SIGTERM\)/);
});

test('usage host:port or --pid with anything after it is one line and exit 2 (nothing is silently dropped)', async () => {
  const r = await runCli(['usage', '--timeout', '0.2', '127.0.0.1:9', '--json', 'x.json']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "lineprof: unexpected --json x.json after 127.0.0.1:9: put lineprof's options before it\n");
});
