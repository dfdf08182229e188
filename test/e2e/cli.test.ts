/** The CLI as a user runs it: whole tables, errors as one line, exit codes, signals, saved results. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertGolden, isRunning, normalizeTable, runCli, startCli, waitFor } from '../helpers/cli';

/** The table part of stdout (the script's own output comes first). */
function tables(stdout: string): string {
  return stdout.slice(stdout.indexOf('Filename: '));
}

test('lineprof run fixtures/allocate.js prints the whole table (golden, numbers normalised)', async () => {
  const r = await runCli(['run', 'fixtures/allocate.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^String 1 of length 4000000 created\n/);
  assertGolden('allocate.txt', normalizeTable(tables(r.stdout)));
});

test('--json writes the versioned result and `lineprof report` re-renders the same table', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-'));
  const json = path.join(dir, 'result.json');
  const run = await runCli(['run', '--json', json, '--unit', 'KiB', 'fixtures/targets/call-out.js']);
  assert.equal(run.code, 0, run.stderr);
  const saved = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(saved.schemaVersion, 1);
  const caller = saved.functions.find((f: { name: string }) => f.name === 'caller');
  for (const field of ['line', 'content', 'occurrences', 'allocatedBytes', 'netBytes', 'externalBytes']) {
    assert.ok(field in caller.lines[1], `line field ${field}`);
  }
  const report = await runCli(['report', '--unit', 'KiB', json]);
  assert.equal(report.code, 0, report.stderr);
  assert.equal(report.stdout, tables(run.stdout));
});

test('--output writes the tables to a file and leaves stdout to the script', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-')), 'table.txt');
  const r = await runCli(['run', '-o', out, 'fixtures/targets/call-out.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(fs.readFileSync(out, 'utf8'), /Function: caller \(lines 9-13\): 1 call/);
});

test('the script gets its own arguments, flags included', async () => {
  const r = await runCli(['run', 'fixtures/targets/never-called.js', '--call-unused']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Function: unused \(lines 3-5\): 1 call/);
});

const oneLineError = (stderr: string): string => {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
};

test('a missing script is one line and exit 2', async () => {
  const r = await runCli(['run', 'fixtures/no-such-script.js']);
  assert.equal(r.code, 2);
  assert.match(oneLineError(r.stderr), /^lineprof: cannot find the script fixtures\/no-such-script\.js/);
});

test('a syntax error is one line with file, line and column, and exit 2', async () => {
  const r = await runCli(['run', 'fixtures/targets/syntax-error.js']);
  assert.equal(r.code, 2);
  assert.equal(
    oneLineError(r.stderr),
    "lineprof: fixtures/targets/syntax-error.js:3:13: SyntaxError: Unexpected token ';'",
  );
});

test('a script that only a --require preload makes valid (a compiling preload, as @babel/register) runs and is profiled', async () => {
  // Checked without the preload, it would be refused as a syntax error (as it was).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-'));
  const json = path.join(dir, 'result.json');
  const r = await runCli(['run', '--node-arg=--require=./fixtures/preload/expand.js', '--json', json, 'fixtures/preload/macro.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^60000\n/);
  const build = JSON.parse(fs.readFileSync(json, 'utf8')).functions.find((f: { name: string }) => f.name === 'build');
  assert.equal(build.calls, 3);
  const rows = build.lines.find((l: { line: number }) => l.line === 7);
  // 3 arrays of 20,000 numbers; the first line of a call is +64-72 B on Node 22-26 (docs/engines.md).
  assert.ok(Math.abs(rows.allocatedBytes - 3 * 160_048) <= 3 * 128, `${rows.allocatedBytes} B`);
  // Without the preload the pre-check runs, and says it in one line.
  const plain = await runCli(['run', 'fixtures/preload/macro.js']);
  assert.equal(plain.code, 2);
  assert.equal(oneLineError(plain.stderr), "lineprof: fixtures/preload/macro.js:7:21: SyntaxError: Unexpected token '!'");
});

test('nothing marked is one line that says how to mark, before the script runs', async () => {
  const r = await runCli(['run', 'fixtures/targets/unmarked/plain.js']);
  assert.equal(r.code, 2);
  const line = oneLineError(r.stderr);
  assert.match(line, /no marked function found/);
  assert.match(line, /\/\/ @profile/);
  assert.match(line, /--function NAME/);
});

test('a bad option value is one line and exit 2; --verbose adds the stack', async () => {
  const r = await runCli(['run', '--unit', 'XB', 'fixtures/allocate.js']);
  assert.equal(r.code, 2);
  assert.match(oneLineError(r.stderr), /^lineprof: .*unit/i);
  const verbose = await runCli(['run', '--verbose', 'fixtures/no-such-script.js']);
  assert.equal(verbose.code, 2);
  assert.match(verbose.stderr, /\n\s+at /);
});

test('a script that throws still gets its tables, and lineprof exits with its code', async () => {
  const r = await runCli(['run', 'fixtures/targets/throws.js']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: the script failed on purpose/);
  assert.match(r.stderr, /lineprof: the script ended with exit code 1/);
  assert.match(r.stdout, /Function: work \(lines 3-6\): 1 call/);
});

test('a marked function that never ran shows 0 calls', async () => {
  const r = await runCli(['run', 'fixtures/targets/never-called.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Function: unused \(lines 3-5\): 0 calls/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to lineprof ends the script, prints what was gathered, and leaves nothing running`, async () => {
    const cli = startCli(['run', 'fixtures/targets/long-running.js']);
    await waitFor(() => /ready \d+/.test(cli.stdout()));
    const pid = Number(/ready (\d+)/.exec(cli.stdout())![1]);
    await new Promise((r) => setTimeout(r, 200));
    cli.child.kill(signal);
    const r = await cli.done;
    const expected = 128 + os.constants.signals[signal];
    assert.equal(r.code, expected, r.stderr);
    assert.match(r.stdout, /Function: tick \(lines 3-6\): \d+ calls/);
    const calls = Number(/Function: tick \(lines 3-6\): (\d+) calls/.exec(r.stdout)![1]);
    assert.ok(calls > 1, `calls ${calls}`);
    assert.equal(isRunning(pid), false, 'the script is not left running');
  });
}

test('a node flag that would pause the script for a debugger is refused before it starts', async () => {
  const r = await runCli(['run', '--node-arg=--inspect-brk', 'fixtures/allocate.js']);
  assert.equal(r.code, 2);
  assert.match(oneLineError(r.stderr), /--inspect-brk: the script would wait for a debugger, and lineprof attaches none/);
  assert.equal(r.stdout, '');
});

test('if lineprof itself is killed (SIGKILL), the script does not run on as an orphan', async () => {
  const cli = startCli(['run', 'fixtures/targets/long-running.js']);
  await waitFor(() => /ready \d+/.test(cli.stdout()));
  const pid = Number(/ready (\d+)/.exec(cli.stdout())![1]);
  cli.child.kill('SIGKILL');
  await cli.done;
  await waitFor(() => !isRunning(pid), 5000);
});

test('a .ts script without a TypeScript loader: one line that says how to run it, exit 2 (or node strips it)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-no-tsx-'));
  fs.writeFileSync(path.join(dir, 'app.ts'), '// @profile\nfunction f(n: number): number[] { return new Array(n); }\nf(3);\n');
  const { code, stdout, stderr } = await runCli(['run', 'app.ts'], dir);
  if ((process.features as { typescript?: unknown }).typescript) {
    // Node 22.18+, 24, 26 strip the types themselves: the script runs and is profiled.
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Function: f \(lines 2-2\): 1 call/);
    return;
  }
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /^lineprof: app\.ts is TypeScript, .*install tsx .*--node-arg=--import=LOADER.*\n$/);
});

