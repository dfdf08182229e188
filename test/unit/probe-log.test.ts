import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GC, LogReplay, MARK, REBASE, RECORD_INTS, THROW } from '../../src/agent/probes/log';
import type { ReadingSink } from '../../src/agent/probes/log';
import type { Reading } from '../../src/attribution/attributor';
import { ProbeAttributor } from '../../src/attribution/probe-attributor';
import type { AttributedProbe } from '../../src/attribution/probe-attributor';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Space {
  used: number;
  external?: number;
  code?: number;
  old?: number;
  trusted?: number;
}

/** A log written by hand, in the runtime's layout (Int32 records, doubles over the same buffer). */
class Log {
  readonly ints: Int32Array;
  readonly doubles: Float64Array;
  length = 0;

  constructor(records = 64) {
    this.ints = new Int32Array(records * RECORD_INTS);
    this.doubles = new Float64Array(this.ints.buffer);
  }

  private put(id: number, second: number, values: number[]): this {
    const i = this.length;
    this.ints[i] = id;
    this.ints[i + 1] = second;
    values.forEach((v, k) => (this.doubles[(i >> 1) + 1 + k] = v));
    this.length += RECORD_INTS;
    return this;
  }

  probe(id: number, token: number, s: Space): this {
    return this.put(id, token, [s.used, s.external ?? 0, s.code ?? 0, s.old ?? 0, s.trusted ?? 0]);
  }

  thrown(token: number, s: Space): this {
    return this.put(THROW, token, [s.used, s.external ?? 0, s.code ?? 0, s.old ?? 0, s.trusted ?? 0]);
  }

  /** `collections`: how many ran in lineprof's own work before this record. */
  rebase(s: Space, collections = 0): this {
    return this.put(REBASE, collections, [s.used, s.external ?? 0, s.code ?? 0, s.old ?? 0, s.trusted ?? 0]);
  }

  mark(s: Space): this {
    return this.put(MARK, 0, [s.used, s.external ?? 0, s.code ?? 0, s.old ?? 0, s.trusted ?? 0]);
  }

  /** Collections during the interval the previous record closed. */
  gc(count: number, freed: number, codeFreed = 0, sweptGrowth = 0): this {
    return this.put(GC, count, [freed, codeFreed, sweptGrowth, 0, 0]);
  }
}

type Event = { hit: number; token: number; reading: Reading } | { thrown: number; reading: Reading };

function recording() {
  const events: Event[] = [];
  const sink: ReadingSink = {
    hit: (probeId, token, reading) => events.push({ hit: probeId, token, reading }),
    thrown: (token, reading) => events.push({ thrown: token, reading }),
  };
  return { events, sink };
}

function replay(log: Log) {
  const { events, sink } = recording();
  const replay = new LogReplay(sink);
  replay.replay(log.ints, log.doubles, log.length);
  return { events, replay, readings: events.map((e) => e.reading) };
}

/** The interval from reading a to reading b. */
const interval = (a: Reading, b: Reading) => ({
  net: b.heap - a.heap,
  freed: b.freed - a.freed,
  allocated: b.heap - a.heap + b.freed - a.freed,
  gcs: b.gcs - a.gcs,
  external: b.external - a.external,
});

