import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocationKind, planLocations } from '../../src/breakpoints/plan';
import type { CdpBreakLocation, PlannedLocation } from '../../src/breakpoints/plan';
import { parseSource } from '../../src/selection/find-functions';
import type { SourceFunction } from '../../src/selection/find-functions';

// 0-based lines as CDP numbers them (1-based in the comments' right column).
const SOURCE = [
  "'use strict';", //                                  0  (1)
  'function build(n) {', //                             1  (2)
  '  const out = [];', //                               2  (3)
  '  for (let i = 0; i < n; i++) {', //                 3  (4)
  '    out.push(make(i)); track(i);', //                4  (5)
  '  }', //                                             5  (6)
  '  return out;', //                                   6  (7)
  '}', //                                               7  (8)
  'function spin(n) {', //                              8  (9)
  '  while (n > 0) n--;', //                            9  (10)
  '}', //                                               10 (11)
  '',
].join('\n');

/**
 * What Debugger.getPossibleBreakpoints reported for SOURCE on Node 20 (recorded once; the test needs no inspector).
 */
const V8_LOCATIONS: CdpBreakLocation[] = [
  { lineNumber: 0, columnNumber: 0 },
  { lineNumber: 2, columnNumber: 14 },
  { lineNumber: 3, columnNumber: 15 },
  { lineNumber: 3, columnNumber: 20 },
  { lineNumber: 3, columnNumber: 26 },
  { lineNumber: 4, columnNumber: 8, type: 'call' },
  { lineNumber: 4, columnNumber: 13, type: 'call' },
  { lineNumber: 4, columnNumber: 23, type: 'call' },
  { lineNumber: 6, columnNumber: 2 },
  { lineNumber: 6, columnNumber: 13, type: 'return' },
  { lineNumber: 9, columnNumber: 11 },
  { lineNumber: 9, columnNumber: 16 },
  { lineNumber: 10, columnNumber: 0, type: 'return' },
  { lineNumber: 11, columnNumber: 0, type: 'return' },
];

const parsed = parseSource(SOURCE);
const fn = (name: string): SourceFunction => {
  const found = parsed.functions.find((f) => f.name === name);
  assert.ok(found, name);
  return found;
};

const brief = (p: PlannedLocation): [number, number, number, LocationKind, boolean] => [
  p.lineNumber0,
  p.columnNumber0,
  p.line,
  p.kind,
  p.opensCall,
];

