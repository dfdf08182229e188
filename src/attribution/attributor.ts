/**
 * Attribution: turns the stream of heap readings taken at break locations into per-line figures. Pure: no I/O, no
 * clock, no V8; it is fed readings and keeps sums, so the same code runs live inside the target and on recorded
 * sequences in unit tests.
 *
 * The rule, written down once (docs/how-it-works.md repeats it):
 *   What the heap gained between a reading and the next reading *of the same call frame* is charged to the line of
 *   the first reading. Calls made in between (to unmarked code, or to marked code, recursion included) are part of
 *   that interval, so a line's figures include everything its calls allocated. A `(return)` location closes the
 *   call; a call left by a throw is closed at the next reading, which is charged to the line that threw.
 *
 * Frames are told apart by stack depth: a reading deeper than the open frame is a new call; a reading shallower
 * closes the frames above it; a reading at a function's entry location that no loop can repeat, at the depth of an
 * open frame of the same function, means the open frame was left by a throw and a new call began.
 *
 * Suspension (async functions, generators): an interval that starts at a location followed by an `await` or `yield`
 * (before the next location) may contain a suspension of the call, during which any other code runs. Such an
 * interval is not charged to the line: its bytes are reported as the line's `suspendedBytes`, and left out of the
 * function's totals. A call left at such a location is parked, not closed; the next hit of its function that does
 * not begin a new call resumes a parked call. Calls parked at the same place are interchangeable: whichever resumes,
 * the same figures go to the same lines, so ten concurrent calls add up without telling them apart.
 */
import { LocationKind } from '../breakpoints/plan';
import { addCallTotals, chargeInterval, chargeSuspension, lineStatsIn, newFunctionStats } from './charges';
import { enclosingCallOf, resumeEnclosing } from './recursion';
import type { CallFigures, FunctionStats, LineStats, Reading } from './charges';

export interface AttributedLocation {
  fn: number;
  line: number;
  offset: number;
  kind: LocationKind;
  opensCall: boolean;
  /** An `await` or `yield` lies between this location and the next: the interval from here may be a suspension. */
  maySuspend: boolean;
  /** A `(return)` location inside a `return` statement: arriving there is an occurrence of its line. */
  inReturnStatement?: boolean;
}

export type { FunctionStats, LineStats, Reading } from './charges';
export { lineStatsOf } from './charges';

interface Frame extends CallFigures {
  fn: number;
  depth: number;
  line: number;
  offset: number;
  at: Reading;
  /** Whether the current location's interval may contain a suspension (see the rule above). */
  maySuspend: boolean;
  /** A recursive call: the enclosing running call of the function, and its reading at this call's entry. */
  recursionOf?: { frame: Frame; at: Reading };
}

/**
 * A new frame's line before its first reading. Not a negative number: a source-mapped location that maps nowhere
 * is kept under its negated generated line.
 */
const NO_LINE = Number.NaN;

export class Attributor {
  private readonly locations: AttributedLocation[] = [];
  private readonly functions: FunctionStats[] = [];
  private readonly stack: Frame[] = [];
  /** Calls suspended at an `await` or `yield`, in the order they were left. */
  private readonly parked: Frame[] = [];
  private readonly returnUnseen: boolean[] = [];
  private readonly resumesFromQueue: boolean[] = [];
  /** The call the last hit belonged to, while it is still open. */
  private lastFrame: Frame | undefined;

  /** Calls begun and not ended: on the stack or suspended (attach waits for none before it edits a script). */
  get openCallCount(): number {
    return this.stack.length + this.parked.length;
  }

  /**
   * An async generator: V8 never hits its return location, so one of its calls that stops without being at an
   * `await` or `yield` has finished, not thrown. An async function (not a generator): V8 resumes it only from the
   * microtask queue, never from a caller, so its entry reached at the depth of one of its calls that may be
   * suspended is a new call, even when a loop could repeat the entry.
   */
  addFunction(kind: { async?: boolean; generator?: boolean } = {}): number {
    this.returnUnseen.push(kind.async === true && kind.generator === true);
    this.resumesFromQueue.push(kind.async === true && kind.generator !== true);
    this.functions.push(newFunctionStats());
    return this.functions.length - 1;
  }

