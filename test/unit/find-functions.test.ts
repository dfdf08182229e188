import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SourceParseError,
  computeLineStarts,
  lineOfOffset,
  parseSource,
} from '../../src/selection/find-functions';
import type { SourceFunction } from '../../src/selection/find-functions';

/** Builds a source from lines joined with `\n` (line 1 is the first element). */
const lines = (...text: string[]): string => text.join('\n') + '\n';

function only(source: string): SourceFunction {
  const { functions } = parseSource(source);
  assert.equal(functions.length, 1, `expected exactly one function, got ${functions.map((f) => f.name).join(', ')}`);
  return functions[0]!;
}

function byName(source: string, name: string): SourceFunction {
  const fn = parseSource(source).functions.find((f) => f.name === name);
  assert.ok(fn, `no function named ${name}`);
  return fn;
}

/** True when [from, to) lies inside one of the ranges. */
function inRepeat(fn: SourceFunction, from: number, to: number): boolean {
  return fn.repeatRanges.some(([s, e]) => from >= s && to <= e);
}

/** True when no part of [from, to) lies in any range. */
function outsideRepeat(fn: SourceFunction, from: number, to: number): boolean {
  return fn.repeatRanges.every(([s, e]) => to <= s || from >= e);
}

describe('parseSource: marking with // @profile', () => {
  test('a function declaration with the marker on the line above is marked', () => {
    // Given a marker directly above a function declaration
    const fn = only(lines('// @profile', 'function allocate() {', '  return [];', '}'));
    // Then it is marked, named, and its lines are 1-based
    assert.equal(fn.name, 'allocate');
    assert.equal(fn.simpleName, 'allocate');
    assert.equal(fn.markedByComment, true);
    assert.equal(fn.startLine, 2);
    assert.equal(fn.endLine, 4);
  });

  test('an unmarked function is not marked', () => {
    const fn = only(lines('// just a comment', 'function allocate() {}'));
    assert.equal(fn.markedByComment, false);
  });

  test('export function: the marker may stand above the export keyword', () => {
    const fn = only(lines('// @profile', 'export function load() {}'));
    assert.equal(fn.name, 'load');
    assert.equal(fn.markedByComment, true);
  });

  test('const f = () => {} is named after the binding and marked', () => {
    const fn = only(lines('// @profile', 'const f = () => {', '  return 1;', '};'));
    assert.equal(fn.name, 'f');
    assert.equal(fn.markedByComment, true);
    assert.equal(fn.startLine, 2);
    assert.equal(fn.endLine, 4);
  });

  test('const f = function () {} is named after the binding and marked', () => {
    const fn = only(lines('// @profile', 'const f = function () {};'));
    assert.equal(fn.name, 'f');
    assert.equal(fn.markedByComment, true);
  });

  test('export const f = () => {} with the marker above export is marked', () => {
    const fn = only(lines('// @profile', 'export const f = () => {};'));
    assert.equal(fn.name, 'f');
    assert.equal(fn.markedByComment, true);
  });

  test('a class method is named Class.method and marked by the comment above it', () => {
    // Given a marker inside the class body, directly above the method
    const source = lines('class Store {', '  // @profile', '  load() {', '    return 1;', '  }', '  save() {}', '}');
    // Then the method is named after its class, and only it is marked
    const load = byName(source, 'Store.load');
    assert.equal(load.simpleName, 'load');
    assert.equal(load.markedByComment, true);
    assert.equal(load.startLine, 3);
    assert.equal(load.endLine, 5);
    assert.equal(byName(source, 'Store.save').markedByComment, false);
  });

  test('a static method is named Class.method and marked', () => {
    const fn = only(lines('class Store {', '  // @profile', '  static create() {}', '}'));
    assert.equal(fn.name, 'Store.create');
    assert.equal(fn.simpleName, 'create');
    assert.equal(fn.markedByComment, true);
  });

  test('an object literal method is named obj.method and marked', () => {
    const fn = only(lines('const obj = {', '  // @profile', '  m() {},', '};'));
    assert.equal(fn.name, 'obj.m');
    assert.equal(fn.simpleName, 'm');
    assert.equal(fn.markedByComment, true);
  });

  test('module.exports.f = function () {} is named f and marked', () => {
    const fn = only(lines('// @profile', 'module.exports.f = function () {};'));
    assert.equal(fn.name, 'f');
    assert.equal(fn.markedByComment, true);
  });

  test('Store.prototype.load = function () {} is named Store.load and marked', () => {
    const fn = only(lines('// @profile', 'Store.prototype.load = function () {};'));
    assert.equal(fn.name, 'Store.load');
    assert.equal(fn.simpleName, 'load');
    assert.equal(fn.markedByComment, true);
  });

  test('/* @profile */ just before a callback on the same line marks it; it is (anonymous)', () => {
    // Given two callbacks on one line, only the second preceded by a block marker
    const source = lines('items.map(function (x) { return x; }).forEach(/* @profile */ function (x) {});');
    const [first, second] = parseSource(source).functions;
    // Then only the second is marked, and both are anonymous
    assert.equal(first!.name, '(anonymous)');
    assert.equal(first!.simpleName, '(anonymous)');
    assert.equal(first!.markedByComment, false);
    assert.equal(second!.name, '(anonymous)');
    assert.equal(second!.markedByComment, true);
  });

  test('/* @profile */ before an arrow callback marks it', () => {
    const fn = only(lines('setTimeout(/* @profile */ () => {', '  work();', '}, 10);'));
    assert.equal(fn.name, '(anonymous)');
    assert.equal(fn.markedByComment, true);
    assert.equal(fn.startLine, 1);
    assert.equal(fn.endLine, 3);
  });

  test('a JSDoc block between the marker and the function still marks it', () => {
    const fn = only(lines('// @profile', '/**', ' * Loads things.', ' * @param {string} id', ' */', 'function load(id) {}'));
    assert.equal(fn.markedByComment, true);
  });

  test('a marker inside a JSDoc block directly above marks the function', () => {
    const fn = only(lines('/**', ' * Loads things.', ' * @profile', ' */', 'function load() {}'));
    assert.equal(fn.markedByComment, true);
  });

  test('a blank line between the marker and the function does not mark it', () => {
    const fn = only(lines('// @profile', '', 'function load() {}'));
    assert.equal(fn.markedByComment, false);
  });

  test('a blank line between the marker and the function does not mark it (CRLF)', () => {
    const fn = only('// @profile\r\n\r\nfunction load() {}\r\n');
    assert.equal(fn.markedByComment, false);
  });

  test(
    'a blank line between the marker and the function does not mark it (CR-only line endings)',
    () => {
      const fn = only('// @profile\r\rfunction load() {}\r');
      assert.equal(fn.markedByComment, false);
    },
  );

  test('a marker above an unrelated statement does not mark the next function further down', () => {
    const source = lines('// @profile', 'const limit = 10;', 'function load() {}');
    assert.equal(only(source).markedByComment, false);
  });

  test('a marker above a call does not mark a callback further along that statement', () => {
    const fn = only(lines('// @profile', 'run(function () {});'));
    assert.equal(fn.markedByComment, false);
  });

  test('a marker above a class does not mark its methods', () => {
    const fn = only(lines('// @profile', 'class Store {', '  load() {}', '}'));
    assert.equal(fn.markedByComment, false);
  });

  test(
    'a marker above an exported class does not mark its methods either',
    () => {
      const fn = only(lines('// @profile', 'export class Store {', '  load() {}', '}'));
      assert.equal(fn.markedByComment, false);
    },
  );

  test('@profile must be a word of its own in the comment', () => {
    const fn = only(lines('// see foo@profile.com', 'function load() {}'));
    assert.equal(fn.markedByComment, false);
  });

  test('nested functions are all found, ordered by start, with their own names', () => {
    const source = lines('function outer() {', '  // @profile', '  function inner() {}', '  return () => inner();', '}');
    const { functions } = parseSource(source);
    assert.deepEqual(
      functions.map((f) => [f.name, f.startLine, f.endLine, f.markedByComment]),
      [
        ['outer', 1, 5, false],
        ['inner', 3, 3, true],
        ['(anonymous)', 4, 4, false],
      ],
    );
  });

  test('computed and literal keys are named by their text', () => {
    const source = lines('class Store {', '  [kLoad]() {}', "  'save-all'() {}", '  #secret() {}', '}');
    assert.deepEqual(
      parseSource(source).functions.map((f) => f.name),
      ['Store.[kLoad]', 'Store.save-all', 'Store.#secret'],
    );
  });

  test(
    'the simple name of a computed key containing a dot is the whole key',
    () => {
      const fn = only(lines('class Store {', '  *[Symbol.iterator]() {}', '}'));
      assert.equal(fn.name, 'Store.[Symbol.iterator]');
      assert.equal(fn.simpleName, '[Symbol.iterator]');
    },
  );

  test('async and generator functions are flagged', () => {
    const source = lines('async function a() {}', 'function* g() {}', 'async function* ag() {}');
    const flags = parseSource(source).functions.map((f) => [f.name, f.isAsync, f.isGenerator]);
    assert.deepEqual(flags, [
      ['a', true, false],
      ['g', false, true],
      ['ag', true, true],
    ]);
  });

  test('start/end/bodyStart are offsets into the source', () => {
    const source = lines('// @profile', 'const f = (a) => a + 1;');
    const fn = only(source);
    assert.equal(source.slice(fn.start, fn.end), '(a) => a + 1');
    assert.equal(source.slice(fn.bodyStart, fn.end), 'a + 1');
  });
});

