import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as vm from 'node:vm';
import { planLiveEdit, planModule } from '../../src/agent/probes/module-plan';
import { peersIn } from '../../src/agent/lease';
import { ProbeRole } from '../../src/attribution/probe-attributor';
import { parseSource } from '../../src/selection/find-functions';

const selection = { markers: true, functions: [], lines: [] };

test('a module handed over twice (require of an ES module on Node 22+) is instrumented once', () => {
  let next = 0;
  const reserveIds = (n: number) => ((next += n), next - n);
  const source = '// @profile\nexport function f(n) {\n  return new Array(n);\n}\n';
  const first = planModule({ source, url: 'file:///m.mjs', isModule: true, selection, reserveIds });
  assert.equal(first.functions.length, 1);
  const again = planModule({ source: first.code!, url: 'file:///m.mjs', isModule: true, selection, reserveIds });
  assert.equal(again.functions.length, 0);
  assert.equal(again.code, undefined);
});

test('a marker on the first line of a file that starts with a byte-order mark', () => {
  const parsed = parseSource('\uFEFF// @profile\nfunction b(n) { return [n].length }\n');
  assert.deepEqual(parsed.functions.map((f) => [f.name, f.markedByComment]), [['b', true]]);
});

describe('planLiveEdit: edits V8 can match', () => {
  let next = 0;
  const reserveIds = (n: number) => ((next += n), next - n);
  const plan = (source: string) => planLiveEdit({ source, url: '/s.js', isModule: false, selection, reserveIds });

  /** Runs a text (a CommonJS module) with probes that check their tokens, and calls its export `name`. */
  const runs = (code: string, name: string): void => {
    const module = { exports: {} as Record<string, (n: number) => unknown> };
    const token = (t: unknown) => assert.equal(typeof t, 'number', 'a probe got no token');
    const probes = { e: () => 1, s: token, v: (t: unknown, _k: number, v: unknown) => (token(t), v), t: token, a: () => 1, set x(_v: unknown) {} };
    vm.runInNewContext(code, { module, __lineprof: probes });
    assert.equal(module.exports[name]!(3), 3);
  };

  /** Runs of lines that differ between two texts (what V8's line diff hands to its token diff). */
  const changedRuns = (before: string, after: string): number[][] => {
    const a = before.split('\n');
    const b = after.split('\n');
    const runs: number[][] = [];
    b.forEach((text, i) => {
      if (text === a[i]) return;
      const last = runs[runs.length - 1];
      if (last && last[last.length - 1] === i) last.push(i + 1);
      else runs.push([i + 1]);
    });
    return runs;
  };

  test('a 40-line function goes in over edits in which no two changed lines touch, ending with the whole instrumentation', () => {
    const body = Array.from({ length: 40 }, (_, i) => `  const a${i} = new Array(n + ${i}).fill(${i});`).join('\n');
    const source = `'use strict';\n// @profile\nfunction long(n) {\n${body}\n  return a0.length;\n}\nmodule.exports = { long };\n`;
    const live = plan(source);
    assert.ok(live.steps.length >= 2, `${live.steps.length} steps`);
    let before = source;
    for (const step of live.steps) {
      for (const run of changedRuns(before, step)) assert.equal(run.length, 1, `lines ${run.join(', ')} change together`);
      runs(step, 'long');
      before = step;
    }
    // The last step holds every probe of the plan, and no catch wrapper (LiveEdit cannot take one).
    const ids = [...before.matchAll(/__lineprof\.[esv]\((?:__lp\$t,)?(\d+)/g)].length;
    assert.equal(ids, live.plan.functions[0]!.probes.length);
    assert.doesNotMatch(before, /catch\(__lp\$te\)/);
    assert.equal(live.unsafe, undefined);
  });

  test('every text between the edits runs: no probe comes before the edit that declares its call\'s token', () => {
    // Two functions on adjacent lines, marked by name: filled by line alone, b's statement (line 5) would go in the
    // first edit and its entry (line 4) in the second.
    const source = 'function a(n){\n  n = n + 0\n  return n }\nfunction b(n){\n  n = n + 0\n  return n }\nmodule.exports = { a, b };\n';
    const live = planLiveEdit({ source, url: '/s.js', isModule: false, selection: { markers: false, functions: ['a', 'b'], lines: [] }, reserveIds });
    assert.ok(live.steps.length >= 2);
    for (const step of live.steps) {
      runs(step, 'a');
      runs(step, 'b');
    }
  });

  test('an arrow with an expression body keeps its end: its probes go in front of the body', () => {
    const live = plan('// @profile\nconst twice = (n) => n * 2;\n');
    assert.match(live.steps[live.steps.length - 1]!, /^\/\/ @profile\nconst twice = \(n\) => __lineprof\.a\(\d+\)<0\?0:__lineprof\.x=n \* 2;\n$/);
    assert.deepEqual(live.skipped, []);
    assert.deepEqual(live.plan.functions[0]!.probes.map((p) => p.role), [ProbeRole.Entry, ProbeRole.Exit]);
  });

  test('an async arrow with an expression body is left to breakpoints, with its first line, an object literal too', () => {
    const live = plan('// @profile\nconst later = async (n) => await n;\n');
    assert.deepEqual(live.skipped, [{ name: 'later', reason: 'an async arrow with an expression body', file: '/s.js', line: 2 }]);
    assert.deepEqual(live.steps, []);
    const boxed = plan('// @profile\nconst boxed = async (n) => ({ v: await n });\n');
    assert.equal(boxed.skipped.length, 1);
  });

  test('a function that starts on a line over 800 characters (minified) cannot be matched: said why', () => {
    const filler = 'var x=1;'.repeat(120);
    const live = plan(`${filler}/* @profile */function f(n){return new Array(n).length}${filler}\n`);
    assert.match(live.unsafe ?? '', /^line 1 is \d+ characters with the instrumentation \(minified\?\)/);
  });
});

describe('lease: the inspector connections in a /proc/net/tcp table', () => {
  // Recorded from this machine: the inspector on 127.0.0.1:9229 (0x240D) listening, one client connected to it
  // (both ends of that connection are in the table), and a connection of the server's own in TIME_WAIT.
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:240D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1 0000000089afb70f 100 0 0 10 0',
    '   1: 0100007F:240D 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 7301 1 000000001f8ee9f8 20 4 30 10 -1',
    '   2: 0100007F:D2F0 0100007F:240D 01 00000000:00000000 00:00000000 00000000     0        0 7300 1 000000001f8ee9f9 20 4 30 10 -1',
    '   3: 0100007F:240D 0100007F:D2F4 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000',
  ].join('\n');

  test('established connections whose local port is the inspector\'s, by their remote end', () => {
    assert.deepEqual(peersIn(table, 9229), ['0100007F:D2F0']);
  });

  test('no row for another port; the client side of a connection is not the inspector\'s', () => {
    assert.deepEqual(peersIn(table, 9230), []);
    assert.deepEqual(peersIn(table, 0xd2f0), ['0100007F:240D']);
  });
});
