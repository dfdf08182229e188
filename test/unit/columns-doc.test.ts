/**
 * One definition of what the table's columns and marks mean (src/report/columns.ts): docs/columns.md's tables, the
 * legend under the table and `lineprof run --help` (the one test here that starts a process) must all say what it
 * says.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, MARKS, columnHelp, conditionalLegend, tableLegend } from '../../src/report/columns';
import { renderText } from '../../src/report/text';
import type { FunctionProfile, ProfileResult } from '../../src/model/types';
import { ROOT } from '../helpers/profile';

const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'columns.md'), 'utf8');

/** The rows of the markdown table whose header row is `header`, as cells with the code quotes taken off. */
function tableRows(header: string): string[][] {
  const lines = DOC.split('\n');
  const start = lines.indexOf(header);
  assert.notEqual(start, -1, `docs/columns.md has a table headed ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim().replace(/`/g, '')));
  }
  return rows;
}

test("docs/columns.md's column table is COLUMNS: titles in order, JSON fields, meanings word for word", () => {
  const rows = tableRows('| Column | JSON field | Meaning |');
  assert.deepEqual(
    rows,
    COLUMNS.map((c) => [c.title, c.jsonField, c.meaning]),
  );
});

test("docs/columns.md's mark table is MARKS", () => {
  const rows = tableRows('| Mark | JSON field | Meaning |');
  assert.deepEqual(
    rows,
    MARKS.map((m) => [m.mark, m.jsonField, m.meaning]),
  );
});

test('`lineprof run --help` describes every column and mark by its meaning', () => {
  const help = columnHelp();
  for (const c of COLUMNS) assert.ok(help.includes(`${c.title.padEnd(13)} ${c.meaning}`), c.title);
  for (const m of MARKS) assert.ok(help.includes(`${m.mark.padEnd(13)} ${m.meaning}`), m.mark);
  // What the command prints (yargs re-wraps the lines: compare with the spaces collapsed).
  const printed = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lineprof.js'), 'run', '--help'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(printed.status, 0, printed.stderr);
  const flat = (text: string) => text.replace(/\s+/g, ' ');
  assert.ok(flat(printed.stdout).includes(flat(help)), printed.stdout);
});

function result(suspensions: number): ProfileResult {
  const fn: FunctionProfile = {
    name: 'f',
    file: '/app/f.js',
    url: 'file:///app/f.js',
    startLine: 1,
    endLine: 1,
    markedBy: ['comment'],
    calls: 1,
    openCalls: 0,
    allocatedBytes: 48,
    netBytes: 48,
    externalBytes: 0,
    maxCallNetBytes: 48,
    lines: [
      {
        line: 1,
        content: 'const a = await g();',
        occurrences: 1,
        allocatedBytes: 48,
        netBytes: 48,
        externalBytes: 0,
        memUsageBytes: 1e6,
        gcAffected: 0,
        thrownIntervals: 0,
        suspensions,
        suspendedBytes: suspensions * 100,
      },
    ],
  };
  return {
    schemaVersion: 1,
    tool: { name: 'lineprof', version: 'test' },
    command: 'run',
    script: '/app/f.js',
    argv: [],
    node: 'v20',
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 10,
    exit: { code: 0, signal: null },
    functions: [fn],
    unmatched: { functions: [], lines: [] },
    stats: { engine: 'probes' } as ProfileResult['stats'],
    warnings: [],
  };
}

test("the table's legend gives each column's and mark's short form from the same definitions", () => {
  const text = renderText(result(0), { unit: 'B', precision: 2 });
  const legend = tableLegend();
  for (const line of legend) assert.ok(text.includes(`\n${line}\n`), line);
  for (const c of COLUMNS.filter((c) => c.legend && !c.conditional)) {
    assert.ok(legend[0]!.includes(`${c.title} = ${c.legend}`), c.title);
  }
  for (const m of MARKS) assert.ok(legend[1]!.includes(`${m.mark} ${m.legend}.`), m.mark);
  // The Suspended column's legend line comes with the column only.
  assert.ok(!text.includes('Suspended ='));
  const suspended = renderText(result(2), { unit: 'B', precision: 2 });
  assert.ok(suspended.includes(`\n${conditionalLegend('Suspended')}\n`), suspended);
});

test('Mem usage that falls between lines with no Increment is explained under the table, only when it happened', () => {
  // Given a run in which nothing ran outside the lines
  const plain = renderText(result(0), { unit: 'B', precision: 2 });
  assert.doesNotMatch(plain, /between lines/);
  // When lineprof's own work between two lines held a collection that freed 4,096 B of the program's
  const probes = result(0);
  probes.stats = { engine: 'probes', collectionsBetweenLines: 1, freedBetweenLines: 4096 } as ProfileResult['stats'];
  assert.match(
    renderText(probes, { unit: 'B', precision: 2 }),
    /\nMem usage fell by 4096 B between lines, with no line's Increment: 1 collection\(s\) ran in lineprof's own work there/,
  );
  // And under breakpoints, lineprof's forced full collections
  const breakpoints = result(0);
  breakpoints.stats = { engine: 'breakpoints', forcedGcs: 3 } as ProfileResult['stats'];
  assert.match(renderText(breakpoints, { unit: 'B', precision: 2 }), /lineprof ran 3 full collection\(s\) between lines \(--gc-every\)/);
});
