import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSource } from '../../src/selection/find-functions';
import type { SourceFunction } from '../../src/selection/find-functions';
import {
  functionNameMatches,
  innermostFunctionAt,
  mayContainSelection,
  parseLineSelector,
  selectFunctions,
} from '../../src/selection/selectors';
import type { SelectionSpec } from '../../src/selection/selectors';

const resolve = (file: string): string => `/abs/${file}`;

const spec = (over: Partial<SelectionSpec> = {}): SelectionSpec => ({ markers: true, functions: [], lines: [], ...over });

/** A function description with only the names filled in meaningfully. */
const fnNamed = (name: string): SourceFunction => ({
  name,
  simpleName: name.slice(name.lastIndexOf('.') + 1),
  start: 0,
  expressionBody: false,
  end: 1,
  bodyStart: 0,
  startLine: 1,
  endLine: 1,
  isAsync: false,
  isGenerator: false,
  markedByComment: false,
  repeatRanges: [],
  suspensionOffsets: [],
  anchors: [],
  returnRanges: [],
});

// Line numbers:            1                    2              3                    4               5      6
const SOURCE = ['class Store {', '  // @profile', '  load(id) {', '    const f = () => {', '      return id;', '    };',
  //  7           8      9    10                  11
  '    return f;', '  }', '}', 'function load() {', '}'].join('\n');

describe('parseLineSelector', () => {
  test('FILE:LINE gives the resolved file and the line', () => {
    assert.deepEqual(parseLineSelector('app.js:12', resolve), { file: '/abs/app.js', line: 12 });
  });

  test('the file part may contain colons (a Windows drive, a URL)', () => {
    assert.deepEqual(parseLineSelector('C:\\src\\app.js:7', (f) => f), { file: 'C:\\src\\app.js', line: 7 });
    assert.deepEqual(parseLineSelector('file:///tmp/a.js:3', (f) => f), { file: 'file:///tmp/a.js', line: 3 });
  });

  test('a missing line number is rejected', () => {
    assert.throws(() => parseLineSelector('app.js', resolve), /FILE:LINE/);
    assert.throws(() => parseLineSelector('app.js:', resolve), /FILE:LINE/);
    assert.throws(() => parseLineSelector('app.js:x', resolve), /FILE:LINE/);
  });

  test('line 0 is rejected (lines count from 1)', () => {
    assert.throws(() => parseLineSelector('app.js:0', resolve), /line number from 1/);
  });

  test('a missing file is rejected', () => {
    assert.throws(() => parseLineSelector(':3', resolve), /FILE:LINE/);
  });
});

describe('functionNameMatches', () => {
  test('a plain name matches the last segment of a qualified name, and a plain name', () => {
    assert.equal(functionNameMatches('load', fnNamed('Store.load')), true);
    assert.equal(functionNameMatches('load', fnNamed('load')), true);
    assert.equal(functionNameMatches('load', fnNamed('Store.save')), false);
    assert.equal(functionNameMatches('Store', fnNamed('Store.load')), false);
  });

  test('a qualified name matches only that exact name', () => {
    assert.equal(functionNameMatches('Store.load', fnNamed('Store.load')), true);
    assert.equal(functionNameMatches('Store.load', fnNamed('Cache.load')), false);
    assert.equal(functionNameMatches('Store.load', fnNamed('load')), false);
  });
});

