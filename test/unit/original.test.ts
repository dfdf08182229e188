import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSource } from '../../src/selection/find-functions';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { instrument } from '../../src/instrument/instrument';
import { loadSourceMap, originalViewOf } from '../../src/sourcemap/load';
import { isMarkedAbove, layoutThroughMap, namesMatchingIn, selectInScript, selectThroughMap, spotsThroughMap, withOriginalNames } from '../../src/sourcemap/original';
import type { OriginalView } from '../../src/sourcemap/original';
import { separateUnmappedLines } from '../../src/sourcemap/apply';
import { lineStatsOf } from '../../src/attribution/attributor';
import type { AgentFunctionReport, AgentReport } from '../../src/wire/agent-report';

// What tsc --removeComments emits for ORIGINAL: the marker is gone, every line moved up by the removed lines.
const ORIGINAL = [
  'interface Row { id: number }', //          1
  '', //                                      2
  '// @profile', //                           3
  'export function build(n: number): Row[] {', // 4
  '  const rows: Row[] = new Array(n);', //   5
  '  return rows;', //                        6
  '}', //                                     7
  '/**', //                                   8
  ' * @profile', //                           9
  ' */', //                                   10
  '@sealed', //                               11
  'function other(): void {}', //             12
].join('\n');
const GENERATED = ['function build(n) {', '  const rows = new Array(n);', '  return rows;', '}', 'function other() { }', ''].join('\n');
/** Generated line → original line, as the map says (columns kept as they are). */
const LINE_MAP: Record<number, number> = { 1: 4, 2: 5, 3: 6, 4: 7, 5: 12 };

const view: OriginalView = {
  files: ['/src/app.ts'],
  originalOf: (line, column) => (LINE_MAP[line] ? { file: '/src/app.ts', line: LINE_MAP[line]!, column } : undefined),
  contentOf: (file) => (file === '/src/app.ts' ? ORIGINAL : undefined),
};

describe('selection through a source map', () => {
  const parsed = parseSource(GENERATED);

  test('a marker the compiler removed is found above the original function (also a JSDoc block over a decorator)', () => {
    const { selected } = selectThroughMap(parsed, view, { markers: true, functions: [], lines: [] });
    assert.deepEqual(selected.map((s) => [s.fn.name, s.reasons]), [['build', ['comment']], ['other', ['comment']]]);
  });

  test('--line in the original file selects the function whose original lines hold it', () => {
    const { selected, matchedLines } = selectThroughMap(parsed, view, {
      markers: false,
      functions: [],
      lines: [{ file: '/src/app.ts', line: 6 }, { file: '/src/app.ts', line: 2 }],
    });
    assert.deepEqual(selected.map((s) => s.fn.name), ['build']);
    assert.deepEqual(matchedLines, [{ file: '/src/app.ts', line: 6 }]);
  });

  test('the layout gives the original file, lines and the original line of each position', () => {
    const layout = layoutThroughMap(parsed.functions[0]!, [{ line: 2, column: 15 }, { line: 3, column: 2 }], parsed, view)!;
    assert.deepEqual([layout.file, layout.startLine, layout.endLine], ['/src/app.ts', 4, 7]);
    assert.equal(layout.lineAt(2, 15), 5);
    assert.equal(layout.lineAt(9, 0), undefined);
  });

  test('isMarkedAbove: same-line block comment, line comment above, nothing', () => {
    assert.equal(isMarkedAbove(['const f = /* @profile */ () => 1;'], { file: 'x', line: 1, column: 25 }), true);
    assert.equal(isMarkedAbove(['// @profile', 'function f() {}'], { file: 'x', line: 2, column: 0 }), true);
    assert.equal(isMarkedAbove(['// profile me', 'function f() {}'], { file: 'x', line: 2, column: 0 }), false);
    assert.equal(isMarkedAbove(['// @profile', '', 'function f() {}'], { file: 'x', line: 3, column: 0 }), false);
  });
});

