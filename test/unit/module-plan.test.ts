import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planModule } from '../../src/agent/probes/module-plan';
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
