import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { instrument, InstrumentError, PROBE_GLOBAL, ProbeKind, TOKEN_VARIABLE } from '../../src/instrument/instrument';
import type { InstrumentedSource, ProbeSite, RenderedSource } from '../../src/instrument/instrument';
import { computeLineStarts, lineOfOffset, parseSource } from '../../src/selection/find-functions';
import type { SourceFunction } from '../../src/selection/find-functions';

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const lineCount = (s: string): number => computeLineStarts(s).length;

interface Instrumented {
  source: string;
  result: InstrumentedSource;
  rendered: RenderedSource;
  functions: SourceFunction[];
  probes: ProbeSite[];
  code: string;
}

/**
 * Instruments the functions `pick` keeps (all by default) and renders them from `firstId`. Checks on every use what
 * must always hold: same line count, and the result parses.
 */
function instr(
  source: string,
  options: { throws?: boolean; pick?: (fn: SourceFunction) => boolean; firstId?: number } = {},
): Instrumented {
  const parsed = parseSource(source);
  const functions = parsed.functions.filter(options.pick ?? (() => true));
  const result = instrument(source, parsed.program, parsed.lineStarts, functions, { throws: options.throws ?? true });
  const rendered = result.render(options.firstId ?? 0);
  assert.equal(lineCount(rendered.code), lineCount(source), `line count changed:\n${rendered.code}`);
  assert.doesNotThrow(() => parseSource(rendered.code), `instrumented code does not parse:\n${rendered.code}`);
  return { source, result, rendered, functions, probes: result.probes, code: rendered.code };
}

const named =
  (...names: string[]) =>
  (fn: SourceFunction): boolean =>
    names.includes(fn.name);

type ProbeCall =
  | { op: 'e'; id: number; token: number }
  | { op: 's' | 'v'; id: number; token: number }
  | { op: 't'; token: number };

/** A recording stand-in for the probe runtime. Tokens are handed out 1, 2, 3, … */
function recorder() {
  const calls: ProbeCall[] = [];
  let next = 1;
  const G = {
    e(k: number): number {
      const token = next++;
      calls.push({ op: 'e', id: k, token });
      return token;
    },
    s(t: number, k: number): void {
      calls.push({ op: 's', id: k, token: t });
    },
    v<T>(t: number, k: number, x: T): T {
      calls.push({ op: 'v', id: k, token: t });
      return x;
    },
    t(t: number): void {
      calls.push({ op: 't', token: t });
    },
  };
  return { G, calls };
}

interface Outcome {
  value?: string;
  threw?: string;
}

/** What running `expr` after `code` gives, as JSON (contexts differ: compare by value, not by identity). */
async function outcome(code: string, expr: string, G: unknown): Promise<Outcome> {
  const context = vm.createContext({ [PROBE_GLOBAL]: G });
  try {
    let value = vm.runInContext(`${code}\n;(${expr})`, context) as unknown;
    if (value && typeof (value as { then?: unknown }).then === 'function') value = await value;
    return { value: JSON.stringify(value) ?? 'undefined' };
  } catch (err) {
    return { threw: `${(err as Error)?.name}: ${(err as Error)?.message ?? String(err)}` };
  }
}

/**
 * The probe calls of a run, checked for what every run must satisfy: every token was opened by `e` first; a call
 * ends at most once (an Exit probe, the end of a finally it returns through, or `t`), and nothing of it is read after
 * it ended.
 */
function checkCalls(calls: ProbeCall[], probes: ProbeSite[], firstId: number, complete: boolean): void {
  const open = new Map<number, number>(); // token → fn
  const ended = new Set<number>();
  const returning = new Set<number>();
  for (const c of calls) {
    if (c.op === 'e') {
      const p = probes[c.id - firstId];
      assert.ok(p, `e(${c.id}) names no probe`);
      assert.equal(p.kind, ProbeKind.Entry, `e(${c.id}) is not an entry probe`);
      assert.ok(!open.has(c.token));
      open.set(c.token, p.fn);
      continue;
    }
    assert.ok(!ended.has(c.token), `a reading of call ${c.token} after it ended: ${JSON.stringify(c)}`);
    assert.ok(open.has(c.token), `a reading of call ${c.token} that never began`);
    if (c.op === 't') {
      open.delete(c.token);
      ended.add(c.token);
      continue;
    }
    const p = probes[c.id - firstId];
    assert.ok(p, `probe ${c.id} does not exist`);
    assert.equal(p.fn, open.get(c.token), `probe ${c.id} of function ${p.fn} read with a token of function ${open.get(c.token)}`);
    assert.notEqual(p.kind, ProbeKind.Entry);
    if (p.kind === ProbeKind.Returning) returning.add(c.token);
    if (p.kind === ProbeKind.Exit || (p.kind === ProbeKind.FinallyEnd && returning.has(c.token))) {
      open.delete(c.token);
      ended.add(c.token);
    }
  }
  if (complete) assert.equal(open.size, 0, `calls never closed: ${[...open.keys()].join(', ')}`);
}

/** Runs the original and the instrumented code and requires the same outcome; returns the probe calls. */
async function sameBehaviour(
  source: string,
  expr: string,
  options: { throws?: boolean; pick?: (fn: SourceFunction) => boolean; complete?: boolean } = {},
): Promise<{ it: Instrumented; calls: ProbeCall[]; result: Outcome }> {
  const it = instr(source, { ...options, firstId: 100 });
  const before = await outcome(source, expr, undefined);
  const rec = recorder();
  const after = await outcome(it.code, expr, rec.G);
  assert.deepEqual(after, before, `different behaviour for ${expr}:\n${it.code}`);
  checkCalls(rec.calls, it.probes, 100, options.complete ?? true);
  return { it, calls: rec.calls, result: after };
}