test('--line past the end of a TypeScript file is one line and exit 2', async () => {
  const { code, stderr } = await runCli(['run', '--line', 'fixtures/ts/store.ts:99', 'fixtures/ts/store.ts']);
  assert.equal(code, 2);
  assert.equal(stderr, 'lineprof: --line fixtures/ts/store.ts:99: fixtures/ts/store.ts has 37 lines\n');
});

test('--max-increment: a call that keeps 2 MiB fails a 1 MiB budget (exit 3, one line) and passes a 4 MiB one', async () => {
  const over = await runCli(['run', '--max-increment', '1MiB', 'fixtures/budget.js']);
  assert.equal(over.code, 3);
  assert.match(over.stderr, /^lineprof: over budget: one call of remember grew the JS heap by 2\.\d\d MiB, more than --max-increment 1\.00 MiB\n$/);
  assert.match(over.stdout, /Function: remember/, 'the tables are still printed');
  const within = await runCli(['run', '--max-increment', '4 MiB', 'fixtures/budget.js']);
  assert.equal(within.code, 0);
  assert.equal(within.stderr, '');
  const bad = await runCli(['run', '--max-increment', 'much', 'fixtures/budget.js']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'lineprof: --max-increment: not a size: "much" (write e.g. 10MiB, 200MB, 1.5GiB or a number of bytes)\n');
});

