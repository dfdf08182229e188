/** `lineprof usage` as a user runs it: the summary line, CSV and JSON files, the --max-peak budget, the chart. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, runCli } from '../helpers/cli';
import { ROOT } from '../helpers/profile';
import { startServer } from '../helpers/server';

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
    assert.match(summary, /^Peak RSS [\d.]+ MiB at [\d.]+ s, JS heap peak [\d.]+ MiB at [\d.]+ s; \d+ samples over [\d.]+ s, 1 call of marked functions; sampling from [\d.]+ s (before|after) the script started$/);
    // Not a terminal and no --chart: no chart.
    assert.doesNotMatch(r.stdout, /RSS: peak/);

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
  assert.match(r.stdout, /^RSS: peak ● [\d.]+ MiB at [\d.]+ s$/m);
  assert.match(r.stdout, /^JS heap: peak ● [\d.]+ MiB at [\d.]+ s$/m);
  assert.match(r.stdout, /^ *\d+(\.\d+)? MiB ┤/m, 'a labelled byte axis');
  assert.match(r.stdout, /^ +grow  +━+$/m, "grow's lane");
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

test('usage host:port with a word after it is one line and exit 2 (nothing is silently dropped)', { timeout: 30_000 }, async () => {
  const r = await runCli(['usage', '--timeout', '0.2', '127.0.0.1:9', 'extra']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'lineprof: unexpected extra after 127.0.0.1:9: only a script takes arguments\n');
});

test('usage host:port --timeout --json --interval: options after the address are lineprof\'s, as for attach', { timeout: 60_000 }, async () => {
  const server = await startServer({ inspect: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-usage-addr-'));
  try {
    const address = new URL(server.ws!).host;
    const json = path.join(dir, 'u.json');
    const r = await runCli(['usage', address, '--timeout', '0.6', '--interval', '0.02', '--json', json, '--no-chart']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Peak RSS .* samples over/m);
    const result = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(result.intervalSeconds, 0.02, '--interval after the address was taken');
    assert.equal(result.endedBy, 'timeout', '--timeout after the address was taken');
    assert.ok(result.samples.length >= 5, `${result.samples.length} samples`);
    assert.ok(result.samples[0].heapUsed > 0, 'sampled through the inspector');
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The chart as a person sees it: lineprof on a pseudo-terminal of 60 columns (util-linux `script`, else python3's
 * pty module), so stdout is a TTY and its width is the terminal's.
 */
test('usage --chart on a 60-column pseudo-terminal: labelled axes, the peak, grow\'s lane, no chart line wider than 60', { timeout: 60_000 }, (t) => {
  const columns = 60;
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  const command = `stty cols ${columns} rows 30; exec ${[process.execPath, BIN, 'usage', '--chart', ...PHASES].map(quote).join(' ')}`;
  const env = { ...process.env, COLUMNS: String(columns), LINES: '30' };
  let run;
  if (spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0) {
    run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8', timeout: 50_000 });
  } else if (spawnSync('python3', ['--version'], { encoding: 'utf8' }).status === 0) {
    const py = 'import pty, sys; sys.exit(pty.spawn(["/bin/sh", "-c", sys.argv[1]]) >> 8)';
    run = spawnSync('python3', ['-c', py, command], { cwd: ROOT, env, encoding: 'utf8', timeout: 50_000 });
  } else {
    t.skip('no pseudo-terminal: neither util-linux script nor python3 is installed');
    return;
  }
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  const lines = run.stdout.replace(/\r/g, '').trimEnd().split('\n');
  t.diagnostic(`\n${lines.join('\n')}`);
  const text = lines.join('\n');
  assert.match(text, /^RSS: peak ● [\d.]+ MiB at [\d.]+ s$/m);
  assert.match(text, /^ *\d+ MiB ┤/m, 'byte axis labels with their unit');
  assert.match(text, /^ *0 MiB ┤/m, 'the axis starts at 0');
  assert.match(text, /^ +└┬[─┬]+$/m, 'the time axis');
  assert.match(text, /^ +0 s +0\.5 s +1 s/m, 'its times in seconds');
  assert.match(text, /^ +grow  +━+$/m, "grow's lane");
  // The summary line is one sentence the terminal wraps; every line of the chart fits.
  const chart = lines.filter((l) => !l.startsWith('Peak RSS'));
  assert.ok(chart.length >= 25, `${chart.length} chart lines`);
  for (const line of chart) assert.ok([...line].length <= columns, `${[...line].length} > ${columns} columns: ${line}`);
  assert.ok(Math.max(...chart.map((l) => [...l].length)) >= columns - 2, 'the chart fills the width');
});
