/**
 * What the probe engine changes and keeps, on real processes: stack-trace columns, the trailing mark, what
 * instrumentation does to V8's optimised code (JIT honesty), and both engines against the same truth.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBytes, fn, line, profileFixture, STABLE_TIER } from '../helpers/profile';

function scratch(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-probes-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const THROWER = [
  '// @profile',
  'export function boom(x) {',
  '  const a = [x]; const b = a.map((v) => v * 2); return b[0].toFixed(2) + missing.name;',
  '}',
  'try { boom(1); } catch (e) { console.log(e.stack.split("\\n").slice(0, 2).join("|")); }',
  '',
].join('\n');

for (const ext of ['cjs', 'mjs']) {
  test(`a stack trace through an instrumented line shows the source's columns (${ext})`, { timeout: 60_000 }, async () => {
    const text = ext === 'cjs' ? THROWER.replace('export function', 'function') : THROWER;
    const file = scratch(`thrower.${ext}`, text);
    const plain = execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim();
    assert.match(plain, /thrower\.\w+:3:\d+/);
    const outcome = await profileFixture(file);
    assert.equal(outcome.stdout.trim().split('\n')[0], plain);
    assert.equal(fn(outcome, 'boom').calls, 1);
  });
}

test('a `// @profile` at the end of the function\'s first line marks it (and not the function below it)', { timeout: 60_000 }, async () => {
  const file = scratch(
    'trailing.js',
    [
      'function outer(n) { // @profile',
      '  function inner() { return new Array(1000).fill(0); }',
      '  const a = inner();',
      '  return a.length + n;',
      '}',
      'outer(1);',
      '',
    ].join('\n'),
  );
  const outcome = await profileFixture(file, { nodeArgs: STABLE_TIER });
  assert.deepEqual(outcome.result.functions.map((f) => f.name), ['outer']);
  // The array and inner's first call; a young-generation page's rest may come with it (up to the array's size).
  const callLine = line(fn(outcome, 'outer'), 'const a = inner()').allocatedBytes;
  assert.ok(callLine >= 8_048 && callLine <= 2 * 8_048 + 1024, `the call line: ${callLine} B`);
});

test('JIT honesty: the hot marked function against its uninstrumented twin in the same process', { timeout: 60_000 }, async () => {
  // Optimised code removes the callee's object (escape analysis); the instrumented function is larger and reaches
  // that code later, so its first iterations allocate more. Measured over 400,000 iterations: the twin 112 KB and
  // lineprof 220 KB on Node 20; 220 KB and 240 KB on 22 (2.3 MB once, in CI); 1.14 and 1.92 MB on 24; 1.86 and
  // 2.96 MB on 26: 0.05–5.2 B an iteration more. Bounded at 8 B an iteration, and never less than the twin.
  const outcome = await profileFixture('jit.js');
  const twin = JSON.parse(outcome.stdout.trim().split('\n').pop()!) as { plain: number; calls: number; n: number };
  const f = fn(outcome, 'sumPoints');
  assert.equal(f.calls, twin.calls);
  const iterations = twin.calls * twin.n;
  assert.ok(f.allocatedBytes >= twin.plain * 0.9, `lineprof ${f.allocatedBytes} B, twin ${twin.plain} B`);
  assert.ok(f.allocatedBytes <= twin.plain + 8 * iterations, `lineprof ${f.allocatedBytes} B, twin ${twin.plain} B`);
});

test('both engines agree with the uninstrumented twin on the known allocations', { timeout: 120_000 }, async () => {
  for (const engine of ['probes', 'breakpoints'] as const) {
    const outcome = await profileFixture('exact.js', { nodeArgs: STABLE_TIER, engine });
    const truth = JSON.parse(outcome.stdout.trim().split('\n').pop()!) as Record<string, { heap: number }>;
    const f = fn(outcome, 'allocateKnown');
    for (const [name, text] of [
      ['ints', 'new Array(1e6).fill(0)'],
      ['flat', "'a'.repeat(4e6)"],
      ['bytes', 'new Uint8Array(1e6)'],
      ['buffer', 'Buffer.alloc(1 << 20)'],
    ] as const) {
      assertBytes(line(f, text).allocatedBytes, truth[name]!.heap, 512, `${engine}: ${name}`);
    }
    assert.equal(outcome.result.stats.engine ?? 'breakpoints', engine);
  }
});

test('TypeScript that node strips itself (no loader): instrumented, its .ts lines and text in the table', {
  timeout: 60_000,
  skip: (process.features as { typescript?: unknown }).typescript ? false : 'this node does not strip types',
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-strip-'));
  const cts = path.join(dir, 'rows.ts');
  fs.writeFileSync(cts, ['interface Row { id: number }', '// @profile', 'function build(n: number): Row[] {', '  const ids: number[] = new Array(n).fill(0);', '  return ids.map((id) => ({ id }));', '}', 'build(1e5);', ''].join('\n'));
  const mts = path.join(dir, 'big.mts');
  fs.writeFileSync(mts, ['// @profile', 'export function big(n: number): number[] {', '  const a: number[] = new Array(n).fill(1);', '  return a;', '}', 'big(1e5);', ''].join('\n'));
  for (const [file, name, text] of [[cts, 'build', 'const ids: number[] = new Array(n).fill(0);'], [mts, 'big', 'const a: number[] = new Array(n).fill(1);']] as const) {
    // cwd: a folder where tsx cannot be found, so that node runs the TypeScript itself.
    const outcome = await profileFixture(file, { nodeArgs: STABLE_TIER, cwd: dir });
    const l = line(fn(outcome, name), text);
    assert.equal(l.line, name === 'build' ? 4 : 3);
    assertBytes(l.allocatedBytes, 800_048, 512, `${name}: the array line`);
    assert.deepEqual(outcome.result.warnings, []);
    assert.equal(outcome.stderr, '');
  }
});