test('a run result has its heap timeline, and lineprof plot draws it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-plot-run-'));
  const json = path.join(dir, 'run.json');
  assert.equal((await runCli(['run', '--json', json, 'fixtures/budget.js'])).code, 0);
  const result = JSON.parse(fs.readFileSync(json, 'utf8')) as { timeline: Array<[number, number]> };
  assert.ok(result.timeline.length >= 2, `${result.timeline.length} points`);
  // Three calls keep 3 x 2 MiB (6.29 MB): the heap rises by that to its peak, less what a collection between two points
  // freed of the start-up's garbage (measured: a rise of 5.97 MB), so at least 90 % of it. At the end the script's
  // module scope, which holds the arrays, is gone, and a collection may have freed them.
  const values = result.timeline.map(([, bytes]) => bytes);
  const peak = Math.max(...values);
  assert.ok(peak - values[0]! >= 6 * 1024 * 1024 * 0.9, `peak ${peak}, first ${values[0]}`);
  const svg = path.join(dir, 'run.svg');
  assert.equal((await runCli(['plot', json, '-o', svg])).code, 0);
  assert.match(fs.readFileSync(svg, 'utf8'), /peak JS heap/);
});

test('--line on a TypeScript line outside any function says so, in one line, exit 2', async () => {
  const r = await runCli(['run', '--no-markers', '--line', 'fixtures/ts/store.ts:1', 'fixtures/ts/store.ts']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^lineprof: --line \S+store\.ts:1 matched no function: that line is not inside a function\n$/);
});

test('output options are checked before the script runs: a bad --precision costs no profile', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-options-'));
  const ran = path.join(dir, 'ran');
  const script = path.join(dir, 'side-effect.js');
  fs.writeFileSync(script, `// @profile\nfunction f() { require('node:fs').writeFileSync(${JSON.stringify(ran)}, 'x'); }\nf();\n`);
  const r = await runCli(['run', '--precision', '1.5', script]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^lineprof: --precision takes a whole number from 0 to 9, got 1\.5\n$/);
  assert.ok(!fs.existsSync(ran), 'the script did not run');
});

test('--json replaces a result file whole (written beside it, then renamed), leaving nothing else', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-atomic-'));
  const json = path.join(dir, 'result.json');
  fs.writeFileSync(json, 'an older result');
  const r = await runCli(['run', '--json', json, 'fixtures/targets/call-out.js']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).schemaVersion, 1);
  assert.deepEqual(fs.readdirSync(dir), ['result.json']);
});

