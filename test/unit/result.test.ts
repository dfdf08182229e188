import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineStatsOf } from '../../src/attribution/attributor';
import type { LineStats } from '../../src/attribution/charges';
import { buildFunctionProfiles } from '../../src/model/result';
import type { LineProfile } from '../../src/model/types';
import type { AgentFunctionReport, AgentReport } from '../../src/wire/agent-report';

const stats = lineStatsOf;

const fnReport = (over: Partial<AgentFunctionReport>): AgentFunctionReport => ({
  name: 'load',
  url: 'file:///app/a.js',
  file: '/app/a.js',
  startLine: 10,
  startColumn: 0,
  endLine: 13,
  source: ['function load() {', '  const a = [];', '  return a;', '}'],
  reasons: ['comment'],
  isAsync: false,
  isGenerator: false,
  calls: 1,
  openCalls: 0,
  allocatedBytes: 0,
  netBytes: 0,
  externalBytes: 0,
  maxCallNetBytes: null,
  lines: [],
  instrumentedLines: [11, 12],
  ...over,
});

const report = (functions: AgentFunctionReport[]): AgentReport => ({
  functions,
  unmatched: { functions: [], lines: [] },
  stats: {
    hits: 0,
    lostHits: 0,
    jitCodeBytes: 0,
    calibrationHits: 0,
    calibratedLocations: 0,
    forcedGcs: 0,
    userGcs: 0,
    medianOverheadBytes: 0,
    locations: 0,
    durationMs: 0,
  },
  warnings: [],
  final: true,
});

const unran = (line: number, content: string): LineProfile => ({
  line,
  content,
  occurrences: 0,
  allocatedBytes: 0,
  netBytes: 0,
  externalBytes: 0,
  memUsageBytes: null,
  gcAffected: 0,
  thrownIntervals: 0,
  suspensions: 0,
  suspendedBytes: 0,
});

