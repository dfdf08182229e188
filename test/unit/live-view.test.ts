/** The attach live view on a fake terminal { columns, rows, write, on }: it fits the width and height, and redraws on resize. */
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitScreen, liveView } from '../../src/cli/live-view';
import type { AttachProgress } from '../../src/commands/attach';
import type { FunctionProfile, ProfileResult } from '../../src/model/types';

class FakeTerminal extends EventEmitter {
  writes: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  /** The lines of the last screen drawn (after the home-and-clear sequence). */
  screen(): string[] {
    return this.writes[this.writes.length - 1]!.replace('\x1b[H\x1b[2J', '').split('\n');
  }
}

function profile(lines: number): ProfileResult {
  const fn: FunctionProfile = {
    name: 'handleRequestWithAVeryLongNameIndeed',
    file: '/srv/app/some/deeply/nested/folder/of/the/application/handlers.js',
    url: 'file:///srv/app/handlers.js',
    startLine: 1,
    endLine: lines,
    markedBy: [],
    calls: 3,
    openCalls: 0,
    allocatedBytes: 1e6,
    netBytes: 1e5,
    externalBytes: 0,
    maxCallNetBytes: 1e5,
    lines: Array.from({ length: lines }, (_, i) => ({
      line: i + 1,
      content: `  const value${i} = someFunctionCall(argumentNumberOne, argumentNumberTwo, argumentNumberThree, ${i});`,
      occurrences: 3,
      allocatedBytes: 1000 * i,
      netBytes: 100 * i,
      externalBytes: 0,
      memUsageBytes: 5e6 + i,
      gcAffected: 0,
      thrownIntervals: 0,
      suspensions: 0,
      suspendedBytes: 0,
    })),
  };
  return {
    schemaVersion: 1,
    tool: { name: 'lineprof', version: 'test' },
    command: 'attach',
    script: null,
    argv: [],
    node: 'v20',
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 1000,
    exit: { code: null, signal: null },
    functions: [fn],
    unmatched: { functions: [], lines: [] },
    stats: {} as ProfileResult['stats'],
    warnings: [],
  };
}

const progress = (lines: number): AttachProgress => ({ calls: 3, hits: 120, elapsedMs: 1500, heapUsed: 9e6, result: profile(lines) });
const format = { unit: 'auto' as const, precision: 2 };
const width = (l: string): number => [...l].length;

test('live view: no line wider than the terminal, no more lines than its rows, and it says what was cut', () => {
  const term = new FakeTerminal(50, 12);
  const view = liveView(term, '127.0.0.1:9229', format);
  view.update(progress(40));
  const screen = term.screen();
  assert.ok(screen.length <= 11, `${screen.length} lines on a 12-row terminal`);
  for (const line of screen) assert.ok(width(line) <= 50, `${width(line)} > 50: ${line}`);
  assert.match(screen[0]!, /^attached to 127\.0\.0\.1:9229: 1\.5 s, 3 calls/);
  assert.match(screen[screen.length - 1]!, /^… \d+ more lines$/);
  assert.ok(screen.some((l) => l.endsWith('…')), 'long lines end in an ellipsis');
  view.close();
});

test('live view: a resize redraws at once at the new size, and close stops listening', () => {
  const term = new FakeTerminal(120, 40);
  const view = liveView(term, 'PID 42', format);
  view.update(progress(10));
  const before = term.writes.length;
  assert.ok(term.screen().some((l) => width(l) > 60), 'at 120 columns the table is wider than 60');
  term.columns = 60;
  term.rows = 8;
  term.emit('resize');
  assert.equal(term.writes.length, before + 1, 'redrawn on resize');
  const screen = term.screen();
  assert.ok(screen.length <= 7, `${screen.length} lines on an 8-row terminal`);
  for (const line of screen) assert.ok(width(line) <= 60, `${width(line)} > 60: ${line}`);
  view.close();
  assert.equal(term.listenerCount('resize'), 0);
  const closed = term.writes.length;
  term.emit('resize');
  assert.equal(term.writes.length, closed, 'nothing drawn after close');
});

test('fitScreen: short screens are untouched; a stream without a size gets 80×24', () => {
  assert.equal(fitScreen(['a', '', 'b', ''], 10, 10), 'a\n\nb');
  const long = fitScreen(Array.from({ length: 100 }, () => 'x'.repeat(200)));
  const lines = long.split('\n');
  assert.equal(lines.length, 23);
  assert.ok(lines.every((l) => width(l) <= 80));
});

test('live view: a label too long for the terminal (a ws:// URL) gives way to the time and the calls', () => {
  const term = new FakeTerminal(80, 24);
  const ws = 'ws://127.0.0.1:37621/04eb5b56-5589-4af7-b82a-7a88cb76497c';
  const view = liveView(term, ws, format);
  view.update(progress(3));
  const head = term.screen()[0]!;
  assert.ok(width(head) <= 80, head);
  assert.match(head, /^attached to ws:\/\/127\.0\.0\.1:37621\/\S*…: 1\.5 s, 3 calls/);
  view.close();
});