describe('parseSource: repeat ranges', () => {
  test('a function without loops has no repeat ranges', () => {
    assert.deepEqual(only(lines('function f() {', '  return 1;', '}')).repeatRanges, []);
  });

  test('for (let i = 0; …): the init is outside, the test, update and body inside', () => {
    // Given a function whose body starts with a counting loop
    const source = lines('function f(n) {', '  for (let i = 0; i < n; i++) {', '    use(i);', '  }', '  done();', '}');
    const fn = only(source);
    const at = (text: string): [number, number] => {
      const i = source.indexOf(text);
      assert.ok(i >= 0, text);
      return [i, i + text.length];
    };
    // Then the init runs once, the rest may repeat
    assert.ok(outsideRepeat(fn, ...at('let i = 0')), 'init outside');
    assert.ok(inRepeat(fn, ...at('i < n')), 'test inside');
    assert.ok(inRepeat(fn, ...at('i++')), 'update inside');
    assert.ok(inRepeat(fn, ...at('use(i)')), 'body inside');
    assert.ok(outsideRepeat(fn, ...at('done()')), 'code after the loop outside');
  });

  test('for (const x of xs): the iterated expression is outside, the binding and body inside', () => {
    const source = lines('function f(xs) {', '  for (const x of xs) {', '    use(x);', '  }', '}');
    const fn = only(source);
    const xs = source.indexOf('xs)');
    assert.ok(outsideRepeat(fn, xs, xs + 2), 'xs outside');
    const binding = source.indexOf('const x');
    assert.ok(inRepeat(fn, binding, binding + 'const x'.length), 'binding inside');
    const body = source.indexOf('use(x)');
    assert.ok(inRepeat(fn, body, body + 'use(x)'.length), 'body inside');
  });

  test('while and do-while loops are repeat ranges as a whole', () => {
    const source = lines('function f(n) {', '  while (n > 0) n--;', '  do { n++; } while (n < 3);', '}');
    const fn = only(source);
    const w = source.indexOf('while (n > 0) n--;');
    const d = source.indexOf('do {');
    const dEnd = source.indexOf('while (n < 3);') + 'while (n < 3);'.length;
    assert.ok(inRepeat(fn, w, w + 'while (n > 0) n--;'.length));
    assert.ok(inRepeat(fn, d, dEnd));
  });

  test("loops of a nested function are not the outer function's repeat ranges", () => {
    const source = lines('function outer() {', '  const g = () => { while (true) break; };', '  return g;', '}');
    const [outer, inner] = parseSource(source).functions;
    assert.deepEqual(outer!.repeatRanges, []);
    assert.equal(inner!.repeatRanges.length, 1);
  });
});

