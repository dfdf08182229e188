/**
 * The heap in use over time, for `lineprof plot`, shared by both engines: a point at most every STEP_MS, holding the
 * largest value seen in its step (so a short peak is not lost between two points); past POINTS, every other point
 * goes and the step doubles, so a long session keeps its whole span in bounded memory. The latest value is kept
 * apart, so that a session shorter than one step still ends where it ended.
 */
const STEP_MS = 5;
const POINTS = 20_000;

export class HeapTimeline {
  private step = STEP_MS;
  private lastAt = -Infinity;
  private readonly kept: Array<[t: number, heapInUse: number]> = [];
  /** [time (0: none), value] of the latest value the step left out. A typed array: no garbage per value. */
  private readonly latest = new Float64Array(2);

  add(heapInUse: number): void {
    const t = performance.timeOrigin + performance.now();
    if (t - this.lastAt < this.step) {
      const last = this.kept[this.kept.length - 1];
      if (last && heapInUse > last[1]) last[1] = heapInUse;
      this.latest[0] = t;
      this.latest[1] = heapInUse;
      return;
    }
    this.latest[0] = 0;
    this.lastAt = t;
    this.kept.push([t, heapInUse]);
    if (this.kept.length >= POINTS) {
      for (let i = 0, j = 0; i < this.kept.length; i += 2, j++) this.kept[j] = this.kept[i]!;
      this.kept.length = POINTS / 2;
      this.step *= 2;
    }
  }

  /** The points, with the latest value at the end. */
  points(): Array<[number, number]> {
    const points = this.kept.map(([t, v]): [number, number] => [t, v]);
    if (this.latest[0]! > 0) points.push([this.latest[0]!, this.latest[1]!]);
    return points;
  }
}
