import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attributor, lineStatsOf } from '../../src/attribution/attributor';
import type { FunctionStats, LineStats, Reading } from '../../src/attribution/attributor';
import { LocationKind } from '../../src/breakpoints/plan';

/** A reading; every counter is cumulative, so tests write absolute values. */
const r = (heap: number, more: Partial<Reading> = {}): Reading => ({
  heap,
  freed: 0,
  gcs: 0,
  external: 0,
  heapInUse: 0,
  ...more,
});

const lineStats = lineStatsOf;

/**
 * Two marked functions:
 *
 *   A (lines 2-5): entry on line 2, body locations on lines 3 and 4, return location on line 5.
 *   B (lines 11-13): entry on line 11, body location on line 12, return location on line 13.
 */
function setup() {
  const at = new Attributor();
  const A = at.addFunction();
  const B = at.addFunction();
  const loc = (fn: number, line: number, offset: number, kind = LocationKind.Body, opensCall = false): number =>
    at.addLocation({ fn, line, offset, kind, opensCall, maySuspend: false });
  const a = {
    entry: loc(A, 2, 20, LocationKind.Entry, true),
    l3: loc(A, 3, 30),
    l4: loc(A, 4, 40),
    ret: loc(A, 5, 50, LocationKind.Return),
  };
  const b = {
    entry: loc(B, 11, 110, LocationKind.Entry, true),
    l12: loc(B, 12, 120),
    ret: loc(B, 13, 130, LocationKind.Return),
  };
  const fnStats = (fn: number): FunctionStats => at.snapshot()[fn]!;
  const line = (fn: number, n: number): LineStats | undefined => fnStats(fn).lines.get(n);
  return { at, A, B, a, b, loc, fnStats, line };
}

