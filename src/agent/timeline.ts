/**
 * The heap in use over time, for `lineprof plot`: a point at most every STEP_MS, holding the largest value seen in
 * its step (so a short peak is not lost between two points); past POINTS, every other point goes and the step
 * doubles, so a long session keeps its whole span in bounded memory.
 */
const STEP_MS = 5;
const POINTS = 20_000;

export class HeapTimeline {
  private step = STEP_MS;
  private lastAt = -Infinity;
  readonly points: Array<[t: number, heapInUse: number]> = [];

  /** `force`: the last point of a session, taken whatever the step. */
  add(heapInUse: number, force = false): void {
    const t = performance.timeOrigin + performance.now();
    if (!force && t - this.lastAt < this.step) {
      const last = this.points[this.points.length - 1];
      if (last && heapInUse > last[1]) last[1] = heapInUse;
      return;
    }
    this.lastAt = t;
    this.points.push([t, heapInUse]);
    if (this.points.length >= POINTS) {
      for (let i = 0, j = 0; i < this.points.length; i += 2, j++) this.points[j] = this.points[i]!;
      this.points.length = POINTS / 2;
      this.step *= 2;
    }
  }
}
