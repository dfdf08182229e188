/**
 * The in-process API on this very process: memoryUsage calls the function exactly once and samples around it;
 * profileLines gives the exact line table of one call; expectMemory passes and fails where it should.
 */
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { expectMemory, memoryUsage, profileLines } from '../../src/api';
import { assertBytes, FIXTURES, NODE_MAJOR } from '../helpers/profile';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const target = require(path.join(FIXTURES, 'api-target.js')) as {
  buildTable(rows: number): number;
  holdMegabytes(mib: number): unknown[];
};
const MIB_OF_DOUBLES = 1_048_592; // new Array(131072).fill(0.5): FixedDoubleArray 16 + 1 MiB, JSArray 32, rounded

test('memoryUsage calls the function exactly once, samples before and after, and returns its value', async () => {
  let calls = 0;
  const usage = await memoryUsage(() => {
    calls++;
    return target.holdMegabytes(20);
  }, { interval: 0.01 });
  assert.equal(calls, 1);
  assert.equal((usage.value as unknown[]).length, 20);
  assert.ok(usage.samples.length >= 2, `${usage.samples.length} samples`);
  const first = usage.samples[0]!;
  const last = usage.samples[usage.samples.length - 1]!;
  // The 20 MiB are still held (returned) when the last sample is taken.
  // Samples are the heap in use, not allocation: a scavenge during the call frees garbage that was in the first
  // sample (this test process's own, up to ~2 MB seen), so the rise is at least 20 MiB less that.
  assert.ok(last.heapUsed! - first.heapUsed! >= 20 * 1024 * 1024 - 3 * 1024 * 1024, `heap ${first.heapUsed} -> ${last.heapUsed}`);
  assert.ok(usage.peak.heapUsed! >= last.heapUsed!);
  assert.ok(usage.samples.every((s, i) => i === 0 || s.t >= usage.samples[i - 1]!.t));
});

test('memoryUsage of a fast function still calls it once, with a sample on each side', async () => {
  let calls = 0;
  const usage = await memoryUsage(() => ++calls, { interval: 0.5 });
  assert.equal(calls, 1);
  assert.equal(usage.value, 1);
  assert.ok(usage.samples.length >= 2);
  const maxOnly = await memoryUsage(() => ++calls, { maxUsage: true });
  assert.equal(calls, 2);
  assert.deepEqual(maxOnly.samples, []);
  assert.ok(maxOnly.peak.rss > 0);
});

test('memoryUsage of a process id samples its RSS until it ends', async () => {
  const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(30 * 1024 * 1024, 1); setTimeout(() => b.length, 600)']);
  await new Promise((resolve) => setTimeout(resolve, 250));
  const usage = await memoryUsage(child.pid!, { interval: 0.02, timeout: 2 });
  assert.ok(usage.samples.length >= 5, `${usage.samples.length} samples`);
  assert.ok(usage.peak.rss >= 30 * 1024 * 1024, `peak ${usage.peak.rss}`);
  assert.ok(usage.durationSeconds < 1.5, 'sampling ended with the process');
});

test('profileLines: the exact table of one call of a function given with its arguments', async () => {
  const { profile, value } = await profileLines(target.buildTable, 1e5);
  assert.equal(value, 1e5);
  assert.equal(profile.name, 'buildTable');
  assert.equal(profile.calls, 1);
  const line = (text: string) => profile.lines.find((l) => l.content.includes(text))!;
  // 1e5 smis: FixedArray 16 + 800,000, JSArray 32 (an allocation site may add 16-32 B). This runs in the test's own
  // process at the default tier; from Node 22 old space is counted object by object, so first-call costs and what
  // the compilers keep there show, and the compiler threads of this process (in-process, nothing runs it
  // --single-threaded) take old space when they run: the ids line was +192 B on Node 24, +1,392 B once in CI, and
  // -200 B on 26 (the first line of a call, see docs/limitations.md); the map callback, run 1e5 times and compiled
  // meanwhile, put +224 to +2,360 B on the labels line on 24 (four runs), depending on when its compilation lands.
  assertBytes(line('new Array(rows)').allocatedBytes, 800_048, NODE_MAJOR >= 22 ? 4_096 : 64, 'ids line');
  assertBytes(line('ids.map').allocatedBytes, 800_048, NODE_MAJOR >= 22 ? 4_096 : 256, 'labels line');
  assert.equal(line('return labels.length').occurrences, 1);
  // The breakpoints are gone afterwards: calling it again changes nothing.
  assert.ok(!('__lineprof' in globalThis));
});

test('expectMemory passes under the budget and fails over it, naming the heaviest line', async () => {
  const profile = await expectMemory(() => target.holdMegabytes(4)).toStayUnder('8 MiB');
  assert.ok(profile.netBytes >= 4 * MIB_OF_DOUBLES * 0.99, `net ${profile.netBytes}`);
  await assert.rejects(
    expectMemory(() => target.holdMegabytes(4)).toStayUnder('2 MiB'),
    (err: Error) => {
      assert.equal(err.name, 'AssertionError');
      assert.match(err.message, /^expected \(anonymous\) to stay under 2\.00 MiB, it grew the JS heap by 4\.\d\d MiB/);
      assert.match(err.message, /line \d+: 4\.\d\d MiB {2}await assert\.rejects|line \d+: 4\.\d\d MiB/);
      return true;
    },
  );
  await expectMemory(() => target.buildTable(1000)).toAllocateUnder(64 * 1024);
  await assert.rejects(expectMemory(() => target.buildTable(1e5)).toAllocateUnder('1 MiB'), /allocated 1\.\d\d MiB/);
});