/** The probe calls as `op:line:kind` (`S` appended when the probe's interval may suspend). */
function trace(calls: ProbeCall[], probes: ProbeSite[], firstId = 100): string[] {
  return calls.map((c) => {
    if (c.op === 't') return `t#${c.token}`;
    const p = probes[c.id - firstId]!;
    const kind = p.kind === ProbeKind.Entry ? 'entry' : p.kind === ProbeKind.Exit ? 'exit' : 'stmt';
    return `${c.op}:${p.line}:${kind}${p.maySuspend ? ':S' : ''}`;
  });
}

const lines = (...ls: string[]): string => ls.join('\n');

// ---------------------------------------------------------------------------------------------------------------
// Syntactic forms: same lines, still parses, same behaviour, calls closed once
// ---------------------------------------------------------------------------------------------------------------

interface Form {
  name: string;
  src: string;
  run: string;
  complete?: boolean;
}

const FORMS: Form[] = [
  {
    name: 'if / else if / else without braces',
    src: lines(
      'function f(x) {',
      '  if (x < 0) return "neg"',
      '  else if (x === 0) return "zero"',
      '  else if (x < 10)',
      '    x = x * 2',
      '  else x = -x',
      '  return x',
      '}',
    ),
    run: '[f(-1), f(0), f(3), f(20)]',
  },
  {
    name: 'labels with continue and break (one label, nested loops)',
    src: lines(
      'function f() {',
      '  const out = [];',
      '  outer: for (let i = 0; i < 4; i++) {',
      '    for (let j = 0; j < 4; j++) {',
      '      if (j > i) continue outer;',
      '      if (i === 3) break outer;',
      '      out.push(i * 10 + j);',
      '    }',
      '  }',
      '  block: { if (out.length) break block; out.push(-1) }',
      '  done: out.push(99)',
      '  return out;',
      '}',
    ),
    run: 'f()',
  },
  {
    name: 'for / for-in / for-of, with and without braces',
    src: lines(
      'function f(o) {',
      '  let s = 0;',
      '  for (let i = 0; i < 3; i++) s += i',
      '  for (const k in o) s += o[k];',
      '  for (const v of [4, 5]) s += v',
      '  for (const v of [6]) ;',
      '  for (;;) break',
      '  for (var i = 0, j = 10; i < j; i += 3, j--) { s += i }',
      '  for (const [a, b] of Object.entries(o)) { s += a.length + b }',
      '  return s',
      '}',
    ),
    run: 'f({ a: 1, bb: 2 })',
  },
  {
    name: 'for await, awaits inside expressions',
    src: lines(
      'async function* source() { yield 1; yield 2; yield 3 }',
      'async function f() {',
      '  let s = 0;',
      '  for await (const v of source()) s += v',
      '  for await (const v of [Promise.resolve(10), 20]) {',
      '    s += (await v) + (await Promise.resolve(1))',
      '  }',
      '  const o = { a: await 1, b: [await 2, await Promise.resolve(3)] };',
      '  return s + o.a + o.b[0] + o.b[1] + (await Promise.resolve(100))',
      '}',
    ),
    run: 'f()',
  },
  {
    name: 'while / do-while',
    src: lines(
      'function f(n) {',
      '  let a = 0, b = 0;',
      '  while (n > 0) n--, a++',
      '  while (a > 2) { a-- }',
      '  do b++; while (b < 3)',
      '  do { b += 10 } while (b < 30);',
      '  return [a, b, n]',
      '}',
    ),
    run: 'f(5)',
  },
  {
    name: 'switch with fallthrough and default',
    src: lines(
      'function f(x) {',
      '  let out = "";',
      '  switch (x) {',
      '    case 1: out += "one"',
      '    case 2: { out += "two"; break }',
      '    case 3:',
      '      let y = "three";',
      '      out += y;',
      '      break;',
      '    default:',
      '      out += "other"',
      '  }',
      '  return out',
      '}',
    ),
    run: '[f(1), f(2), f(3), f(4)]',
  },
  {
    name: 'try / catch / finally, catch without binding, rethrow',
    src: lines(
      'function f(x) {',
      '  const log = [];',
      '  try {',
      '    if (x) throw new Error("boom")',
      '    log.push("try")',
      '  } catch (e) {',
      '    log.push(e.message)',
      '  } finally {',
      '    log.push("finally")',
      '  }',
      '  try { JSON.parse("{") } catch { log.push("caught") }',
      '  try { log.push("t") } finally { log.push("late") }',
      '  return log',
      '}',
      'function g() { try { f(1); null.x } catch (e) { throw new TypeError("again") } }',
    ),
    run: '[f(0), f(1)]',
  },
  {
    name: 'a throw out of the function is rethrown unchanged',
    src: lines('function g(x) {', '  if (x) throw new RangeError("out of range: " + x)', '  return x', '}'),
    run: 'g(7)',
  },
  {
    name: 'return with and without argument, without semicolon before }',
    src: lines(
      'function a() { return }',
      'function b(x) { if (x) return; return x }',
      'function c() { return 1 }',
      'function d() {',
      '  return (',
      '    2',
      '  )',
      '}',
      'function e() {',
      '  return',
      '  3',
      '}',
      'function f() { return a(), b(0), c() }',
    ),
    run: '[a(), b(1), b(0), c(), d(), e(), f()]',
  },
  {
    name: 'arrows with expression bodies, object literal bodies, async arrows',
    src: lines(
      'const id = x => x;',
      'const obj = () => ({a:1});',
      'const obj2 = () =>',
      '  ({ b: 2 });',
      'const nested = a => b => a + b;',
      'const seq = () => (1, 2);',
      'const later = async x => (await x) * 2;',
      'const tight=x=>x+1;',
      'const cond = (x, y = 3) => x ? y : -y;',
      'const arr = [1, 2, 3].map((v) => v * 2);',
      'async function all() { return [id(1), obj(), obj2(), nested(1)(2), seq(), await later(Promise.resolve(4)), tight(1), cond(1), cond(0), arr] }',
    ),
    run: 'all()',
  },
  {
    name: 'generators: yield, yield*, bare yield, yield used as a value',
    src: lines(
      'function* inner() { yield "i1"; return "ret" }',
      'function* g() {',
      '  yield 1;',
      '  const back = yield;',
      '  const r = yield* inner();',
      '  yield [back, r];',
      '  yield',
      '  return "end"',
      '}',
      'function drive() {',
      '  const it = g(); const out = [];',
      '  out.push(it.next("ignored"));',
      '  out.push(it.next());',
      '  out.push(it.next("sent"));',
      '  out.push(it.next());',
      '  out.push(it.next());',
      '  out.push(it.next());',
      '  out.push(it.next());',
      '  out.push(it.next());',
      '  return out',
      '}',
    ),
    run: 'drive()',
  },
  {
    name: 'classes: methods, getters, setters, static, constructors calling super',
    src: lines(
      'class A {',
      '  constructor(x) { this.x = x }',
      '  get double() { return this.x * 2 }',
      '  set value(v) { this.x = v }',
      '  static make() { return new this(5) }',
      '  *[Symbol.iterator]() { yield this.x }',
      '  async later() { return await this.x }',
      '}',
      'class B extends A {',
      '  constructor(x) {',
      '    super(x + 1);',
      '    this.y = this.x + 1',
      '  }',
      '  get double() { return super.double + 1 }',
      '}',
      'async function run() {',
      '  const b = new B(1); b.value = 10;',
      '  return [b.x, b.y, b.double, A.make().x, [...b], await b.later(), ({ get z() { return 3 }, m() { return 4 } }).z]',
      '}',
    ),
    run: 'run()',
  },
  {
    name: '"use strict" directives and a hashbang',
    src: lines(
      '#!/usr/bin/env node',
      'function f() {',
      '  "use strict";',
      '  return this === undefined',
      '}',
      'function g() { "use strict"; "another directive"; return typeof this }',
      'function h() { return this === undefined }',
    ),
    run: '[f(), g(), h()]',
  },
  {
    name: 'default parameters and destructuring',
    src: lines(
      'function f(a = 1, { b = 2, c } = {}, [d] = [3], ...rest) {',
      '  return [a, b, c, d, rest.length]',
      '}',
      'const g = ({ x } = { x: 9 }) => x;',
    ),
    run: '[f(), f(5, { c: 6 }, [7], 8, 9), g(), g({ x: 1 })]',
  },
  {
    name: 'nested marked functions, closures and recursion',
    src: lines(
      'function outer(n) {',
      '  function inner(k) {',
      '    return k <= 0 ? 0 : k + inner(k - 1)',
      '  }',
      '  const add = (x) => {',
      '    return x + inner(n)',
      '  };',
      '  return [add(1), [1, 2].map(v => add(v))]',
      '}',
    ),
    run: 'outer(3)',
  },
  {
    name: 'a top-level function of the body sharing its name with a var',
    src: lines('function f() {', '  var t = 1;', '  function t() { return 2 }', '  return typeof t', '}'),
    run: 'f()',
  },
  {
    name: 'an empty function, an empty arrow body, function declarations only',
    src: lines('function a() {}', 'const b = () => {};', 'function c() {', '  function d() {}', '}'),
    run: '[a(), b(), c()]',
  },
  {
    name: 'with statement (sloppy mode)',
    src: lines('function f(o) {', '  with (o) {', '    return a + b', '  }', '}'),
    run: 'f({ a: 1, b: 2 })',
  },
  {
    name: 'if with function declaration branch (sloppy mode), comma and conditional expressions',
    src: lines(
      'function f(x) {',
      '  if (x) function z() { return 1 }',
      '  let y = (x++, x ? x : 0)',
      '  return typeof z + y',
      '}',
    ),
    run: '[f(1), f(0)]',
  },
  {
    name: 'multi-line statements: calls in arrays, member chains, optional chains',
    src: lines(
      'function f(items, o) {',
      '  const a = [',
      '    String(1),',
      '    new Array(2).length,',
      '  ];',
      '  const b = items',
      '    .map((x) => x * 2)',
      '    .filter((x) => x > 2);',
      '  const c = o?.p',
      '    ?.q',
      '    ?.(1);',
      '  const d = o?.m',
      '    .n;',
      '  return [a, b, c, d]',
      '}',
    ),
    run: '[f([1, 2, 3], null), f([], { p: { q: (x) => x + 1 }, m: { n: 5 } })]',
  },
];