describe('Attributor', () => {
  test('(a) bytes between two readings of a frame are charged to the line of the first', () => {
    const { at, A, a, fnStats, line } = setup();
    // Given one call of A at depth 1
    at.hit(a.entry, 1, r(0, { heapInUse: 1000 }));
    at.hit(a.l3, 1, r(100, { external: 8, heapInUse: 1100 }));
    at.hit(a.l4, 1, r(250, { external: 8, heapInUse: 1250 }));
    at.hit(a.ret, 1, r(300, { external: 10, heapInUse: 1200 }));
    // Then each line gets what the heap gained until the next reading, and Mem usage is the heap after it
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 1, netBytes: 100, allocatedBytes: 100, externalBytes: 8, peakHeapInUse: 1100 }));
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 1, netBytes: 150, allocatedBytes: 150, peakHeapInUse: 1250 }));
    assert.deepEqual(line(A, 4), lineStats({ occurrences: 1, netBytes: 50, allocatedBytes: 50, externalBytes: 2, peakHeapInUse: 1200 }));
    // And the return location's line gets no figures of its own
    assert.deepEqual([...fnStats(A).lines.keys()], [2, 3, 4]);
    // And the function's totals cover the whole call
    const { lines: _lines, ...totals } = fnStats(A);
    assert.deepEqual(totals, { calls: 1, openCalls: 0, netBytes: 300, allocatedBytes: 300, externalBytes: 10, maxCallNetBytes: 300 });
  });

  test('(a) Mem usage is the largest heap seen after the line over its occurrences', () => {
    const { at, A, a, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(0, { heapInUse: 5000 }));
    at.hit(a.ret, 1, r(0, { heapInUse: 5000 }));
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(0, { heapInUse: 3000 }));
    at.hit(a.ret, 1, r(0));
    assert.equal(line(A, 2)!.peakHeapInUse, 5000);
    assert.equal(line(A, 2)!.occurrences, 2);
  });

  test("(b) a call to a deeper marked function is part of the caller line's interval; the callee has its own lines", () => {
    const { at, A, B, a, b, fnStats, line } = setup();
    // Given A's line 3 calls B at depth 2
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(b.entry, 2, r(20));
    at.hit(b.l12, 2, r(50));
    at.hit(b.ret, 2, r(80));
    at.hit(a.l4, 1, r(90));
    at.hit(a.ret, 1, r(100));
    // Then A's line 3 includes everything B allocated (10 → 90)
    assert.equal(line(A, 3)!.netBytes, 80);
    assert.equal(line(A, 2)!.netBytes, 10);
    assert.equal(line(A, 4)!.netBytes, 10);
    // And B's own lines have their figures
    assert.equal(line(B, 11)!.netBytes, 30);
    assert.equal(line(B, 12)!.netBytes, 30);
    assert.equal(fnStats(B).netBytes, 60);
    assert.equal(fnStats(B).calls, 1);
    assert.equal(fnStats(A).netBytes, 100);
    assert.equal(fnStats(A).calls, 1);
  });

  test('(b) recursion: every call is counted, but function totals only once, from the outermost call', () => {
    const { at, A, a, fnStats, line } = setup();
    // Given A calls itself from line 3
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(a.entry, 2, r(20));
    at.hit(a.l3, 2, r(30));
    at.hit(a.ret, 2, r(45));
    at.hit(a.l4, 1, r(50));
    at.hit(a.ret, 1, r(60));
    // Then the function's totals are those of the outer call alone
    const stats = fnStats(A);
    assert.equal(stats.calls, 2);
    assert.equal(stats.netBytes, 60);
    assert.equal(stats.allocatedBytes, 60);
    // And each line holds its own part: the outer line 3 stops at the inner call (10 → 20) and goes on after it
    // (45 → 50); the inner call is in its own lines. The lines add up to the totals.
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 2, netBytes: 20, allocatedBytes: 20 }));
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 2, netBytes: 10 + 15 + 5, allocatedBytes: 30 }));
    assert.deepEqual(line(A, 4), lineStats({ occurrences: 1, netBytes: 10, allocatedBytes: 10 }));
  });

  test('(c) a return location closes the call: what happens between calls is charged to no line', () => {
    const { at, A, a, fnStats, line } = setup();
    // Given two calls with allocation outside A between them
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(a.ret, 1, r(20));
    at.hit(a.entry, 1, r(500));
    at.hit(a.l3, 1, r(510));
    at.hit(a.ret, 1, r(530));
    // Then both calls are counted and closed, and the 480 bytes in between belong to nobody
    const stats = fnStats(A);
    assert.equal(stats.calls, 2);
    assert.equal(stats.openCalls, 0);
    assert.equal(stats.netBytes, 50);
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 2, netBytes: 20, allocatedBytes: 20 }));
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 2, netBytes: 30, allocatedBytes: 30 }));
  });

  test('(c) after a return, a body location of the same function at that depth is a new call', () => {
    const { at, A, a, fnStats, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.ret, 1, r(10));
    at.hit(a.l3, 1, r(100));
    at.hit(a.ret, 1, r(150));
    assert.equal(fnStats(A).calls, 2);
    assert.equal(fnStats(A).netBytes, 10 + 50);
    assert.equal(line(A, 2)!.netBytes, 10);
    assert.equal(line(A, 3)!.netBytes, 50);
  });

  test('(d) a frame left by a throw is closed at the next, shallower reading', () => {
    const { at, A, B, a, b, fnStats, line } = setup();
    // Given B (depth 2) throws from line 12 and A catches it, next reading on A's line 4
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(b.entry, 2, r(20));
    at.hit(b.l12, 2, r(50));
    at.hit(a.l4, 1, r(70));
    at.hit(a.ret, 1, r(100));
    // Then B's last line is charged up to that reading and flagged as thrown
    assert.deepEqual(line(B, 12), lineStats({ occurrences: 1, netBytes: 20, allocatedBytes: 20, thrownIntervals: 1 }));
    assert.deepEqual(line(B, 11), lineStats({ occurrences: 1, netBytes: 30, allocatedBytes: 30 }));
    // And B's call is closed (not open), its totals up to the throw
    assert.equal(fnStats(B).calls, 1);
    assert.equal(fnStats(B).openCalls, 0);
    assert.equal(fnStats(B).netBytes, 50);
    // And A's line 3 runs to the reading after the throw, not thrown itself
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 1, netBytes: 60, allocatedBytes: 60 }));
    assert.equal(fnStats(A).netBytes, 100);
  });

  test('(d) a throw through several frames closes each of them', () => {
    const { at, A, B, a, b, fnStats, line } = setup();
    // Given B recursing to depth 3 and throwing back to A at depth 1
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(b.entry, 2, r(20));
    at.hit(b.l12, 2, r(30));
    at.hit(b.entry, 3, r(40));
    at.hit(b.l12, 3, r(60));
    at.hit(a.l4, 1, r(100));
    // Then the inner B frame's last interval runs to the reading after the throw (60 → 100); the outer one's line
    // stopped at the inner call (30 → 40) and has nothing after it
    assert.deepEqual(
      line(B, 12),
      lineStats({ occurrences: 2, netBytes: 10 + 40, allocatedBytes: 50, thrownIntervals: 1 }),
    );
    // And B counts two calls, its totals once, from the outer call
    assert.equal(fnStats(B).calls, 2);
    assert.equal(fnStats(B).netBytes, 80);
    assert.equal(line(A, 3)!.netBytes, 90);
  });

  test('(d) a reading of another function at the depth of an open frame closes that frame as thrown', () => {
    const { at, A, B, a, b, fnStats, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    // A threw out to unmarked code, which then called B at the same depth
    at.hit(b.entry, 1, r(50));
    at.hit(b.ret, 1, r(60));
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 1, netBytes: 40, allocatedBytes: 40, thrownIntervals: 1 }));
    assert.equal(fnStats(A).openCalls, 0);
    assert.equal(fnStats(A).netBytes, 50);
    assert.equal(fnStats(B).calls, 1);
  });

  test('(e) the entry location (opensCall) at the depth of an open frame of the same function starts a new call', () => {
    const { at, A, a, fnStats, line } = setup();
    // Given a call of A left by a throw to unmarked code, which calls A again at the same depth
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(a.entry, 1, r(100));
    at.hit(a.l3, 1, r(110));
    at.hit(a.ret, 1, r(120));
    // Then the first call was closed by the throw at the second's entry, and two calls are counted
    const stats = fnStats(A);
    assert.equal(stats.calls, 2);
    assert.equal(stats.openCalls, 0);
    assert.equal(stats.netBytes, 100 + 20);
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 2, netBytes: 90 + 10, allocatedBytes: 100, thrownIntervals: 1 }));
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 2, netBytes: 20, allocatedBytes: 20 }));
  });

  test('(e) an entry location inside a loop (opensCall false) continues the open call', () => {
    const { at, loc, fnStats } = setup();
    // Given C whose first location is a while test, hit again each iteration
    const C = at.addFunction();
    const test_ = loc(C, 21, 210, LocationKind.Entry, false);
    const body = loc(C, 22, 220);
    at.hit(test_, 1, r(0));
    at.hit(body, 1, r(10));
    at.hit(test_, 1, r(20));
    at.hit(body, 1, r(30));
    // Then it is one call, and each line has two occurrences, none thrown
    const stats = fnStats(C);
    assert.equal(stats.calls, 1);
    assert.deepEqual(stats.lines.get(21), lineStats({ occurrences: 2, netBytes: 20, allocatedBytes: 20 }));
    // (the second body interval is still open)
    assert.deepEqual(stats.lines.get(22), lineStats({ occurrences: 2, netBytes: 10, allocatedBytes: 10 }));
  });

  test('(f) a for header visited as update-then-test counts once per visit', () => {
    const { at, loc, fnStats } = setup();
    // Given F: entry on line 2, `for (init; test; update)` on line 3, body on 4, code after the loop on 5
    const F = at.addFunction();
    const entry = loc(F, 2, 20, LocationKind.Entry, true);
    const init = loc(F, 3, 30);
    const testLoc = loc(F, 3, 35);
    const update = loc(F, 3, 40);
    const body = loc(F, 4, 50);
    const after = loc(F, 5, 60);
    const ret = loc(F, 6, 70, LocationKind.Return);
    // When the loop runs twice
    const order = [entry, init, testLoc, body, update, testLoc, body, update, testLoc, after, ret];
    order.forEach((id, i) => at.hit(id, 1, r(i * 10)));
    // Then line 3 counts the first arrival and each update-then-test, line 4 each iteration
    const occ = [...fnStats(F).lines].map(([line, s]) => [line, s.occurrences]);
    assert.deepEqual(occ, [
      [2, 1],
      [3, 3],
      [4, 2],
      [5, 1],
    ]);
  });

  test('(f) the same location twice in a row counts twice', () => {
    const { at, loc, fnStats } = setup();
    // Given `while (n--);`: one location repeated
    const W = at.addFunction();
    const entry = loc(W, 2, 20, LocationKind.Entry, true);
    const spin = loc(W, 3, 30);
    const ret = loc(W, 4, 40, LocationKind.Return);
    [entry, spin, spin, spin, ret].forEach((id, i) => at.hit(id, 1, r(i)));
    assert.equal(fnStats(W).lines.get(3)!.occurrences, 3);
    assert.equal(fnStats(W).lines.get(3)!.netBytes, 3);
  });

  test('(f) a new call counts its first line even when the last call ended there', () => {
    const { at, loc, fnStats } = setup();
    const G = at.addFunction();
    const entry = loc(G, 2, 20, LocationKind.Entry, true);
    const ret = loc(G, 2, 25, LocationKind.Return);
    for (let i = 0; i < 3; i++) {
      at.hit(entry, 1, r(i * 10));
      at.hit(ret, 1, r(i * 10 + 4));
    }
    assert.equal(fnStats(G).calls, 3);
    assert.deepEqual(fnStats(G).lines.get(2), lineStats({ occurrences: 3, netBytes: 12, allocatedBytes: 12 }));
  });

  test('(g) a GC during an interval flags the line; allocated = net + freed', () => {
    const { at, A, a, fnStats, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(50, { freed: 200, gcs: 1 }));
    at.hit(a.l4, 1, r(80, { freed: 200, gcs: 1 }));
    at.hit(a.ret, 1, r(90, { freed: 300, gcs: 2 }));
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 1, netBytes: 50, allocatedBytes: 250, gcIntervals: 1 }));
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 1, netBytes: 30, allocatedBytes: 30 }));
    assert.deepEqual(line(A, 4), lineStats({ occurrences: 1, netBytes: 10, allocatedBytes: 110, gcIntervals: 1 }));
    assert.equal(fnStats(A).netBytes, 90);
    assert.equal(fnStats(A).allocatedBytes, 390);
  });

  test('(g) net bytes may be negative when a GC frees more than the line allocated', () => {
    const { at, A, a, line } = setup();
    at.hit(a.entry, 1, r(1000));
    at.hit(a.ret, 1, r(400, { freed: 700, gcs: 1 }));
    assert.deepEqual(line(A, 2), lineStats({ occurrences: 1, netBytes: -600, allocatedBytes: 100, gcIntervals: 1 }));
  });

  test('(h) finish() closes the open calls, charges their last lines and counts them as open', () => {
    const { at, A, B, a, b, fnStats, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(b.entry, 2, r(20));
    at.hit(b.l12, 2, r(30));
    at.finish(r(45));
    assert.deepEqual(
      [fnStats(A).calls, fnStats(A).openCalls, fnStats(A).netBytes],
      [1, 1, 45],
    );
    assert.deepEqual(
      [fnStats(B).calls, fnStats(B).openCalls, fnStats(B).netBytes],
      [1, 1, 25],
    );
    assert.deepEqual(line(A, 3), lineStats({ occurrences: 1, netBytes: 35, allocatedBytes: 35 }));
    assert.deepEqual(line(B, 12), lineStats({ occurrences: 1, netBytes: 15, allocatedBytes: 15 }));
    // And a second finish finds nothing open
    at.finish(r(99));
    assert.equal(fnStats(A).openCalls, 1);
    assert.equal(fnStats(A).netBytes, 45);
  });

  test('(h) finish() with recursion open counts each open call, totals once', () => {
    const { at, A, a, fnStats } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    at.hit(a.entry, 2, r(20));
    at.finish(r(30));
    assert.deepEqual([fnStats(A).calls, fnStats(A).openCalls, fnStats(A).netBytes], [2, 2, 30]);
  });

  test('(i) snapshot() returns copies that do not write through', () => {
    const { at, A, a } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(100));
    at.hit(a.ret, 1, r(150));
    const before = at.snapshot();
    // When the caller mutates a snapshot
    const snap = at.snapshot();
    snap[A]!.calls = 99;
    snap[A]!.netBytes = -1;
    snap[A]!.lines.get(2)!.netBytes = 12345;
    snap[A]!.lines.delete(3);
    snap[A]!.lines.set(7, lineStats({ occurrences: 1 }));
    snap.pop();
    // Then the attributor's figures are unchanged
    assert.deepEqual(at.snapshot(), before);
    assert.equal(at.snapshot()[A]!.lines.get(2)!.netBytes, 100);
  });

  test('(i) snapshot() leaves open calls open', () => {
    const { at, A, a, fnStats, line } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(a.l3, 1, r(10));
    // A snapshot in the middle of a call shows the closed intervals only
    assert.equal(fnStats(A).netBytes, 0);
    assert.equal(line(A, 3)!.netBytes, 0);
    at.hit(a.ret, 1, r(30));
    assert.equal(line(A, 3)!.netBytes, 20);
    assert.equal(fnStats(A).openCalls, 0);
    assert.equal(fnStats(A).netBytes, 30);
  });

  test('an unknown location id is ignored', () => {
    const { at, A, a, fnStats } = setup();
    at.hit(a.entry, 1, r(0));
    at.hit(999, 5, r(50));
    at.hit(a.ret, 1, r(60));
    assert.equal(fnStats(A).calls, 1);
    assert.equal(fnStats(A).netBytes, 60);
  });
});