describe('separateUnmappedLines', () => {
  test('lines that map nowhere become a second table under the generated file; mapped ones stay', () => {
    const fn: AgentFunctionReport = {
      name: 'build', url: 'file:///src/app.ts', file: '/src/app.ts', startLine: 4, startColumn: 0, endLine: 7,
      source: ['a', 'b', 'c', 'd'], reasons: ['comment'], isAsync: false, isGenerator: false, calls: 2, openCalls: 0,
      allocatedBytes: 130, netBytes: 130, externalBytes: 0, maxCallNetBytes: 70,
      lines: [[-9, lineStatsOf({ occurrences: 2, allocatedBytes: 30, netBytes: 30 })], [5, lineStatsOf({ occurrences: 2, allocatedBytes: 100, netBytes: 100 })]],
      instrumentedLines: [-9, 5],
      generated: { url: 'file:///dist/app.js', file: '/dist/app.js', startLine: 8, endLine: 12, source: ['g8', 'g9', 'g10', 'g11', 'g12'] },
    };
    const report = { functions: [fn] } as unknown as AgentReport;
    const [original, generated] = separateUnmappedLines(report).functions;
    assert.deepEqual(original!.lines.map(([l]) => l), [5]);
    assert.deepEqual([generated!.name, generated!.file, generated!.startLine], ['build (generated lines without a mapping)', '/dist/app.js', 8]);
    assert.deepEqual(generated!.lines.map(([l, s]) => [l, s.allocatedBytes]), [[9, 30]]);
    assert.equal(generated!.allocatedBytes, 30);
  });
});

describe('a minified bundle named through its recorded map (fixtures/bundle)', () => {
  const bundleFile = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'bundle', 'node_modules', 'minilex', 'lib', 'minilex.js');
  const source = fs.readFileSync(bundleFile, 'utf8');
  const view = originalViewOf(loadSourceMap(bundleFile, 'minilex.js.map'));
  const parsed = parseSource(source, 'script');
  const names = (p: typeof parsed) => p.functions.map((f) => f.name);

  test('minified, the lex methods are the class `t`\'s; through the map each has its original name', () => {
    // A static and an instance method of one name: the instance one is `.prototype.`, map or not.
    assert.deepEqual(names(parsed).filter((n) => n.endsWith('.lex')), ['t.lex', 't.prototype.lex']);
    const named = names(withOriginalNames(parsed, view));
    assert.deepEqual(named.filter((n) => n !== '(anonymous)' && !/^[a-z]$/.test(n)), [
      'Tokenizer.tokenize', 'Lexer.constructor', 'Lexer.lex', 'Lexer.lexInline', 'Lexer.prototype.lex', 'Lexer.inlineTokens',
      'lex', 'lexInline',
    ]);
  });

  test('--function Lexer.lex selects both lex methods, Lexer.prototype.lex the instance one, lex also the export', () => {
    const pick = (functions: string[]) =>
      selectInScript(parsed, bundleFile, view, { markers: false, functions, lines: [] }).selected.map((s) => s.fn.name);
    assert.deepEqual(pick(['Lexer.lex']), ['Lexer.lex', 'Lexer.prototype.lex']);
    assert.deepEqual(pick(['Lexer.prototype.lex']), ['Lexer.prototype.lex']);
    assert.deepEqual(pick(['lex']), ['Lexer.lex', 'Lexer.prototype.lex', 'lex']);
  });

  test('namesMatchingIn: the names a node_modules script would match, by original names', () => {
    assert.deepEqual(namesMatchingIn(source, 'script', ['Lexer.lex', 'Lexer.nothing', 'absent'], () => view), ['Lexer.lex']);
    let asked = false;
    assert.deepEqual(namesMatchingIn('function f() {}', 'script', ['absent'], () => ((asked = true), undefined)), []);
    assert.equal(asked, false, 'no map is read for a script without a sourceMappingURL that lacks every name');
  });

  test('the instrumenter splits a joined declaration, a multi-line call and a chain by original lines', () => {
    const named = withOriginalNames(parsed, view);
    const lex = named.functions.find((f) => f.name === 'Lexer.prototype.lex')!;
    const probed = instrument(source, parsed.program, parsed.lineStarts, [lex], { throws: true, original: spotsThroughMap(parsed, view) });
    const spots = spotsThroughMap(parsed, view);
    const originalLinesRead = [...new Set(probed.probes.map((p) => spots(p.offset)?.line))].sort((a, b) => a! - b!);
    // 19 split, 20 scratch (a declarator of the same statement), 21 for, 22 push, 23 tokenize, 28-30 the chain, 31, 32.
    assert.deepEqual(originalLinesRead, [19, 20, 21, 22, 23, 28, 29, 30, 31, 32]);
    const plain = instrument(source, parsed.program, parsed.lineStarts, [lex], { throws: true });
    const plainLines = [...new Set(plain.probes.map((p) => spots(p.offset)?.line))];
    assert.ok(!plainLines.includes(20) && !plainLines.includes(23), `without the map: ${plainLines.join(', ')}`);
  });
});