test('lineprof run … | head: a reader that stops reading ends lineprof quietly (no stack), with the script\'s status', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('bash', ['-c', `node ${JSON.stringify(path.join(__dirname, '..', '..', '..', 'bin', 'lineprof.js'))} run fixtures/targets/call-out.js | head -c 10 > /dev/null; echo "status \${PIPESTATUS[0]}" >&2`], {
    cwd: path.join(__dirname, '..', '..', '..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.doesNotMatch(r.stderr, /EPIPE|at writeResult|Unhandled/);
  assert.match(r.stderr, /status 0/);
});

test('numbers out of range are one line and exit 2 before anything runs (run, attach, usage): --gc-every, --calls, --max-edit-pause, --precision, --interval/--timeout/--duration 1e9', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['attach', '--gc-every', '0.5', '127.0.0.1:1'], /^lineprof: --gc-every takes a whole number from 0, got 0\.5\n$/],
    [['usage', '--interval', '1e9', 'fixtures/allocate.js'], /^lineprof: --interval takes a number of seconds from 0\.005 up to 2147483, got 1000000000\n$/],
    [['usage', '--timeout', '1e9', 'fixtures/allocate.js'], /^lineprof: --timeout takes a number of seconds above 0 up to 2147483, got 1000000000\n$/],
    [['attach', '--duration', '1e9', '127.0.0.1:1'], /^lineprof: --duration takes a number of seconds above 0 up to 2147483, got 1000000000\n$/],
    [['attach', '--calls', '1.5', '127.0.0.1:1'], /^lineprof: --calls takes a whole number from 1, got 1\.5\n$/],
    [['attach', '--max-edit-pause', '-1', '127.0.0.1:1'], /^lineprof: --max-edit-pause takes a whole number from 0 to 2147483000, got -1\n$/],
    [['run', '--gc-every', '-1', 'fixtures/allocate.js'], /^lineprof: --gc-every takes a whole number from 0, got -1\n$/],
    [['usage', '--precision', '10', 'fixtures/allocate.js'], /^lineprof: --precision takes a whole number from 0 to 9, got 10\n$/],
  ];
  for (const [args, expected] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, '');
  }
});

test('report of a result whose names and contents hold escape sequences prints them as \\xNN, never raw', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-escape-'));
  const json = path.join(dir, 'result.json');
  assert.equal((await runCli(['run', '--json', json, 'fixtures/targets/call-out.js'])).code, 0);
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  result.functions[0].name = 'evil\u001b]0;owned\u0007';
  result.functions[0].lines[0].content = '\u001b[2J\u001b[31mcleared';
  fs.writeFileSync(json, JSON.stringify(result));
  const r = await runCli(['report', json]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /\u001b|\u0007/);
  assert.match(r.stdout, /Function: evil\\x1B\]0;owned\\x07 /);
  assert.match(r.stdout, /\\x1B\[2J\\x1B\[31mcleared/);
});

test("lineprof's own lines never carry the program's control characters raw: a name with an escape sequence in a warning or an error", async () => {
  // allocate.js has marks of its own: the name that matches nothing is a warning.
  const warned = await runCli(['run', '-f', 'evil\u001b]0;owned\u0007', 'fixtures/allocate.js']);
  assert.equal(warned.code, 0, warned.stderr);
  assert.doesNotMatch(warned.stderr, /\u001b|\u0007/);
  assert.match(warned.stderr, /^lineprof: warning: --function evil\\x1B\]0;owned\\x07 matched no function/m);
  // Nothing marked at all: the same name is the error.
  const failed = await runCli(['run', '--no-markers', '-f', 'evil\u001b[2J', 'fixtures/allocate.js']);
  assert.equal(failed.code, 2, failed.stderr);
  assert.match(failed.stderr, /^lineprof: --function evil\\x1B\[2J matched no function/);
  assert.doesNotMatch(failed.stderr, /\u001b/);
});

test('a script that runs out of JS heap still gets its tables (its last report), exit 134, cut short said', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-oom-'));
  const json = path.join(dir, 'oom.json');
  const r = await runCli(['run', '--node-arg=--max-old-space-size=96', '--json', json, 'fixtures/targets/oom.js']);
  assert.equal(r.code, 134, r.stderr.split('\n').filter((l) => l.startsWith('lineprof')).join('\n'));
  assert.match(r.stderr, /^lineprof: warning: the script ended \(killed by SIGABRT\) before lineprof's final report/m);
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(result.cutShort, true);
  const hoard = result.functions.find((f: { name: string }) => f.name === 'hoard');
  assert.ok(hoard.calls >= 10, `${hoard.calls} calls in the last report`);
  const chunk = hoard.lines.find((l: { content: string }) => l.content.includes('new Array(1e5)'));
  // Each call's chunk, 800,048 B, as far as the last report saw (a report may have caught a call in the middle).
  assert.ok(Math.abs(chunk.allocatedBytes - chunk.occurrences * 800_048) <= chunk.occurrences * 2048, `${chunk.allocatedBytes} B over ${chunk.occurrences}`);
});