describe('Attributor: suspension (async functions, generators)', () => {
  /** One async function: entry on line 2, `await` on line 3, line 4 after it, return on line 5. */
  function asyncSetup(kind: { async?: boolean; generator?: boolean } = {}) {
    const at = new Attributor();
    const F = at.addFunction(kind);
    const add = (line: number, kindOf: LocationKind, opensCall = false, maySuspend = false): number =>
      at.addLocation({ fn: F, line, offset: line * 10, kind: kindOf, opensCall, maySuspend });
    const entry = add(2, LocationKind.Entry, true);
    const awaits = add(3, LocationKind.Body, false, true);
    const after = add(4, LocationKind.Body);
    const ret = add(5, LocationKind.Return);
    const stats = (): FunctionStats => at.snapshot()[F]!;
    return { at, entry, awaits, after, ret, stats };
  }

  test('what ran while the call was suspended is reported apart, not in the line or the totals', () => {
    const { at, entry, awaits, after, ret, stats } = asyncSetup();
    at.hit(entry, 3, r(0));
    at.hit(awaits, 3, r(100)); // line 2 allocated 100
    // Suspended: other code allocates 5000; the call resumes from the event loop at depth 1
    at.hit(after, 1, r(5100));
    at.hit(ret, 1, r(5300)); // line 4 allocated 200
    const s = stats();
    assert.deepEqual(s.lines.get(3), lineStats({ occurrences: 1, suspensions: 1, suspendedBytes: 5000 }));
    assert.equal(s.lines.get(4)!.allocatedBytes, 200);
    assert.equal(s.allocatedBytes, 300);
    assert.equal(s.calls, 1);
    assert.equal(s.openCalls, 0);
  });

  test('ten concurrent calls, resumed in another order and at other depths: everything adds up', () => {
    const { at, entry, awaits, after, ret, stats } = asyncSetup();
    let heap = 0;
    for (let i = 0; i < 10; i++) {
      at.hit(entry, 5, r(heap));
      heap += 10;
      at.hit(awaits, 5, r(heap));
      heap += 1;
    }
    // Resumed from deeper and shallower stacks than where they started (timers, microtasks).
    for (let i = 0; i < 10; i++) {
      heap += 1000; // other code while suspended
      at.hit(after, i % 2 === 0 ? 7 : 2, r(heap));
      heap += 20;
      at.hit(ret, i % 2 === 0 ? 7 : 2, r(heap));
    }
    const s = stats();
    assert.equal(s.calls, 10);
    assert.equal(s.openCalls, 0);
    assert.equal(s.lines.get(2)!.allocatedBytes, 100);
    assert.equal(s.lines.get(4)!.allocatedBytes, 200);
    assert.equal(s.lines.get(3)!.suspensions, 10);
    assert.equal(s.allocatedBytes, 300);
  });

  test('a generator resumed by its caller at the same depth continues its call; never finished is unfinished', () => {
    const { at, entry, awaits, after, stats } = asyncSetup();
    at.hit(entry, 4, r(0));
    at.hit(awaits, 4, r(50)); // yield
    at.hit(after, 4, r(1050)); // the consumer allocated 1000 meanwhile
    at.hit(awaits, 4, r(1060));
    at.finish(r(3060)); // suspended at the end
    const s = stats();
    assert.equal(s.calls, 1);
    assert.equal(s.openCalls, 1);
    assert.deepEqual(s.lines.get(3), lineStats({ occurrences: 2, suspensions: 2, suspendedBytes: 3000 }));
    assert.equal(s.allocatedBytes, 60);
  });

  test('an async generator that stops off a suspension point has finished (its return is never hit)', () => {
    const { at, entry, after, stats } = asyncSetup({ async: true, generator: true });
    at.hit(entry, 4, r(0));
    at.hit(after, 4, r(10));
    at.hit(entry, 4, r(30)); // a new call at the same depth
    at.finish(r(40));
    const s = stats();
    assert.equal(s.calls, 2);
    assert.equal(s.openCalls, 0);
    assert.equal(s.lines.get(4)!.thrownIntervals, 0);
  });

  test('an async function whose entry is in a loop: entries at the depth of a suspended call are new calls', () => {
    const at = new Attributor();
    const F = at.addFunction({ async: true });
    const entry = at.addLocation({ fn: F, line: 2, offset: 20, kind: LocationKind.Entry, opensCall: false, maySuspend: false });
    const awaits = at.addLocation({ fn: F, line: 3, offset: 30, kind: LocationKind.Body, opensCall: false, maySuspend: true });
    const ret = at.addLocation({ fn: F, line: 5, offset: 50, kind: LocationKind.Return, opensCall: false, maySuspend: false });
    // Three workers started by Promise.all at one depth, each suspended at its await.
    for (let i = 0; i < 3; i++) {
      at.hit(entry, 6, r(i * 100));
      at.hit(awaits, 6, r(i * 100 + 40)); // each keeps 40 before it waits
    }
    // Each resumes from the microtask queue, keeps 10 more and returns.
    for (let i = 0; i < 3; i++) {
      at.hit(entry, 2, r(1000 + i * 100)); // the loop's head again
      at.hit(ret, 2, r(1000 + i * 100 + 10));
    }
    const s = at.snapshot()[F]!;
    assert.equal(s.calls, 3);
    assert.equal(s.openCalls, 0);
    assert.equal(s.lines.get(2)!.allocatedBytes, 3 * 40 + 3 * 10);
  });

  test("a call's budget figure spans its suspensions; a call cut off by the end of profiling has none", () => {
    const { at, entry, awaits, after, ret, stats } = asyncSetup({ async: true });
    at.hit(entry, 3, r(0));
    at.hit(awaits, 3, r(100));
    at.hit(after, 1, r(5100)); // 5000 while suspended
    at.hit(ret, 1, r(5300));
    assert.equal(stats().maxCallNetBytes, 5300);
    at.hit(entry, 3, r(6000));
    at.hit(awaits, 3, r(9000)); // 3000 in a call that never ends
    at.finish(r(20000));
    assert.equal(stats().maxCallNetBytes, 5300);
    assert.equal(stats().openCalls, 1);
  });

  test('a location kept under a negated line (no source mapping) is charged like any other', () => {
    const at = new Attributor();
    const F = at.addFunction();
    const unmapped = at.addLocation({ fn: F, line: -13, offset: 10, kind: LocationKind.Entry, opensCall: true, maySuspend: false });
    const ret = at.addLocation({ fn: F, line: 14, offset: 20, kind: LocationKind.Return, opensCall: false, maySuspend: false });
    at.hit(unmapped, 1, r(0));
    at.hit(ret, 1, r(700));
    assert.equal(at.snapshot()[F]!.lines.get(-13)!.allocatedBytes, 700);
  });
});
