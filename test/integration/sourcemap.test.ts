/** TypeScript compiled by a real tsc, with external and inline source maps: tables show the .ts lines. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURES, ROOT, assertBytes, fn, line, profileFixture, STABLE_TIER } from '../helpers/profile';

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const SOURCE = path.join(FIXTURES, 'ts', 'alloc.ts');

function compile(mapFlag: '--sourceMap' | '--inlineSourceMap'): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-ts-'));
  execFileSync(process.execPath, [
    TSC, '--outDir', outDir, mapFlag, '--module', 'commonjs', '--target', 'es2020', '--strict',
    '--rootDir', path.dirname(SOURCE), SOURCE,
  ]);
  return path.join(outDir, 'alloc.js');
}

for (const mapFlag of ['--sourceMap', '--inlineSourceMap'] as const) {
  test(`tsc ${mapFlag}: the table shows alloc.ts, its line numbers, its contents and the bytes`, async () => {
    const script = compile(mapFlag);
    const outcome = await profileFixture(script, { nodeArgs: STABLE_TIER });
    const f = fn(outcome, 'buildRows');
    assert.equal(f.file, SOURCE);
    assert.equal(f.startLine, 8);
    assert.equal(f.endLine, 15);
    const ids = line(f, 'const ids: number[] = new Array(1e5).fill(0);');
    assert.equal(ids.line, 9);
    assert.equal(ids.occurrences, 1);
    assertBytes(ids.allocatedBytes, 800_048, 256, 'ids line');
    assert.equal(line(f, 'for (let i = 0; i < count; i++)').occurrences, 11);
    assert.equal(line(f, 'rows.push({ id: ids[i]!, tags: [] });').occurrences, 10);
    assert.deepEqual(outcome.result.warnings, []);
  });
}

test('a broken source map: the generated lines, and one warning', async () => {
  const script = compile('--sourceMap');
  fs.writeFileSync(`${script}.map`, '{ not json');
  const outcome = await profileFixture(script, { nodeArgs: STABLE_TIER });
  const f = fn(outcome, 'buildRows');
  assert.equal(f.file, script);
  const ids = line(f, 'const ids = new Array(1e5).fill(0);');
  assertBytes(ids.allocatedBytes, 800_048, 256, `ids line (GC-affected: ${ids.gcAffected})`);
  assert.equal(outcome.result.warnings.filter((w) => w.includes('could not read the source map')).length, 1);
});