describe('parseSource: syntax and line endings', () => {
  test('a syntax error throws SourceParseError with its line', () => {
    // Given a script with an error on line 3
    const source = lines('function f() {', '  const a = 1;', '  const b = ;', '}');
    // Then parsing throws a SourceParseError that names line 3
    assert.throws(
      () => parseSource(source),
      (err: unknown) => {
        assert.ok(err instanceof SourceParseError);
        assert.equal(err.name, 'SourceParseError');
        assert.equal(err.line, 3);
        assert.equal(typeof err.column, 'number');
        return true;
      },
    );
  });

  test(
    'a syntax error in an ES module is reported at its own line',
    () => {
      const source = lines('import fs from "node:fs";', '', 'const x = ;');
      assert.throws(
        () => parseSource(source),
        (err: unknown) => err instanceof SourceParseError && err.line === 3,
      );
    },
  );

  test('a source with a hashbang and ESM import/export parses', () => {
    const source = lines('#!/usr/bin/env node', "import fs from 'node:fs';", '// @profile', 'export function read() {', '  return fs;', '}', 'export default 1;');
    const fn = only(source);
    assert.equal(fn.name, 'read');
    assert.equal(fn.markedByComment, true);
    assert.equal(fn.startLine, 4);
    assert.equal(fn.endLine, 6);
  });

  test('sloppy-mode scripts (with) parse through the script fallback', () => {
    const fn = only(lines('with (Math) {', '  (function () { return PI; })();', '}'));
    assert.equal(fn.startLine, 2);
  });

  test('top-level await and return parse', () => {
    assert.doesNotThrow(() => parseSource(lines('await Promise.resolve();', 'return;')));
  });

  test('CRLF line endings give the right line numbers', () => {
    // Given a CRLF source
    const source = '// header\r\n// @profile\r\nfunction f() {\r\n  return 1;\r\n}\r\n';
    const { functions, lineStarts } = parseSource(source);
    const fn = functions[0]!;
    // Then acorn's lines and lineOfOffset agree, and the marker counts
    assert.equal(fn.startLine, 3);
    assert.equal(fn.endLine, 5);
    assert.equal(fn.markedByComment, true);
    assert.equal(lineOfOffset(lineStarts, fn.start), 3);
    assert.equal(lineOfOffset(lineStarts, fn.end - 1), 5);
  });
});