describe('LogReplay', () => {
  test('the layout: 12 ints a record, doubles in slots 2–11', () => {
    assert.equal(RECORD_INTS, 12);
    const log = new Log().probe(7, 3, { used: 2 ** 40 + 0.5, external: 9, code: 1, old: 2, trusted: 3 });
    assert.equal(log.ints[0], 7);
    assert.equal(log.ints[1], 3);
    assert.equal(log.doubles[1], 2 ** 40 + 0.5);
    assert.deepEqual([THROW, GC, REBASE, MARK], [-1, -2, -3, -4]);
  });

  test('plain allocation: the used size delta; each probe record is a hit with its id and token', () => {
    const log = new Log()
      .probe(1, 5, { used: 1000, external: 50 })
      .probe(2, 5, { used: 1300, external: 50 })
      .probe(3, 6, { used: 1350, external: 80 });
    const { events, readings, replay: rp } = replay(log);
    assert.deepEqual(
      events.map((e) => ('hit' in e ? [e.hit, e.token] : ['thrown', e.thrown])),
      [
        [1, 5],
        [2, 5],
        [3, 6],
      ],
    );
    assert.deepEqual(readings[0], { heap: 0, freed: 0, gcs: 0, external: 0, heapInUse: 1000 });
    assert.deepEqual(interval(readings[0]!, readings[1]!), { net: 300, freed: 0, allocated: 300, gcs: 0, external: 0 });
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: 50, freed: 0, allocated: 50, gcs: 0, external: 30 });
    assert.equal(readings[2]!.heapInUse, 1350);
    assert.deepEqual(rp.current, readings[2]);
    assert.deepEqual(rp.stats, { userGcs: 0, freedBytes: 0, ownGarbageReclaimed: 0, jitCodeBytes: 0, sweptBytes: 0, sweptIntervals: 0, unexplainedDrops: 0, collectionsBetweenLines: 0, freedBetweenLines: 0 });
  });

  test('code space growth is left out (the JIT’s), and out of heapInUse', () => {
    const log = new Log().probe(1, 1, { used: 1000, code: 100 }).probe(2, 1, { used: 1500, code: 300 });
    const { readings, replay: rp } = replay(log);
    assert.equal(interval(readings[0]!, readings[1]!).net, 300);
    assert.equal(rp.stats.jitCodeBytes, 200);
    assert.equal(readings[1]!.heapInUse, 1200);
  });

  test('in an interval where code space changed, old+trusted growth is left out too', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, code: 100, old: 400, trusted: 100 })
      .probe(2, 1, { used: 1600, code: 200, old: 550, trusted: 150 })
      // No code change: old space growth is the program's.
      .probe(3, 1, { used: 1700, code: 200, old: 650, trusted: 150 });
    const { readings, replay: rp } = replay(log);
    // 600 in all, 100 of code, 200 of old+trusted: 300 is the program's.
    assert.equal(interval(readings[0]!, readings[1]!).net, 300);
    assert.equal(interval(readings[0]!, readings[1]!).allocated, 300);
    assert.equal(interval(readings[1]!, readings[2]!).net, 100);
    assert.equal(rp.stats.jitCodeBytes, 100 + 200);
  });

  test('code space shrinking (code freed outside a collection) is not the program’s either', () => {
    const log = new Log().probe(1, 1, { used: 1000, code: 300 }).probe(2, 1, { used: 900, code: 200 });
    const { readings, replay: rp } = replay(log);
    assert.deepEqual(interval(readings[0]!, readings[1]!), { net: 0, freed: 0, allocated: 0, gcs: 0, external: 0 });
    assert.equal(rp.stats.unexplainedDrops, 0);
  });

  test('a GC record: allocated = net + freed, gcs counted; the code it freed is left out', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, code: 100 })
      .probe(2, 1, { used: 700, code: 80 })
      .gc(2, 600, 20)
      .probe(3, 1, { used: 750, code: 80 });
    const { readings, events, replay: rp } = replay(log);
    assert.equal(events.length, 3, 'a GC record is not a reading');
    const i = interval(readings[0]!, readings[1]!);
    // Heap without code: 900 → 620 = −280; freed without code: 580; allocated 300.
    assert.deepEqual(i, { net: -280, freed: 580, allocated: 300, gcs: 2, external: 0 });
    assert.equal(i.allocated, i.net + i.freed);
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: 50, freed: 0, allocated: 50, gcs: 0, external: 0 });
    assert.equal(rp.stats.userGcs, 2);
    assert.equal(rp.stats.freedBytes, 580);
  });

  test('a GC record with old+trusted change: that change is the collection’s, not sweeping', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, old: 500 })
      .probe(2, 1, { used: 800, old: 300 })
      .gc(1, 300, 0, -200);
    const { readings, replay: rp } = replay(log);
    assert.deepEqual(interval(readings[0]!, readings[1]!), { net: -200, freed: 300, allocated: 100, gcs: 1, external: 0 });
    assert.equal(rp.stats.sweptBytes, 0);
    assert.equal(rp.stats.sweptIntervals, 0);
  });

  test('old+trusted dropping outside a collection is sweeping: counted as freed, flagged like a GC', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, old: 500, trusted: 100 })
      .probe(2, 1, { used: 1030, old: 420, trusted: 90 });
    const { readings, replay: rp } = replay(log);
    // The heap gained 30 while sweeping freed 90: 120 allocated.
    assert.deepEqual(interval(readings[0]!, readings[1]!), { net: 30, freed: 90, allocated: 120, gcs: 1, external: 0 });
    assert.equal(rp.stats.sweptBytes, 90);
    assert.equal(rp.stats.sweptIntervals, 1);
    assert.equal(rp.stats.userGcs, 0);
  });

  test('a drop nothing explains is clamped: allocation is never negative', () => {
    const log = new Log().probe(1, 1, { used: 1000 }).probe(2, 1, { used: 900 }).probe(3, 1, { used: 950 });
    const { readings, replay: rp } = replay(log);
    const i = interval(readings[0]!, readings[1]!);
    assert.deepEqual(i, { net: -100, freed: 100, allocated: 0, gcs: 1, external: 0 });
    assert.equal(rp.stats.unexplainedDrops, 1);
    assert.equal(interval(readings[1]!, readings[2]!).allocated, 50);
    // A collection that freed less than the drop: clamped too.
    const log2 = new Log().probe(1, 1, { used: 1000 }).probe(2, 1, { used: 500 }).gc(1, 200);
    const two = replay(log2);
    assert.deepEqual(interval(two.readings[0]!, two.readings[1]!), { net: -500, freed: 500, allocated: 0, gcs: 1, external: 0 });
    assert.equal(two.replay.stats.unexplainedDrops, 1);
  });

  test('allocation (heap + freed) never decreases over a mixed log', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, code: 10, old: 300 })
      .probe(2, 1, { used: 800, code: 10, old: 300 })
      .probe(3, 1, { used: 900, code: 30, old: 280 })
      .probe(4, 1, { used: 700, code: 30, old: 250 })
      .gc(1, 100, 0, -10)
      .rebase({ used: 900, code: 30, old: 250 })
      .probe(5, 1, { used: 850, code: 25, old: 240 })
      .thrown(1, { used: 860, code: 25, old: 240 });
    const { readings } = replay(log);
    for (let k = 1; k < readings.length; k++) {
      assert.ok(interval(readings[k - 1]!, readings[k]!).allocated >= 0, `interval ${k}: ${JSON.stringify(interval(readings[k - 1]!, readings[k]!))}`);
    }
  });

  test('REBASE: the gap belongs to nobody and is lineprof’s own garbage, out of heapInUse', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000 })
      .probe(2, 1, { used: 1100 })
      .rebase({ used: 1300 }) // lineprof's own work: 200
      .probe(3, 1, { used: 1350 });
    const { readings, events } = replay(log);
    assert.equal(events.length, 3, 'a REBASE is not a reading');
    assert.equal(interval(readings[0]!, readings[1]!).net, 100);
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: 50, freed: 0, allocated: 50, gcs: 0, external: 0 });
    assert.equal(readings[2]!.heapInUse, 1350 - 200);
  });

  test('a collection in lineprof’s own work between two lines: counted, with the program’s bytes it freed (Mem usage falls there, no line’s Increment shows it)', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000 })
      .rebase({ used: 1200 }) // lineprof's own garbage: 200
      .probe(2, 1, { used: 1300 }) // in use: 1100
      .rebase({ used: 900 }, 1) // a scavenge in lineprof's work: 200 of its own and 200 of the program's freed
      .probe(3, 1, { used: 950 });
    // Inside a marked call (its next line still to come)
    const { events, sink } = recording();
    const rp = new LogReplay({ ...sink, inCall: () => true });
    rp.replay(log.ints, log.doubles, log.length);
    const readings = events.map((e) => e.reading);
    assert.equal(readings[1]!.heapInUse, 1100);
    assert.equal(readings[2]!.heapInUse, 950, 'the next line starts from the lower heap');
    assert.equal(interval(readings[1]!, readings[2]!).net, 50, 'the fall is no line’s');
    assert.equal(rp.stats.collectionsBetweenLines, 1);
    assert.equal(rp.stats.freedBetweenLines, 200);
    // Outside every call (between the program's tasks) the fall shows in no table: not counted.
    const outside = new LogReplay({ ...recording().sink, inCall: () => false });
    outside.replay(log.ints, log.doubles, log.length);
    assert.equal(outside.stats.collectionsBetweenLines, 0);
  });

  test('a later GC’s freed bytes are charged against own garbage first', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000 })
      .rebase({ used: 1200 }) // own garbage: 200
      .probe(2, 1, { used: 1300 })
      .probe(3, 1, { used: 1000 })
      .gc(1, 500) // frees 500: 200 of them lineprof's
      .probe(4, 1, { used: 1100 });
    const { readings, replay: rp } = replay(log);
    assert.equal(interval(readings[0]!, readings[1]!).net, 100, 'the rebase gap (200) is nobody’s');
    // The program's: it freed 300; its heap, less lineprof's garbage, went from 1100 to 1000.
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: -100, freed: 300, allocated: 200, gcs: 1, external: 0 });
    assert.equal(readings[1]!.heapInUse, 1100);
    assert.equal(readings[2]!.heapInUse, 1000, 'the collection took own garbage away');
    assert.equal(interval(readings[2]!, readings[3]!).net, 100);
    assert.equal(rp.stats.ownGarbageReclaimed, 200);
    assert.equal(rp.stats.freedBytes, 500);
  });

  test('own garbage larger than what a collection freed: only what it freed is taken off', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000 })
      .rebase({ used: 1500 }) // own garbage: 500
      .probe(2, 1, { used: 1500 })
      .probe(3, 1, { used: 1400 })
      .gc(1, 100)
      .probe(4, 1, { used: 1400 });
    const { readings, replay: rp } = replay(log);
    // All 100 freed were lineprof's: the program's heap did not change.
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: 0, freed: 0, allocated: 0, gcs: 1, external: 0 });
    assert.equal(rp.stats.ownGarbageReclaimed, 100);
    // A full collection forgets the rest (it was freed, or is not garbage).
    assert.equal(readings[2]!.heapInUse, 1400);
  });

  test('sweeping without a GC record takes own garbage off first too, and keeps the rest', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, old: 500 })
      .rebase({ used: 1300, old: 800 }) // own garbage: 300
      .probe(2, 1, { used: 1300, old: 800 })
      .probe(3, 1, { used: 1200, old: 700 }) // swept 100
      .probe(4, 1, { used: 1200, old: 700 });
    const { readings, replay: rp } = replay(log);
    assert.deepEqual(interval(readings[1]!, readings[2]!), { net: 0, freed: 0, allocated: 0, gcs: 1, external: 0 });
    assert.equal(readings[2]!.heapInUse, 1200 - 200);
    assert.equal(rp.stats.sweptBytes, 100);
  });

  test('THROW is a thrown reading with its token; MARK closes an interval without a reading', () => {
    const log = new Log()
      .probe(1, 4, { used: 1000 })
      .thrown(4, { used: 1040 })
      .mark({ used: 1100 })
      .probe(2, 9, { used: 1130 });
    const { events, replay: rp } = replay(log);
    assert.equal(events.length, 3);
    assert.ok('thrown' in events[1]! && events[1].thrown === 4);
    assert.equal(interval(events[0]!.reading, events[1]!.reading).net, 40);
    // The MARK's interval (1040 → 1100) is in the counters but charged to nobody; the next one starts at the MARK.
    assert.equal(interval(events[1]!.reading, events[2]!.reading).net, 60 + 30);
    assert.equal(rp.current.heap, 130);
  });

  test('current is the MARK’s reading after a MARK', () => {
    const log = new Log().probe(1, 1, { used: 1000 }).mark({ used: 1010 });
    const { replay: rp } = replay(log);
    assert.deepEqual(rp.current, { heap: 10, freed: 0, gcs: 0, external: 0, heapInUse: 1010 });
  });

  test('replaying in chunks gives the same readings as in one go', () => {
    const log = new Log()
      .probe(1, 1, { used: 1000, external: 5, code: 10, old: 300, trusted: 20 })
      .probe(2, 1, { used: 1200, external: 7, code: 10, old: 350, trusted: 20 })
      .rebase({ used: 1300, external: 7, code: 10, old: 350, trusted: 20 })
      .probe(3, 2, { used: 1400, external: 9, code: 40, old: 380, trusted: 25 })
      .probe(4, 2, { used: 900, external: 9, code: 40, old: 200, trusted: 25 })
      .gc(1, 700, 0, -180)
      .probe(5, 2, { used: 880, external: 9, code: 40, old: 190, trusted: 25 })
      .thrown(2, { used: 990, external: 3, code: 40, old: 190, trusted: 25 })
      .mark({ used: 1000, external: 3, code: 40, old: 190, trusted: 25 })
      .probe(6, 1, { used: 700, external: 3, code: 40, old: 190, trusted: 25 });
    const whole = replay(log);
    for (const cut of [1, 2, 3, 5, 7, 9]) {
      const { events, sink } = recording();
      const rp = new LogReplay(sink);
      // The runtime flushes the log whole: a GC record always follows its record in the same chunk.
      const split = cut * RECORD_INTS;
      if (log.ints[split] === GC) continue;
      const second = new Log();
      second.ints.set(log.ints.subarray(split, log.length));
      second.length = log.length - split;
      rp.replay(log.ints, log.doubles, split);
      rp.replay(second.ints, second.doubles, second.length);
      assert.deepEqual(events, whole.events, `cut after record ${cut}`);
      assert.deepEqual(rp.stats, whole.replay.stats);
    }
  });
});