describe('planLocations', () => {
  test("plans build's locations: entry, body, dropped calls, return", () => {
    // When the whole script's locations are planned for build
    const planned = planLocations(fn('build'), V8_LOCATIONS, parsed.lineStarts);
    // Then only build's own locations remain, in source order, with 1-based lines
    assert.deepEqual(planned.map(brief), [
      [2, 14, 3, LocationKind.Entry, true],
      [3, 15, 4, LocationKind.Body, false],
      [3, 20, 4, LocationKind.Body, false],
      [3, 26, 4, LocationKind.Body, false],
      [4, 8, 5, LocationKind.Body, false], // the call first on its line is kept
      [6, 2, 7, LocationKind.Body, false],
      [6, 13, 7, LocationKind.Return, false],
    ]);
  });

  test('a call location that is not first on its line is dropped', () => {
    const planned = planLocations(fn('build'), V8_LOCATIONS, parsed.lineStarts);
    const line5 = planned.filter((p) => p.lineNumber0 === 4).map((p) => p.columnNumber0);
    assert.deepEqual(line5, [8]);
  });

  test('a plain (non-call) location that is not first on its line is kept', () => {
    const planned = planLocations(fn('build'), V8_LOCATIONS, parsed.lineStarts);
    assert.equal(planned.filter((p) => p.lineNumber0 === 3).length, 3);
  });

  test('offsets point into the source and order the locations', () => {
    const planned = planLocations(fn('build'), V8_LOCATIONS, parsed.lineStarts);
    const at = (p: PlannedLocation): string => SOURCE.slice(p.offset, p.offset + 3);
    // (V8 places the loop's test and update at their operators)
    assert.deepEqual(planned.slice(0, 4).map(at), ['[];', '0; ', '< n', '++)']);
    const offsets = planned.map((p) => p.offset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  });

  test('locations outside the function are dropped', () => {
    // spin's plan holds none of the script's or build's locations
    const planned = planLocations(fn('spin'), V8_LOCATIONS, parsed.lineStarts);
    assert.deepEqual(planned.map((p) => p.lineNumber0), [9, 9, 10]);
  });

  test('an entry inside a loop does not open a call', () => {
    // spin's first location is the while's test, which the loop repeats
    const [entry, body, ret] = planLocations(fn('spin'), V8_LOCATIONS, parsed.lineStarts);
    assert.deepEqual(brief(entry!), [9, 11, 10, LocationKind.Entry, false]);
    assert.deepEqual(brief(body!), [9, 16, 10, LocationKind.Body, false]);
    assert.deepEqual(brief(ret!), [10, 0, 11, LocationKind.Return, false]);
  });

  test('an entry at a for loop init opens a call', () => {
    // Given a function that begins with a for loop, its first location at the init
    const source = 'function f(n) {\n  for (let i = 0; i < n; i++) g();\n}\n';
    const p = parseSource(source);
    const planned = planLocations(
      p.functions[0]!,
      [
        { lineNumber: 1, columnNumber: 15 },
        { lineNumber: 1, columnNumber: 20 },
        { lineNumber: 1, columnNumber: 26 },
        { lineNumber: 1, columnNumber: 31, type: 'call' },
        { lineNumber: 2, columnNumber: 0, type: 'return' },
      ],
      p.lineStarts,
    );
    // Then the entry opens calls; the call after other locations on its line is dropped
    assert.deepEqual(planned.map(brief), [
      [1, 15, 2, LocationKind.Entry, true],
      [1, 20, 2, LocationKind.Body, false],
      [1, 26, 2, LocationKind.Body, false],
      [2, 0, 3, LocationKind.Return, false],
    ]);
  });

  test('a call location first in the function is the entry and is kept', () => {
    const source = 'function f() {\n  g(); h();\n}\n';
    const p = parseSource(source);
    const planned = planLocations(
      p.functions[0]!,
      [
        { lineNumber: 1, columnNumber: 2, type: 'call' },
        { lineNumber: 1, columnNumber: 7, type: 'call' },
        { lineNumber: 2, columnNumber: 0, type: 'return' },
      ],
      p.lineStarts,
    );
    assert.deepEqual(planned.map(brief), [
      [1, 2, 2, LocationKind.Entry, true],
      [2, 0, 3, LocationKind.Return, false],
    ]);
  });

  test('locations are planned in source order whatever order they arrive in, and a missing column is 0', () => {
    const source = 'function f() {\n  a();\nb();\n}\n';
    const p = parseSource(source);
    const planned = planLocations(
      p.functions[0]!,
      [
        { lineNumber: 3, columnNumber: 0, type: 'return' },
        { lineNumber: 2, type: 'call' },
        { lineNumber: 1, columnNumber: 2, type: 'call' },
      ],
      p.lineStarts,
    );
    assert.deepEqual(planned.map(brief), [
      [1, 2, 2, LocationKind.Entry, true],
      [2, 0, 3, LocationKind.Body, false],
      [3, 0, 4, LocationKind.Return, false],
    ]);
  });

  test('CRLF sources map CDP lines to the right offsets', () => {
    const source = '// x\r\nfunction f() {\r\n  a();\r\n}\r\n';
    const p = parseSource(source);
    const planned = planLocations(
      p.functions[0]!,
      [
        { lineNumber: 2, columnNumber: 2, type: 'call' },
        { lineNumber: 3, columnNumber: 0, type: 'return' },
      ],
      p.lineStarts,
    );
    assert.equal(source.slice(planned[0]!.offset, planned[0]!.offset + 3), 'a()');
    assert.deepEqual(planned.map((l) => l.line), [3, 4]);
  });

  test('no locations give an empty plan', () => {
    assert.deepEqual(planLocations(fn('build'), [], parsed.lineStarts), []);
  });

  test('a location followed by an await or yield before the next location may suspend (recorded V8 locations)', () => {
    const source = [
      'async function f(a) {', //             0
      '  const x = mk(1);', //                1
      '  const y = await g(mk(2));', //       2
      '  return y;', //                       3
      '}', //                                 4
      'function* gen() {', //                 5
      '  const a = mk(5);', //                6
      '  yield a;', //                        7
      '}', //                                 8
      '',
    ].join('\n');
    const parsedSource = parseSource(source);
    // What Debugger.getPossibleBreakpoints reported for this source on Node 20.
    const locations: CdpBreakLocation[] = [
      { lineNumber: 1, columnNumber: 12, type: 'call' },
      { lineNumber: 2, columnNumber: 12 },
      { lineNumber: 2, columnNumber: 18, type: 'call' },
      { lineNumber: 2, columnNumber: 20, type: 'call' },
      { lineNumber: 3, columnNumber: 2 },
      { lineNumber: 3, columnNumber: 11, type: 'return' },
      { lineNumber: 6, columnNumber: 12, type: 'call' },
      { lineNumber: 7, columnNumber: 2 },
      { lineNumber: 8, columnNumber: 0, type: 'return' },
    ];
    const [f, gen] = parsedSource.functions;
    const suspending = (fnOf: SourceFunction) =>
      planLocations(fnOf, locations, parsedSource.lineStarts).filter((p) => p.maySuspend).map((p) => p.line);
    assert.deepEqual(suspending(f!), [3]);
    assert.deepEqual(suspending(gen!), [8]);
  });
});