describe('computeLineStarts / lineOfOffset', () => {
  test('LF, CRLF and bare CR each end a line; CRLF counts once', () => {
    assert.deepEqual(computeLineStarts('a\nb'), [0, 2]);
    assert.deepEqual(computeLineStarts('a\r\nb'), [0, 3]);
    assert.deepEqual(computeLineStarts('a\rb'), [0, 2]);
    assert.deepEqual(computeLineStarts('a\r\n\r\nb\n'), [0, 3, 5, 7]);
    assert.deepEqual(computeLineStarts(''), [0]);
  });

  test('lineOfOffset gives the 1-based line of every offset', () => {
    const source = 'ab\r\ncd\nef';
    const starts = computeLineStarts(source);
    const expected = [1, 1, 1, 1, 2, 2, 2, 3, 3];
    expected.forEach((line, offset) => assert.equal(lineOfOffset(starts, offset), line, `offset ${offset}`));
    // Offsets past the end fall on the last line
    assert.equal(lineOfOffset(starts, source.length + 5), 3);
  });

  test(
    'U+2028/U+2029 end lines, as they do for acorn and V8',
    () => {
      const source = 'const s = "a\u2028b";\nfunction f() {}\n';
      const { functions, lineStarts } = parseSource(source);
      assert.equal(functions[0]!.startLine, 3);
      assert.equal(lineOfOffset(lineStarts, functions[0]!.start), functions[0]!.startLine);
    },
  );
});

describe('suspension offsets', () => {
  test('await, yield and for await in the function itself, not in nested functions', () => {
    const source = [
      'async function f(xs) {',
      '  const a = await one();',
      '  for await (const x of xs) use(x);',
      '  const inner = async () => { await two(); };',
      '}',
      'function* g() { yield 1; yield* other(); }',
    ].join('\n');
    const [f, inner, g] = parseSource(source).functions;
    assert.equal(inner!.name, 'inner');
    const at = (text: string, from = 0) => source.indexOf(text, from);
    const forAwait = at('for await');
    const loopEnd = at('use(x);') + 'use(x);'.length;
    assert.deepEqual(f!.suspensionOffsets, [at('await one'), at(' of xs') + ' of xs'.length, loopEnd - 1]);
    assert.deepEqual(inner!.suspensionOffsets, [at('await two')]);
    assert.deepEqual(g!.suspensionOffsets, [at('yield 1'), at('yield*')]);
    assert.ok(forAwait > 0);
  });
});