  addLocation(location: AttributedLocation): number {
    this.locations.push(location);
    return this.locations.length - 1;
  }

  /**
   * The depth of this hit when it is certainly a continuation of the open call, so the caller need not measure it
   * (capturing the stack costs ~8 µs): the previous hit belonged to that same call, the location is in its function
   * and does not open calls. Between two hits of one call no other marked code ran, so no call was entered or left
   * unseen; a new call of the function would first hit its entry location.
   */
  continuingDepth(locationId: number): number | undefined {
    const loc = this.locations[locationId];
    const top = this.stack[this.stack.length - 1];
    if (!loc || !top || top !== this.lastFrame || top.fn !== loc.fn || loc.kind === LocationKind.Entry) return undefined;
    // A generator resumed by a caller at another depth continues "the same call" as far as hits can tell.
    if (top.maySuspend) return undefined;
    return top.depth;
  }

  hit(locationId: number, depth: number, reading: Reading): void {
    const loc = this.locations[locationId];
    this.lastFrame = undefined;
    if (!loc) return;
    const stack = this.stack;
    // Frames deeper than this reading were left without reaching a return location: suspended, or a throw.
    while (stack.length > 0 && stack[stack.length - 1]!.depth > depth) this.leave(reading);
    let top: Frame | undefined = stack[stack.length - 1];
    const newCall = top !== undefined && top.depth === depth && top.fn === loc.fn && this.opensNewCall(top, loc);
    if (top && top.depth === depth && (top.fn !== loc.fn || newCall)) {
      this.leave(reading);
      top = undefined;
    }
    if (top && top.depth === depth) {
      if (top.maySuspend) this.chargeSuspended(top, reading);
      else this.charge(top, reading, false);
    } else {
      const resumed = newCall || (loc.kind === LocationKind.Entry && loc.opensCall) ? undefined : this.unpark(loc.fn);
      if (resumed) {
        this.chargeSuspended(resumed, reading);
        resumed.depth = depth;
        top = resumed;
      } else {
        top = {
          fn: loc.fn,
          depth,
          line: NO_LINE,
          offset: -1,
          at: reading,
          openedAt: reading,
          maySuspend: false,
          suspendedHeap: 0,
          suspendedFreed: 0,
          suspendedExternal: 0,
        };
        // Recursion: the enclosing call's line stops at this call and goes on from its end (recursion.ts).
        const enclosing = enclosingCallOf(stack, loc.fn);
        if (enclosing) {
          this.charge(enclosing, reading, false);
          enclosing.at = reading;
          top.recursionOf = { frame: enclosing, at: reading };
        }
        this.functions[loc.fn]!.calls++;
      }
      stack.push(top);
    }
    top.maySuspend = loc.maySuspend;
    if (loc.kind === LocationKind.Return) {
      if (loc.inReturnStatement && top.line !== loc.line) {
        const stats = this.lineStats(loc.fn, loc.line);
        stats.occurrences++;
        if (reading.heapInUse > stats.peakHeapInUse) stats.peakHeapInUse = reading.heapInUse;
      }
      top.at = reading;
      this.close(reading, false);
      return;
    }
    this.lastFrame = top;
    // An occurrence is an arrival on the line from another line, or the same location twice in a row (a loop on one
    // location). Moving between locations of one line (a for header's update then test) is the same occurrence.
    if (top.line !== loc.line || loc.offset === top.offset) this.lineStats(loc.fn, loc.line).occurrences++;
    top.line = loc.line;
    top.offset = loc.offset;
    top.at = reading;
  }