describe('selectFunctions', () => {
  const parsed = parseSource(SOURCE);
  const names = (selected: ReturnType<typeof selectFunctions>): Array<[string, string[]]> =>
    selected.map((s) => [s.fn.name, s.reasons]);

  test('with markers on, marked functions are selected for their comment', () => {
    assert.deepEqual(names(selectFunctions(parsed, '/abs/a.js', spec())), [['Store.load', ['comment']]]);
  });

  test('with markers off, comments select nothing', () => {
    assert.deepEqual(selectFunctions(parsed, '/abs/a.js', spec({ markers: false })), []);
  });

  test('--function with a plain name selects every function of that simple name', () => {
    const selected = selectFunctions(parsed, '/abs/a.js', spec({ markers: false, functions: ['load'] }));
    assert.deepEqual(names(selected), [
      ['Store.load', ['function']],
      ['load', ['function']],
    ]);
  });

  test('--function with a qualified name selects only that one', () => {
    const selected = selectFunctions(parsed, '/abs/a.js', spec({ markers: false, functions: ['Store.load'] }));
    assert.deepEqual(names(selected), [['Store.load', ['function']]]);
  });

  test('--line picks the innermost function containing the line', () => {
    // Given line 5, inside the arrow f, itself inside Store.load
    const selected = selectFunctions(parsed, '/abs/a.js', spec({ markers: false, lines: [{ file: '/abs/a.js', line: 5 }] }));
    // Then the arrow is chosen, not the method around it
    assert.deepEqual(names(selected), [['f', ['line']]]);
    // And a line of the method outside the arrow picks the method
    const outer = selectFunctions(parsed, '/abs/a.js', spec({ markers: false, lines: [{ file: '/abs/a.js', line: 7 }] }));
    assert.deepEqual(names(outer), [['Store.load', ['line']]]);
  });

  test('--line for another file, for no file path, or outside every function selects nothing', () => {
    const other = spec({ markers: false, lines: [{ file: '/abs/b.js', line: 5 }] });
    assert.deepEqual(selectFunctions(parsed, '/abs/a.js', other), []);
    const here = spec({ markers: false, lines: [{ file: '/abs/a.js', line: 5 }] });
    assert.deepEqual(selectFunctions(parsed, null, here), []);
    const blank = spec({ markers: false, lines: [{ file: '/abs/a.js', line: 99 }] });
    assert.deepEqual(selectFunctions(parsed, '/abs/a.js', blank), []);
  });

  test('reasons are merged into one entry when several apply', () => {
    // Given Store.load is marked, named by --function and contains the --line
    const selected = selectFunctions(
      parsed,
      '/abs/a.js',
      spec({ functions: ['Store.load', 'load'], lines: [{ file: '/abs/a.js', line: 3 }, { file: '/abs/a.js', line: 8 }] }),
    );
    // Then it appears once, with each reason once; results are ordered by start
    assert.deepEqual(names(selected), [
      ['Store.load', ['comment', 'function', 'line']],
      ['load', ['function']],
    ]);
  });

  test('innermostFunctionAt returns undefined outside every function', () => {
    // Line 9 closes the class, which is not a function
    assert.equal(innermostFunctionAt(parsed, 9), undefined);
    assert.equal(innermostFunctionAt(parsed, 10)?.name, 'load');
  });
});

describe('mayContainSelection', () => {
  test('a marker comment is enough when markers are on', () => {
    assert.equal(mayContainSelection('// @profile\nfunction f() {}', null, spec()), true);
    assert.equal(mayContainSelection('// @profile\nfunction f() {}', null, spec({ markers: false })), false);
  });

  test('the simple name of a requested function must appear in the text', () => {
    assert.equal(mayContainSelection('Store.prototype.load = () => {}', null, spec({ functions: ['Store.load'] })), true);
    assert.equal(mayContainSelection('function save() {}', null, spec({ functions: ['Store.load'] })), false);
  });

  test('a --line selector matches by file path only', () => {
    const lines = [{ file: '/abs/a.js', line: 3 }];
    assert.equal(mayContainSelection('x', '/abs/a.js', spec({ lines })), true);
    assert.equal(mayContainSelection('x', '/abs/b.js', spec({ lines })), false);
    assert.equal(mayContainSelection('x', null, spec({ lines })), false);
  });

  test('an unremarkable source with nothing requested is skipped', () => {
    assert.equal(mayContainSelection('function f() {}', '/abs/a.js', spec()), false);
  });
});
