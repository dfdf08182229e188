/**
 * A library in the style of marked, bundled and minified by esbuild with a source map, in node_modules as a program
 * uses it (fixtures/bundle/: src/ the original, node_modules/minilex/lib/ the bundle, use.js the program). Rebuilt
 * with `npx esbuild --bundle --minify --sourcemap --format=cjs fixtures/bundle/src/index.js
 * --outfile=fixtures/bundle/node_modules/minilex/lib/minilex.js`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURES, fn, line, NODE_MAJOR, profileFixture, STABLE_TIER } from '../helpers/profile';

const USE = path.join(FIXTURES, 'bundle', 'use.js');
const LEXER = path.join(FIXTURES, 'bundle', 'src', 'lexer.js');
const BUNDLE = path.join(FIXTURES, 'bundle', 'node_modules', 'minilex', 'lib', 'minilex.js');
/** `new Array(1000).fill(0)`: a FixedArray of 1,000 smis and its JSArray. */
const ARRAY_1000 = 8_048;

test('the fixture is minified: both lex methods are `t.lex` in the bundle', () => {
  const bundle = fs.readFileSync(BUNDLE, 'utf8');
  assert.match(bundle, /class t\{.*static lex\(e\)\{return new t\(\)\.lex\(e\)\}/);
  assert.ok(!bundle.includes('Lexer.lex'));
});

for (const engine of ['probes', 'breakpoints'] as const) {
  test(`${engine}: --function Lexer.lex selects the static and the instance lex by their original names and lines`, { timeout: 60_000 }, async () => {
    const outcome = await profileFixture(USE, { nodeArgs: STABLE_TIER, functions: ['Lexer.lex'], includeNodeModules: true, engine });
    assert.deepEqual(
      outcome.result.functions.map((f) => [f.name, f.file, f.startLine, f.endLine, f.calls]),
      [
        ['Lexer.lex', LEXER, 10, 12, 3],
        ['Lexer.prototype.lex', LEXER, 18, 32, 3],
      ],
    );
    assert.deepEqual(outcome.result.warnings, []);
    const lex = fn(outcome, 'Lexer.prototype.lex');
    // In the bundle `let n=e.split(…),u=new Array(1e3).fill(0)` is one statement: the array is still line 20's.
    const scratch = line(lex, 'const scratch = new Array(1000).fill(0);');
    assert.equal(scratch.line, 20);
    assert.equal(scratch.occurrences, 3);
    // Probes, seen with STABLE_TIER's eager feedback: 8,064 B a call on Node 20 (the array and an allocation memento,
    // 16 B). Breakpoints read the heap at each hit, with a few hundred bytes of noise a hit, and sometimes the rest of
    // a young-generation page (up to the array's size; seen: 7,728 to 10,317 B a call).
    const bytes = scratch.allocatedBytes;
    // (Node 24: 8,091 B a call, its array's header and memento being larger.)
    // On Node 22+ a first call may add V8's metadata of the code it runs, in old space (seen +5.9 KB once on 22).
    const firstCall = NODE_MAJOR >= 22 ? 8 * 1024 : 0;
    if (engine === 'probes') assert.ok(bytes >= 3 * ARRAY_1000 && bytes <= 3 * (ARRAY_1000 + 64) + firstCall, `scratch line: ${bytes} B`);
    else assert.ok(bytes >= 3 * (ARRAY_1000 - 512) && bytes <= 3 * 2 * ARRAY_1000, `scratch line: ${bytes} B`);
    assert.ok(line(lex, "const lines = src.split('\\n');").allocatedBytes < 1_000, 'the split line is not charged the array');
    // The inner call of a multi-line call is its own line's, as in the unbundled source.
    const tokenize = line(lex, 'this.tokenizer.tokenize(');
    assert.equal(tokenize.line, 23);
    assert.equal(tokenize.occurrences, 12);
    assert.ok(tokenize.allocatedBytes > 0);
    // Probes: the push alone. Breakpoints read the heap at each of its 12 hits, with up to a few hundred bytes of
    // their own noise a hit (seen over 256 B in all on Node 24).
    const push = line(lex, 'this.tokens.push(').allocatedBytes;
    assert.ok(push <= (engine === 'probes' ? 256 : 12 * 512), `push( line: only the push, ${push} B`);
    // A chain continued on new lines: each step on its line.
    assert.ok(line(lex, '.map((l) => l.trim())').allocatedBytes > 0);
    assert.ok(line(lex, '.filter((l) => l.length > 0);').allocatedBytes > 0);
  });
}

test('probes: the bundle charges every line as the unbundled source does', { timeout: 60_000 }, async () => {
  const bundled = await profileFixture(USE, { nodeArgs: STABLE_TIER, functions: ['Lexer.lex', 'inlineTokens'], includeNodeModules: true });
  const script = path.join(path.dirname(BUNDLE), '..', '..', '..', 'use-src.js');
  const plain = await profileFixture(script, { nodeArgs: STABLE_TIER, functions: ['Lexer.lex', 'inlineTokens'] });
  // Names, lines and occurrences alike, and bytes within what V8 itself may add to a line of one run and not the
  // other: the first-call cost of the code a line runs (feedback, and on Node 22+ compiled code's metadata in old
  // space, counted object by object), which differs between minified and original code and lands in either process
  // (seen: +48 B on Node 20, +912 B on 24, +5.9 to +7.9 KB on 22). A line charged wrongly moves a whole array:
  // 3 × 8,048 B for the scratch line, 16,144 B for inlineTokens' one.
  const table = (o: typeof plain) => o.result.functions.map((f) => [f.name, f.lines.map((l) => [l.line, l.occurrences])]);
  assert.deepEqual(table(bundled), table(plain));
  // A line that calls another function of the library also carries that function's first-call cost, more than one
  // line's worth (+8.2 KB seen on Node 22 on the line calling lex): only its occurrences are compared.
  const calls = /\bnew Lexer\(|\.tokenize\(/;
  const bytes = (o: typeof plain) => o.result.functions.flatMap((f) => f.lines.filter((l) => !calls.test(l.content)).map((l) => l.allocatedBytes));
  const off = bytes(bundled).map((b, i) => b - bytes(plain)[i]!);
  assert.ok(off.every((d) => Math.abs(d) <= 8 * 1024), `bundled - plain, per line that calls nothing of the library: ${off.join(', ')}`);
});

for (const engine of ['probes', 'breakpoints'] as const) {
  test(`${engine}: a --function that matches only in node_modules says to add --include-node-modules`, { timeout: 60_000 }, async () => {
    const hint = "--function Lexer.lex matched no function in the program's own scripts; one in node_modules matches: add --include-node-modules";
    const outcome = await profileFixture(USE, { functions: ['Lexer.lex', 'main'], engine });
    assert.deepEqual(outcome.result.functions.map((f) => f.name), ['main']);
    assert.ok(outcome.result.warnings.includes(hint), outcome.result.warnings.join('\n'));
    await assert.rejects(profileFixture(USE, { functions: ['Lexer.lex'], engine }), (err: Error) => err.message === hint);
    // A name in neither keeps the general message.
    const none = await profileFixture(USE, { functions: ['Lexer.nothing', 'main'], engine });
    assert.ok(none.result.warnings.some((w) => w.startsWith('--function Lexer.nothing matched no function in the scripts the program loaded')));
  });
}