  /**
   * A hit at the entry location, at the depth of an open call of the same function, begins a new call (the open one
   * was left by a throw) if no loop can repeat the entry and the open call has moved past the entry's line: V8 does
   * not always run a line's locations in source order (`this.items = new Array(n)` runs the right side first), so a
   * call may reach its "first" location second.
   */
  private opensNewCall(top: Frame, loc: AttributedLocation): boolean {
    if (loc.kind !== LocationKind.Entry) return false;
    if (this.resumesFromQueue[loc.fn] && top.maySuspend) return true;
    return loc.opensCall && top.line !== loc.line;
  }

  /** Closes every open call at this reading (end of profiling); the calls are counted as still open. */
  finish(reading: Reading): void {
    this.lastFrame = undefined;
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1]!;
      const open = !this.returnUnseen[frame.fn] || frame.maySuspend;
      if (open) this.functions[frame.fn]!.openCalls++;
      // Left at an await or yield: the call is suspended, and has been since its last reading.
      if (frame.maySuspend) this.chargeSuspended(frame, reading);
      this.close(reading, false, !open);
    }
    // Calls still suspended (a generator never exhausted, an await never settled): their last interval is a
    // suspension that has not ended.
    for (const frame of this.parked.splice(0)) {
      this.functions[frame.fn]!.openCalls++;
      this.chargeSuspended(frame, reading);
      this.stack.push(frame);
      this.close(reading, false, false);
    }
  }

  /** A call left without reaching a return location: parked if it may be suspended there, else closed by a throw. */
  private leave(reading: Reading): void {
    const frame = this.stack[this.stack.length - 1]!;
    if (frame.maySuspend) {
      this.stack.pop();
      this.parked.push(frame);
    } else {
      this.close(reading, !this.returnUnseen[frame.fn]);
    }
  }

  /**
   * The call of this function suspended longest ago, taken off the parked list; else one still on the stack at a
   * location where it may have been suspended without any reading showing it left (an async call suspended, then a
   * deeper stack resumes another: nothing shallower came to take it off the stack).
   */
  private unpark(fn: number): Frame | undefined {
    const i = this.parked.findIndex((f) => f.fn === fn);
    if (i >= 0) return this.parked.splice(i, 1)[0];
    const j = this.stack.findIndex((f) => f.fn === fn && f.maySuspend);
    return j < 0 ? undefined : this.stack.splice(j, 1)[0];
  }

  /** The interval since the frame's last reading spans a suspension: reported apart and kept out of its totals. */
  private chargeSuspended(frame: Frame, reading: Reading): void {
    chargeSuspension(frame, Number.isNaN(frame.line) ? undefined : this.lineStats(frame.fn, frame.line), frame.at, reading);
    frame.at = reading;
  }

  /** Calls of one function so far (open ones included). */
  callsOf(fn: number): number {
    return this.functions[fn]?.calls ?? 0;
  }

  /** Figures so far, without disturbing open calls (a live view reads this while the program runs). */
  snapshot(): FunctionStats[] {
    return this.functions.map((f) => ({ ...f, lines: new Map([...f.lines].map(([k, v]) => [k, { ...v }])) }));
  }

  private charge(frame: Frame, reading: Reading, thrown: boolean): void {
    if (!Number.isNaN(frame.line)) chargeInterval(this.lineStats(frame.fn, frame.line), frame.at, reading, thrown);
  }

  /** `ended`: the call ended (returned or threw), not closed because profiling stopped while it ran. */
  private close(reading: Reading, thrown: boolean, ended = true): void {
    const frame = this.stack.pop()!;
    if (frame.at !== reading) this.charge(frame, reading, thrown);
    resumeEnclosing(frame, reading, (outer) => this.stack.includes(outer as Frame));
    // A call's totals count once however deep the recursion: only the outermost open call of a function adds them.
    // A call of the function below this one that may be suspended is not enclosing it: its interval is reported as
    // suspended, so it will not hold this call's bytes.
    if (this.stack.some((f) => f.fn === frame.fn && !f.maySuspend)) return;
    addCallTotals(this.functions[frame.fn]!, frame, reading, ended);
  }

  private lineStats(fn: number, line: number): LineStats {
    return lineStatsIn(this.functions[fn]!, line);
  }
}