describe('instrument: syntactic forms keep lines, parse, and behave the same', () => {
  for (const form of FORMS) {
    for (const throws of [true, false]) {
      test(`${form.name} (throws: ${throws})`, async () => {
        await sameBehaviour(form.src, form.run, { throws, complete: form.complete ?? throws });
      });
    }
  }

  test('each function alone, and every function together, instrument the same way', () => {
    for (const form of FORMS) {
      const all = parseSource(form.src).functions;
      for (const fn of all) instr(form.src, { pick: (f) => f.start === fn.start });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Probe sequences
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: probe sequences', () => {
  test('a for loop of 3 iterations: the header read count + 1 times, the body 3 times, one exit', async () => {
    const src = lines(
      'function fill(count) {', //               1
      '  const rows = [];', //                   2
      '  for (let i = 0; i < count; i++) {', //  3
      '    rows.push(i);', //                    4
      '  }', //                                  5
      '  return rows;', //                       6
      '}', //                                    7
    );
    const { it, calls } = await sameBehaviour(src, 'fill(3)');
    const t = trace(calls, it.probes);
    assert.equal(t.filter((x) => x === 'e:2:entry').length, 1);
    // The header: the statement reading, then a test reading per iteration + 1 and an update reading per iteration.
    assert.equal(t.filter((x) => x === 's:3:stmt').length, 1 + 4 + 3);
    assert.equal(t.filter((x) => x === 's:4:stmt').length, 3);
    assert.equal(t.filter((x) => x.endsWith(':exit')).length, 1);
    assert.deepEqual(t, [
      'e:2:entry',
      's:3:stmt', // for statement
      's:3:stmt', // test
      's:4:stmt',
      's:3:stmt', // update
      's:3:stmt', // test
      's:4:stmt',
      's:3:stmt',
      's:3:stmt',
      's:4:stmt',
      's:3:stmt',
      's:3:stmt', // the failing test
      's:6:stmt',
      'v:6:exit',
    ]);
    // The closing brace's exit is never reached after a return.
    assert.ok(it.probes.some((p) => p.kind === ProbeKind.Exit && p.line === 7));
  });

  test('falling off the end reads the closing brace as the exit', async () => {
    const src = lines('function f(a) {', '  a.push(1)', '}');
    const { it, calls } = await sameBehaviour(src, 'f([])');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 's:3:exit']);
  });

  test('an await: a maySuspend reading before it, a resume reading on the same line, then the exit', async () => {
    const src = lines(
      'async function f(p) {', //        1
      '  const a = 1;', //               2
      '  const x = await p;', //         3
      '  return x + a;', //              4
      '}',
    );
    const { it, calls } = await sameBehaviour(src, 'f(Promise.resolve(41))');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 's:3:stmt', 'v:3:stmt:S', 'v:3:stmt', 's:4:stmt', 'v:4:exit']);
    // Only the reading right before the suspension may suspend.
    assert.deepEqual(
      it.probes.filter((p) => p.maySuspend).map((p) => p.line),
      [3],
    );
  });

  test('return await: the resume reading comes before the exit', async () => {
    const src = lines('async function f(p) {', '  return await p;', '}');
    const { it, calls } = await sameBehaviour(src, 'f(Promise.resolve(1))');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:2:stmt:S', 'v:2:stmt', 'v:2:exit']);
  });

  test('return yield (bare and with a value): the resume reading comes before the exit', async () => {
    const src = lines(
      'function* g() {',
      '  return yield',
      '}',
      'function* h() {',
      '  return yield 5',
      '}',
      'function run() { const a = g(); const b = h(); return [a.next(), a.next(7), b.next(), b.next(8)] }',
    );
    const { it, calls } = await sameBehaviour(src, 'run()', { pick: named('g', 'h') });
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:2:stmt:S', 'v:2:stmt', 'v:2:exit', 'e:5:entry', 'v:5:stmt:S', 'v:5:stmt', 'v:5:exit']);
  });

  test('a yield used as the object of a member chain continued on the next line', async () => {
    const src = lines(
      'function* g() {',
      '  const n = (yield)',
      '    .length;',
      '  return n',
      '}',
      'function run() { const it = g(); it.next(); return it.next("abc") }',
    );
    await sameBehaviour(src, 'run()', { pick: named('g') });
  });

  test('arrow expression bodies starting right at => (no space)', async () => {
    const src = lines(
      'const f = async x=>await x;',
      'const g = async x=>(await x);',
      'const h = x=>x',
      '  .length;',
      'async function run() { return [await f(Promise.resolve(1)), await g(2), h("abc")] }',
    );
    const { it, calls } = await sameBehaviour(src, 'run()', { pick: named('f', 'g', 'h') });
    const t = trace(calls, it.probes);
    assert.deepEqual(t, ['e:1:entry', 'v:1:stmt:S', 'v:1:stmt', 'v:1:exit', 'e:2:entry', 'v:2:stmt:S', 'v:2:stmt', 'v:2:exit', 'e:3:entry', 'v:4:stmt', 'v:4:exit']);
  });

  test('a throw out of the call reports t(token) when throws: true; none when false', async () => {
    const src = lines('function f(x) {', '  const a = [x];', '  if (x) throw new Error("x");', '  return a', '}');
    const on = await sameBehaviour(src, 'f(1)', { throws: true });
    // The `if`, then its branch (given braces and a reading of its own), then the throw.
    assert.deepEqual(trace(on.calls, on.it.probes), ['e:2:entry', 's:3:stmt', 's:3:stmt', 't#1']);
    assert.match(on.it.code, /catch\(__lp\$te\)\{__lineprof\.t\(__lp\$t\);throw __lp\$te\}/);
    const off = await sameBehaviour(src, 'f(1)', { throws: false, complete: false });
    assert.deepEqual(trace(off.calls, off.it.probes), ['e:2:entry', 's:3:stmt', 's:3:stmt']);
    assert.doesNotMatch(off.it.code, /catch|try/);
  });

  test('a rejection in an async function and a throw into a generator report t(token)', async () => {
    const src = lines(
      'async function f() {',
      '  await null;',
      '  throw new Error("late")',
      '}',
      'function* g() {',
      '  yield 1',
      '}',
      'function run() { const it = g(); it.next(); try { it.throw(new Error("in")) } catch (e) { return f().catch((e2) => [e.message, e2.message]) } }',
    );
    const { it, calls } = await sameBehaviour(src, 'run()', { pick: named('f', 'g') });
    const t = trace(calls, it.probes);
    assert.equal(t.filter((x) => x.startsWith('t#')).length, 2);
    assert.equal(t.filter((x) => x.endsWith('exit')).length, 0);
  });

  test('recursion: every call has its own token', async () => {
    const src = lines('function fact(n) {', '  if (n <= 1) return 1;', '  return n * fact(n - 1);', '}');
    const { calls } = await sameBehaviour(src, 'fact(4)');
    const tokens = calls.filter((c) => c.op === 'e').map((c) => c.token);
    assert.deepEqual(tokens, [1, 2, 3, 4]);
    // The innermost call exits first.
    const exits = calls.filter((c) => c.op === 'v').map((c) => c.token);
    assert.deepEqual(exits, [4, 3, 2, 1]);
  });

  test('interleaved async calls keep their tokens', async () => {
    const src = lines(
      'async function f(v) {', //
      '  await null;',
      '  return v',
      '}',
    );
    const { calls } = await sameBehaviour(src, 'Promise.all([f(1), f(2)])');
    assert.deepEqual(
      calls.map((c) => `${c.op}${c.token}`),
      ['e1', 'v1', 'e2', 'v2', 'v1', 's1', 'v1', 'v2', 's2', 'v2'],
    );
  });

  test('for-of: each step is read on the header line after the body', async () => {
    const src = lines(
      'function f(xs) {', //
      '  let s = 0;',
      '  for (const x of xs)',
      '    s += x;',
      '  return s',
      '}',
    );
    const { it, calls } = await sameBehaviour(src, 'f([1, 2])');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 's:3:stmt', 's:4:stmt', 's:3:stmt', 's:4:stmt', 's:3:stmt', 's:5:stmt', 'v:5:exit']);
  });

  test('for await: the statement reading and each step may suspend', async () => {
    const src = lines('async function f(xs) {', '  let s = 0;', '  for await (const x of xs) { s += x }', '  return s', '}');
    const { it, calls } = await sameBehaviour(src, 'f([1, 2])');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 's:3:stmt:S', 's:3:stmt', 's:3:stmt:S', 's:3:stmt', 's:3:stmt:S', 's:4:stmt', 'v:4:exit']);
  });

  test('while loop and do-while: the test is read on its own line', async () => {
    const src = lines('function f(n) {', '  do', '    n--', '  while (n > 0)', '  while (n < 2) n++', '  return n', '}');
    const { it, calls } = await sameBehaviour(src, 'f(2)');
    assert.deepEqual(trace(calls, it.probes), [
      'e:2:entry',
      's:3:stmt',
      's:4:stmt',
      's:3:stmt',
      's:4:stmt',
      's:5:stmt',
      's:5:stmt',
      's:5:stmt',
      's:5:stmt',
      's:5:stmt',
      's:5:stmt',
      's:6:stmt',
      'v:6:exit',
    ]);
  });

  test('entry and exit of an arrow with an expression body are on its lines', async () => {
    const src = lines('const f = (a) =>', '  a +', '  1;');
    const { it, calls } = await sameBehaviour(src, 'f(1)');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:3:exit']);
  });

  test('the entry of a body whose first statement is a function declaration is the next statement', () => {
    const src = lines('function f() {', '  function g() {}', '', '  g();', '}');
    const { probes } = instr(src, { pick: named('f') });
    assert.deepEqual(
      probes.map((p) => [p.line, p.kind]),
      [
        [4, ProbeKind.Entry],
        [5, ProbeKind.Exit],
      ],
    );
  });

  test('the entry of an empty body is its closing brace line', () => {
    const src = lines('function f() {', '', '}');
    const { probes } = instr(src);
    assert.deepEqual(
      probes.map((p) => [p.line, p.kind]),
      [
        [3, ProbeKind.Entry],
        [3, ProbeKind.Exit],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// render(firstId) and insertions
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: render and insertions', () => {
  const SRC = lines(
    'function a(x) {',
    '  const y = [x];',
    '  for (let i = 0; i < 2; i++) y.push(i)',
    '  return y',
    '}',
    'const b = async (p) => (await p) + 1;',
    'function* c() { yield 1; yield* [2]; }',
  );

  test('ids are offset by firstId; the probe table does not depend on it', () => {
    const parsed = parseSource(SRC);
    const result = instrument(SRC, parsed.program, parsed.lineStarts, parsed.functions, { throws: true });
    const ids = (code: string): number[] =>
      [...code.matchAll(/__lineprof\.[esv]\((?:__lp\$t,)?(\d+)/g)].map((m) => Number(m[1])).sort((p, q) => p - q);
    const at0 = result.render(0);
    const at1000 = result.render(1000);
    const n = result.probes.length;
    assert.deepEqual(ids(at0.code), [...Array(n).keys()]);
    assert.deepEqual(ids(at1000.code), [...Array(n).keys()].map((i) => i + 1000));
    assert.equal(at1000.code.replace(/(\d+)/g, (d) => (Number(d) >= 1000 ? String(Number(d) - 1000) : d)), at0.code);
    // Rendering twice gives the same text (no state kept between renders).
    assert.equal(result.render(1000).code, at1000.code);
    assert.ok(!at0.code.includes('\u0000'), 'a placeholder was left');
  });

  test('insertions are sorted, at distinct offsets, and sum to the length difference', () => {
    for (const firstId of [0, 7, 123456]) {
      const { rendered } = instr(SRC, { firstId });
      const offsets = rendered.insertions.map(([o]) => o);
      assert.deepEqual(offsets, [...offsets].sort((p, q) => p - q));
      assert.equal(new Set(offsets).size, offsets.length);
      const total = rendered.insertions.reduce((s, [, len]) => s + len, 0);
      assert.equal(total, rendered.code.length - SRC.length);
      for (const [, len] of rendered.insertions) assert.ok(len > 0);
    }
  });

  test('applying the insertions to the source gives the code; no insertion holds a line break', () => {
    for (const source of [...FORMS.map((f) => f.src), SRC]) {
      const { rendered } = instr(source);
      let applied = '';
      let shift = 0;
      let last = 0;
      for (const [offset, len] of rendered.insertions) {
        const inserted = rendered.code.slice(offset + shift, offset + shift + len);
        assert.doesNotMatch(inserted, /[\n\r\u2028\u2029]/);
        applied += source.slice(last, offset) + inserted;
        shift += len;
        last = offset;
      }
      applied += source.slice(last);
      assert.equal(applied, rendered.code);
      // And taking them out gives the source back.
      let removed = '';
      shift = 0;
      last = 0;
      for (const [offset, len] of rendered.insertions) {
        removed += rendered.code.slice(last + shift, offset + shift);
        shift += len;
        last = offset;
      }
      removed += rendered.code.slice(last + shift);
      assert.equal(removed, source);
    }
  });

  test("each probe's id is written once; its offset is on the line it is charged to (what a source map maps)", () => {
    const firstId = 50;
    const { rendered, probes, source } = instr(SRC, { firstId });
    const parsed = parseSource(SRC);
    probes.forEach((p, i) => {
      assert.equal(rendered.code.split(new RegExp(`[(,]${firstId + i}[,)]`)).length, 2, `id ${firstId + i} not exactly once`);
      assert.equal(lineOfOffset(parsed.lineStarts, p.offset), p.line, `probe ${i}: offset ${p.offset} is not on line ${p.line}`);
    });
    assert.equal(source, SRC);
  });

  test('probes are listed by function, each function has one entry', () => {
    const { probes, functions } = instr(SRC);
    for (let fn = 0; fn < functions.length; fn++) {
      assert.equal(probes.filter((p) => p.fn === fn && p.kind === ProbeKind.Entry).length, 1);
      assert.ok(probes.some((p) => p.fn === fn && p.kind === ProbeKind.Exit));
    }
    const fns = probes.map((p) => p.fn);
    assert.deepEqual(fns, [...fns].sort((p, q) => p - q));
  });

  test('nothing selected: the code is unchanged and there are no probes', () => {
    const parsed = parseSource(SRC);
    const result = instrument(SRC, parsed.program, parsed.lineStarts, [], { throws: true });
    assert.deepEqual(result.probes, []);
    assert.deepEqual(result.render(0), { code: SRC, insertions: [] });
  });

  test('a function that is not in the program is an InstrumentError', () => {
    const parsed = parseSource(SRC);
    const other = parseSource(`${'\n'.repeat(200)}function far() {}`);
    assert.throws(() => instrument(SRC, parsed.program, parsed.lineStarts, other.functions, { throws: true }), InstrumentError);
  });

  test('names: the probe global and the token variable', () => {
    const { code } = instr('function f() { return 1 }');
    assert.equal(PROBE_GLOBAL, '__lineprof');
    assert.equal(TOKEN_VARIABLE, '__lp$t');
    assert.ok(code.startsWith('function f() {var __lp$t=__lineprof.e(0);try{'));
  });

  test('CRLF and U+2028 line terminators: lines still unchanged', async () => {
    const src = 'function f(a) {\r\n  const x = [a,\r\n    String(a)];\u2028  return x\r}';
    await sameBehaviour(src, 'f(1)');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Multi-line statements
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: multi-line statements', () => {
  test('a call starting its own line inside a multi-line array literal gets a probe on that line', async () => {
    const src = lines(
      'function f() {', //      1
      '  const a = [', //       2
      '    String(1),', //      3
      '    2, Number(3),', //   4  (not at the line start: no probe)
      '    new Array(2),', //   5
      '  ];', //                6
      '  return a', //          7
      '}',
    );
    const { it, calls } = await sameBehaviour(src, 'f()');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 's:3:stmt', 's:5:stmt', 's:7:stmt', 'v:7:exit']);
  });

  test('a member chain continued on new lines gets a probe on each continued line', async () => {
    const src = lines(
      'function f(items) {', //           1
      '  return items', //                 2
      '    .map((x) => x * 2)', //         3
      '    .filter((x) => x > 2);', //     4
      '}',
    );
    const { it, calls } = await sameBehaviour(src, 'f([1, 2, 3])', { pick: named('f') });
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:3:stmt', 'v:4:stmt', 'v:2:exit']);
    // `this` is kept: the wrapped part is the object, the method is still called on it.
    assert.match(it.code, /__lineprof\.v\(__lp\$t,\d+,__lineprof\.v\(__lp\$t,\d+,items\)\n {4}\.map\(\(x\) => x \* 2\)\)\n {4}\.filter/);
  });

  test('a chain whose first line is a call: the call line and then each continuation', async () => {
    const src = lines('function f(s) {', '  const parts = s', '    .trim()', '    .split(",")', '  return parts', '}');
    const { it, calls } = await sameBehaviour(src, 'f(" a,b ")');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:3:stmt', 'v:4:stmt', 's:5:stmt', 'v:5:exit']);
  });

  test('a call continued on the same line is not split', () => {
    const { probes } = instr(lines('function f(a) {', '  return a.b().c()', '}'));
    assert.deepEqual(
      probes.map((p) => p.kind),
      [ProbeKind.Entry, ProbeKind.Exit, ProbeKind.Exit],
    );
  });

  test('nothing is inserted inside an optional chain', () => {
    const src = lines(
      'function f(o) {', //
      '  const x = o?.a',
      '    .b',
      '    ?.c(',
      '      g()',
      '    )',
      '    .d;',
      '  return x',
      '}',
      'function g() { return 1 }',
    );
    const { rendered, source } = instr(src, { pick: named('f') });
    const parsed = parseSource(source);
    const chain = (parsed.program.body[0] as any).body.body[0].declarations[0].init;
    assert.equal(chain.type, 'ChainExpression');
    for (const [offset] of rendered.insertions) assert.ok(offset <= chain.start || offset >= chain.end, `insertion at ${offset} inside the chain [${chain.start}, ${chain.end})`);
  });

  test('super member continued on a new line is left alone', async () => {
    const src = lines(
      'class A { m() { return 1 } }',
      'class B extends A {',
      '  m() {',
      '    return super',
      '      .m() + 1',
      '  }',
      '}',
    );
    await sameBehaviour(src, 'new B().m()');
  });

  test('a continued computed member and a continued call argument', async () => {
    const src = lines('function f(o) {', '  return o', '    ["k"]', '    .toString(', '      String(2)', '    )', '}');
    const { it, calls } = await sameBehaviour(src, 'f({ k: 1 })');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:3:stmt', 'v:4:stmt', 's:5:stmt', 'v:2:exit']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The try/catch and declarations
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: the rethrowing catch', () => {
  test('skipped when a top-level function of the body clashes with a var; the code stays valid', async () => {
    const src = lines('function f() {', '  var t = 1;', '  function t() {}', '  return typeof t', '}');
    const { it } = await sameBehaviour(src, 'f()', { pick: named('f') });
    assert.doesNotMatch(it.code, /try\{/);
    // The same body in a block would not even parse:
    assert.throws(() => parseSource('function f() { try { var t = 1; function t() {} } catch {} }'));
  });

  test('skipped when two top-level functions of the body share a name', async () => {
    const src = lines('function f() {', '  function t() { return 1 }', '  function t() { return 2 }', '  return t()', '}');
    const { it } = await sameBehaviour(src, 'f()', { pick: named('f') });
    assert.doesNotMatch(it.code, /try\{/);
  });

  test('skipped for a var in a nested block or a destructuring pattern too', async () => {
    const src = lines(
      'function f(x) {',
      '  if (x) { var { a: [t] } = { a: [1] } }',
      '  function t() {}',
      '  return typeof t',
      '}',
    );
    const { it } = await sameBehaviour(src, '[f(0), f(1)]', { pick: named('f') });
    assert.doesNotMatch(it.code, /try\{/);
  });

  test('kept when a var of the same name is in a nested function, or the function is nested', async () => {
    const src = lines(
      'function f() {',
      '  function t() { var t = 2; return t }',
      '  const g = () => { var t = 3; return t };',
      '  { function u() {} var u2 = 1 }',
      '  return [t(), g()]',
      '}',
    );
    const { it } = await sameBehaviour(src, 'f()', { pick: named('f') });
    assert.match(it.code, /try\{/);
  });

  test(
    'a return inside try/finally: the call ends after the finally block (its readings belong to the call)',
    async () => {
      const src = lines('function f(log) {', '  try {', '    return log', '  } finally {', '    log.push("late")', '  }', '}');
      await sameBehaviour(src, 'f([])');
    },
  );

  test('kept for an arrow with an expression body', () => {
    const { code } = instr('const f = (x) => x + 1;');
    assert.match(code, /^const f = \(x\) =>\{var __lp\$t=__lineprof\.e\(0\);try\{return __lineprof\.v\(__lp\$t,1, x \+ 1\)\}catch/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Edge cases of the layout
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: layout edge cases', () => {
  test('a directive without a semicolon', async () => {
    const src = lines('function f() {', '  "use strict"', '  return this === undefined', '}', 'const g = () => { "use strict"', '  return 1 }');
    await sameBehaviour(src, '[f(), g()]');
  });

  test('nested labels on a loop with continue to the outer label', async () => {
    const src = lines(
      'function f() {',
      '  let n = 0;',
      '  a: b: for (let i = 0; i < 3; i++) {',
      '    for (;;) { n++; continue a }',
      '  }',
      '  c: d: { n += 100; break c }',
      '  return n',
      '}',
    );
    await sameBehaviour(src, 'f()');
  });

  test('an arrow whose parameters are followed by a comment containing =>', async () => {
    const src = lines('const f = () /* => */ => 1;', 'const g = (a /* => */, b) /* => */ => a + b;', 'const h = async /* => */ () /* => */ => 2;');
    await sameBehaviour(src, 'Promise.all([f(), g(1, 2), h()])');
  });

  test('sequence expressions passed through a value probe keep their meaning', async () => {
    const src = lines(
      'async function f(a) {',
      '  const x = await (a.push(1), a.length);',
      '  const y = (a.push(2), a)',
      '    .length;',
      '  return (a.push(3), x + y)',
      '}',
      'function* g() { const v = yield (1, 2); return 3, v }',
      'async function run() { const it = g(); return [await f([]), it.next(), it.next(9)] }',
    );
    const { it, calls } = await sameBehaviour(src, 'run()', { pick: named('f', 'g') });
    assert.equal(trace(calls, it.probes).filter((x) => x.endsWith('exit')).length, 2);
  });

  test('an unbraced branch or loop body that is a bare await or yield without semicolon', async () => {
    const src = lines(
      'async function f(x) {',
      '  if (x) await x',
      '  else await 0',
      '  for (const v of [1, 2]) await v',
      '  while (x-- > 0) await x',
      '  return x',
      '}',
      'function* g(x) {',
      '  if (x) yield',
      '  for (const v of [1]) yield',
      '  for (const v of [2]) yield v',
      '}',
      'async function run() { return [await f(2), await f(0), [...g(1)]] }',
    );
    await sameBehaviour(src, 'run()', { pick: named('f', 'g') });
  });

  test('an await as the first thing of a statement line after a line break', async () => {
    const src = lines('async function f(p) {', '  const x =', '    await', '      p;', '  return x', '}');
    const { it, calls } = await sameBehaviour(src, 'f(Promise.resolve(3))');
    assert.deepEqual(trace(calls, it.probes), ['e:2:entry', 'v:3:stmt:S', 'v:3:stmt', 's:5:stmt', 'v:5:exit']);
  });

  test('a statement after a statement without semicolon, the next one starting with ( or [', async () => {
    const src = lines('function f() {', '  let a = 1', '  ;[a] = [2]', '  ;(a)++', '  return a', '}');
    await sameBehaviour(src, 'f()');
  });

  test('template literals, tagged templates, regexes and strings with braces', async () => {
    const src = lines(
      'function tag(s, ...v) { return s.raw.join("|") + v.join(",") }',
      'function f(x) {',
      '  const a = `{${x}}` + "}" + /}/.source',
      '  const b = tag`a${x}',
      'b${x + 1}`',
      '  return a + b',
      '}',
    );
    await sameBehaviour(src, 'f(1)');
  });

  test('a getter / method whose SourceFunction starts at its key', async () => {
    const src = lines('const o = {', '  get x() { return 1 },', '  async m() { return await 2 },', '  ["k" + 1]() { return 3 },', '};');
    const { it } = await sameBehaviour(src, 'Promise.all([o.x, o.m(), o.k1()])');
    assert.equal(new Set(it.probes.map((p) => p.fn)).size, 3);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Stress: real code
// ---------------------------------------------------------------------------------------------------------------

describe('instrument: every function of real files', () => {
  const root = path.resolve(__dirname, '../../..');
  const files = [
    'node_modules/acorn/dist/acorn.js',
    ...['yargs-factory.js', 'command.js', 'usage.js', 'validation.js', 'completion.js', 'middleware.js'].map(
      (f) => `node_modules/yargs/build/lib/${f}`,
    ),
    'node_modules/yargs-parser/build/lib/yargs-parser.js',
  ].filter((f) => fs.existsSync(path.join(root, f)));

  test('found some files', () => {
    assert.ok(files.length >= 2, `only ${files.join(', ')}`);
  });

  for (const file of files) {
    for (const throws of [true, false]) {
      test(`${file} (throws: ${throws})`, () => {
        const source = fs.readFileSync(path.join(root, file), 'utf8');
        const parsed = parseSource(source);
        assert.ok(parsed.functions.length > 10);
        const result = instrument(source, parsed.program, parsed.lineStarts, parsed.functions, { throws });
        const { code, insertions } = result.render(1);
        assert.equal(lineCount(code), lineCount(source));
        assert.doesNotThrow(() => parseSource(code));
        assert.equal(
          insertions.reduce((s, [, l]) => s + l, 0),
          code.length - source.length,
        );
        // Every function got its entry.
        assert.equal(result.probes.filter((p) => p.kind === ProbeKind.Entry).length, parsed.functions.length);
      });
    }
  }

  test('acorn instrumented still parses JavaScript the same way', () => {
    const file = path.join(root, 'node_modules/acorn/dist/acorn.js');
    const source = fs.readFileSync(file, 'utf8');
    const parsed = parseSource(source);
    const { code } = instr(source, { firstId: 0 });
    void parsed;
    const load = (text: string, G: unknown): { parse(s: string, o: object): unknown } => {
      const module = { exports: {} as Record<string, unknown> };
      vm.runInNewContext(text, { module, exports: module.exports, [PROBE_GLOBAL]: G });
      return module.exports as never;
    };
    const rec = recorder();
    const plain = load(source, undefined);
    const probed = load(code, rec.G);
    const input = 'async function* f(a = 1, ...b) { for await (const x of y) { yield* x?.z ?? (() => ({a}))() } }';
    assert.equal(JSON.stringify(probed.parse(input, { ecmaVersion: 'latest' })), JSON.stringify(plain.parse(input, { ecmaVersion: 'latest' })));
    assert.ok(rec.calls.length > 1000);
    const result = instrument(source, parsed.program, parsed.lineStarts, parsed.functions, { throws: true });
    checkCalls(rec.calls, result.probes, 0, false);
  });
});

describe('instrument: what real code looks like (found by a hostile tester)', () => {
  test('a keyword right against its operand (minified code, tsx output): return!0, yield!1, await!1, return`…`', async () => {
    const src = [
      'function f(a){if(a)return!0;return"no"}',
      'function* g(){yield!1}',
      'async function h(){const x=await!1;return x}',
      'function t(){return`x${1}`}',
      'async function all(){return [f(1), [...g()], await h(), t()]}',
    ].join('\n');
    await sameBehaviour(src, 'all()');
  });

  test('`new X` with its member chain going on on the next line is constructed as it was', async () => {
    const src = ['function make() {', '  const C = { Inner: class { constructor() { this.v = 7; } } };', '  const o = new C', '    .Inner();', '  return o.v;', '}'].join('\n');
    await sameBehaviour(src, 'make()');
  });
});