describe('buildFunctionProfiles', () => {
  test('every source line is present; lines that never ran are zero with no Mem usage', () => {
    // Given a function of 4 lines of which only lines 11 and 12 ran
    const [profile] = buildFunctionProfiles(
      report([
        fnReport({
          calls: 2,
          openCalls: 1,
          allocatedBytes: 900,
          netBytes: 800,
          externalBytes: 7,
          lines: [
            [11, stats({ occurrences: 2, allocatedBytes: 600, netBytes: 500, externalBytes: 7, peakHeapInUse: 4096, gcIntervals: 1 })],
            [12, stats({ occurrences: 2, allocatedBytes: 300, netBytes: 300, peakHeapInUse: 5000, thrownIntervals: 1 })],
          ],
        }),
      ]),
    );
    // Then the profile lists lines 10-13 with their text, figures where they ran
    assert.deepEqual(profile, {
      name: 'load',
      file: '/app/a.js',
      url: 'file:///app/a.js',
      startLine: 10,
      endLine: 13,
      markedBy: ['comment'],
      calls: 2,
      openCalls: 1,
      allocatedBytes: 900,
      netBytes: 800,
      externalBytes: 7,
      maxCallNetBytes: null,
      lines: [
        unran(10, 'function load() {'),
        {
          line: 11,
          content: '  const a = [];',
          occurrences: 2,
          allocatedBytes: 600,
          netBytes: 500,
          externalBytes: 7,
          memUsageBytes: 4096,
          gcAffected: 1,
          thrownIntervals: 0,
          suspensions: 0,
          suspendedBytes: 0,
        },
        {
          line: 12,
          content: '  return a;',
          occurrences: 2,
          allocatedBytes: 300,
          netBytes: 300,
          externalBytes: 0,
          memUsageBytes: 5000,
          gcAffected: 0,
          thrownIntervals: 1,
          suspensions: 0,
          suspendedBytes: 0,
        },
        unran(13, '}'),
      ],
    });
  });

  test('a function that never ran has every line blank', () => {
    const [profile] = buildFunctionProfiles(report([fnReport({ calls: 0 })]));
    assert.equal(profile!.lines.length, 4);
    for (const line of profile!.lines) {
      assert.equal(line.occurrences, 0);
      assert.equal(line.memUsageBytes, null);
    }
  });

  test('duplicates (same file, start line and name) are merged by summing', () => {
    // Given the same function reported twice (the file loaded twice)
    const first = fnReport({
      reasons: ['comment'],
      calls: 1,
      openCalls: 0,
      allocatedBytes: 100,
      netBytes: 80,
      externalBytes: 5,
      lines: [[11, stats({ occurrences: 1, allocatedBytes: 100, netBytes: 80, externalBytes: 5, peakHeapInUse: 3000, gcIntervals: 1 })]],
    });
    const second = fnReport({
      reasons: ['function', 'comment'],
      calls: 3,
      openCalls: 1,
      allocatedBytes: 30,
      netBytes: 20,
      externalBytes: 1,
      lines: [
        [11, stats({ occurrences: 3, allocatedBytes: 20, netBytes: 10, externalBytes: 1, peakHeapInUse: 2000, thrownIntervals: 1 })],
        [12, stats({ occurrences: 3, allocatedBytes: 10, netBytes: 10, peakHeapInUse: 2500 })],
      ],
    });
    const profiles = buildFunctionProfiles(report([first, second]));
    // Then there is one profile, with sums, the largest Mem usage, and the reasons of both
    assert.equal(profiles.length, 1);
    const p = profiles[0]!;
    assert.deepEqual(p.markedBy, ['comment', 'function']);
    assert.deepEqual([p.calls, p.openCalls, p.allocatedBytes, p.netBytes, p.externalBytes], [4, 1, 130, 100, 6]);
    assert.deepEqual(p.lines[0], unran(10, 'function load() {'));
    assert.deepEqual(p.lines[1], {
      line: 11,
      content: '  const a = [];',
      occurrences: 4,
      allocatedBytes: 120,
      netBytes: 90,
      externalBytes: 6,
      memUsageBytes: 3000,
      gcAffected: 1,
      thrownIntervals: 1,
      suspensions: 0,
      suspendedBytes: 0,
    });
    // A line that ran in one copy only keeps that copy's figures
    assert.equal(p.lines[2]!.occurrences, 3);
    assert.equal(p.lines[2]!.memUsageBytes, 2500);
    assert.deepEqual(p.lines[3], unran(13, '}'));
  });

  test('functions differing in file, start line or name are kept apart and sorted by file, then line', () => {
    const profiles = buildFunctionProfiles(
      report([
        fnReport({ file: '/app/b.js', startLine: 1, endLine: 1, source: ['function load() {}'] }),
        fnReport({ startLine: 20, endLine: 20, source: ['function load() {}'] }),
        fnReport({ name: 'save', startLine: 20, endLine: 20, source: ['function save() {}'] }),
        fnReport({}),
      ]),
    );
    assert.deepEqual(
      profiles.map((p) => [p.file, p.startLine, p.name]),
      [
        ['/app/a.js', 10, 'load'],
        ['/app/a.js', 20, 'load'],
        ['/app/a.js', 20, 'save'],
        ['/app/b.js', 1, 'load'],
      ],
    );
  });

  test('attach: one function read by breakpoints, then by probes, is one profile whose engine says so', () => {
    const line11 = (allocatedBytes: number, occurrences: number): [number, LineStats] => [11, stats({ occurrences, allocatedBytes })];
    const probes = fnReport({ engine: 'probes', calls: 2, allocatedBytes: 200, lines: [line11(200, 2)] });
    const breakpoints = fnReport({ engine: 'breakpoints', calls: 1, allocatedBytes: 120, lines: [line11(120, 1)] });
    const [both] = buildFunctionProfiles(report([probes, breakpoints]));
    assert.equal(both!.engine, 'breakpoints, then probes');
    assert.equal(both!.calls, 3);
    assert.equal(both!.lines.find((l) => l.line === 11)!.allocatedBytes, 320);
    // Listed by the probes before any call ran under them: breakpoints read it all.
    const [before] = buildFunctionProfiles(report([fnReport({ engine: 'probes', calls: 0 }), breakpoints]));
    assert.equal(before!.engine, 'breakpoints');
    assert.equal(buildFunctionProfiles(report([fnReport({})]))[0]!.engine, undefined);
  });

  test('an empty report gives no profiles', () => {
    assert.deepEqual(buildFunctionProfiles(report([])), []);
  });

  test(
    'merging two reports of the same key with different line counts does not throw',
    () => {
      const long = fnReport({ name: '(anonymous)', startLine: 5, endLine: 7, source: ['a.forEach((y) => {', '  use(y);', '});'] });
      const short = fnReport({ name: '(anonymous)', startLine: 5, endLine: 5, source: ['a.map((x) => x)'] });
      assert.doesNotThrow(() => buildFunctionProfiles(report([long, short])));
    },
  );
});