/**
 * A real run's log: `LINEPROF_TRACE=FILE node bin/lineprof.js run fixtures/targets/loop.js` (Node 20), trimmed to the
 * records after the warm-up's MARK, and the probe table planModule gives loop.js (ids from 0). The report of that run
 * said: line 4 32 B, line 5 0 B (51 occurrences), line 6 403.90 KiB (50), line 8 0 B.
 */
describe('LogReplay + ProbeAttributor on a recorded log (fixtures/targets/loop.js)', () => {
  const dir = path.resolve(__dirname, '../../../test/unit/recorded');
  const bytes = fs.readFileSync(path.join(dir, 'loop.bin'));
  const table = JSON.parse(fs.readFileSync(path.join(dir, 'loop.probes.json'), 'utf8')) as Array<{
    name: string;
    probes: Array<{ id: number } & Omit<AttributedProbe, 'fn'>>;
  }>;

  function attribute(chunks: number) {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const ints = new Int32Array(buffer);
    const at = new ProbeAttributor();
    for (const f of table) {
      const fn = at.addFunction();
      for (const { id, ...p } of f.probes) at.setProbe(id, { ...p, fn });
    }
    const rp = new LogReplay(at);
    const records = ints.length / RECORD_INTS;
    let from = 0;
    for (let k = 1; k <= chunks; k++) {
      let to = Math.round((records * k) / chunks);
      while (to < records && ints[to * RECORD_INTS] === GC) to++;
      const part = ints.slice(from * RECORD_INTS, to * RECORD_INTS);
      rp.replay(part, new Float64Array(part.buffer), part.length);
      from = to;
    }
    at.finish(rp.current);
    return { stats: at.snapshot()[0]!, counters: at.counters, gc: rp.stats };
  }

  test('the run’s line figures', () => {
    assert.equal(bytes.length % (RECORD_INTS * 4), 0);
    assert.ok(bytes.length < 200_000);
    const { stats, counters, gc } = attribute(1);
    assert.deepEqual(counters, { orphanReadings: 0, unseenExits: 0 });
    assert.equal(stats.calls, 1);
    assert.equal(stats.openCalls, 0);
    const line = (n: number) => stats.lines.get(n)!;
    assert.deepEqual([...stats.lines.keys()].sort((a, b) => a - b), [4, 5, 6, 8]);
    assert.deepEqual([4, 5, 6, 8].map((n) => line(n).occurrences), [1, 51, 50, 1]);
    assert.equal(line(4).allocatedBytes, 32);
    assert.equal(line(5).allocatedBytes, 0);
    assert.equal(line(6).allocatedBytes, 413_592);
    assert.equal((line(6).allocatedBytes / 1024).toFixed(2), '403.90');
    assert.equal(line(8).allocatedBytes, 0);
    // Each of the 50 rows is an array of 1000 elements: at least 8000 bytes of elements.
    assert.ok(line(6).allocatedBytes >= 50 * 8000);
    for (const n of [4, 5, 6, 8]) {
      assert.equal(line(n).netBytes, line(n).allocatedBytes, 'no collection ran');
      assert.equal(line(n).gcIntervals, 0);
    }
    assert.equal(stats.allocatedBytes, 32 + 413_592);
    assert.equal(stats.netBytes, stats.allocatedBytes);
    assert.equal(stats.maxCallNetBytes, stats.netBytes);
    // The JIT's code was seen and left out.
    assert.ok(gc.jitCodeBytes > 0);
    assert.equal(gc.unexplainedDrops, 0);
  });

  test('replayed in chunks, the same figures', () => {
    const whole = attribute(1);
    for (const chunks of [2, 3, 7]) assert.deepEqual(attribute(chunks), whole);
  });
});
