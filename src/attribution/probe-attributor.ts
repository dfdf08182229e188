/**
 * Attribution for the probe engine: turns the stream of probe readings into per-line figures. Pure: no I/O, no clock,
 * no V8; unit tests replay recorded probe logs through it.
 *
 * The rule is the breakpoint engine's (src/attribution/attributor.ts), with calls known exactly instead of guessed
 * from stack depths: every reading names its call's token.
 *   What the heap gained between a reading of a call and its next reading is charged to the line of the first. Calls
 *   made in between (unmarked code, marked code, recursion) are part of that interval. An exit reading closes the
 *   call; a throw reading closes it too, charging the line that threw.
 *
 * Suspension: an interval that starts at a reading flagged `maySuspend` (right before an `await`/`yield` gives up the
 * thread, or a `for await` step) is reported as the line's `suspendedBytes`, not charged to it nor to the function's
 * totals: whatever else ran meanwhile is in it.
 *
 * Running calls form a stack (a call's readings come while the calls it made have ended or are suspended). A reading
 * of a call below the top means the calls above it have given up the thread: those at a suspension point are parked
 * (they resume with their own token later); any other was left without an exit reading (a throw that the instrumenter
 * could not catch, LiveEdit's layout), and is closed as thrown, charged up to the first reading after its last one.
 */
import { addCallTotals, chargeInterval, chargeSuspension, lineStatsIn, newFunctionStats } from './charges';
import type { CallFigures, FunctionStats, LineStats, Reading } from './charges';
import { enclosingCallOf, resumeEnclosing } from './recursion';

export const enum ProbeRole {
  Statement = 0,
  Entry = 1,
  Exit = 2,
  /** A return value is computed, but a `finally` runs before the call ends: the call is returning. */
  Returning = 3,
  /** The end of the outermost `finally` around a return: the call ends here if it is returning. */
  FinallyEnd = 4,
  /** Before a `throw` statement. */
  Throwing = 5,
}

export interface AttributedProbe {
  fn: number;
  line: number;
  role: ProbeRole;
  maySuspend: boolean;
}

interface CallFrame extends CallFigures {
  fn: number;
  token: number;
  line: number;
  probe: number;
  at: Reading;
  maySuspend: boolean;
  onStack: boolean;
  /** A return value was computed inside a try whose finally is still to run. */
  returning: boolean;
  /**
   * The call's last reading says it is leaving by a throw (before a `throw` statement, or the end of a finally it is
   * not returning through, where the next reading would be its own): where no catch reports throws (LiveEdit), a
   * reading that is not its own closes it as thrown. Otherwise a new call of its function would be taken for a
   * recursion of a dead one.
   */
  leaving: false | ProbeRole.Throwing | ProbeRole.FinallyEnd;
  /** While leaving by a throw: the last reading of a call its throw's expression made (it ends after that). */
  lastNested?: Reading;
  /** A recursive call: the enclosing running call of the function, and its reading at this call's entry (recursion.ts). */
  recursionOf?: { frame: CallFrame; at: Reading };
  /** Order of its first and last readings among all readings. */
  startSeq: number;
  lastSeq: number;
  /** The first reading (of any call) after this call's last reading: where a call left unseen is closed. */
  next: Reading | undefined;
}

export interface ProbeAttributionStats {
  /** Readings whose token names no open call (its entry came before profiling, or was lost). */
  orphanReadings: number;
  /** Calls closed without an exit or throw reading (left by a throw the layout could not see). */
  unseenExits: number;
}

export class ProbeAttributor {
  private readonly probes: AttributedProbe[] = [];
  private readonly functions: FunctionStats[] = [];
  private readonly calls = new Map<number, CallFrame>();
  private readonly stack: CallFrame[] = [];
  private last: CallFrame | undefined;
  /** Calls whose last reading said they are leaving by a throw (see CallFrame.leaving). */
  private leaving: CallFrame[] = [];
  private seq = 0;
  readonly counters: ProbeAttributionStats = { orphanReadings: 0, unseenExits: 0 };

  addFunction(): number {
    this.functions.push(newFunctionStats());
    return this.functions.length - 1;
  }

  /** Probe ids are given by the caller (they are global in the process); gaps are allowed. */
  setProbe(id: number, probe: AttributedProbe): void {
    this.probes[id] = probe;
  }

  callsOf(fn: number): number {
    return this.functions[fn]?.calls ?? 0;
  }

  inCall(): boolean {
    return this.stack.length > 0;
  }

  hit(probeId: number, token: number, reading: Reading): void {
    const probe = this.probes[probeId];
    if (!probe) return;
    if (this.last && this.last.token !== token) this.last.next ??= reading;
    this.seq++;
    if (this.leaving.length > 0) this.closeLeavers(token, probe, reading);
    if (probe.role === ProbeRole.Entry) {
      const call: CallFrame = {
        fn: probe.fn,
        token,
        line: probe.line,
        probe: probeId,
        at: reading,
        openedAt: reading,
        maySuspend: probe.maySuspend,
        onStack: true,
        returning: false,
        leaving: false,
        startSeq: this.seq,
        lastSeq: this.seq,
        next: undefined,
        suspendedHeap: 0,
        suspendedFreed: 0,
        suspendedExternal: 0,
      };
      const enclosing = enclosingCallOf(this.stack, probe.fn);
      if (enclosing) {
        this.charge(enclosing, reading, false);
        call.recursionOf = { frame: enclosing, at: reading };
      }
      this.calls.set(token, call);
      this.stack.push(call);
      this.functions[probe.fn]!.calls++;
      this.occurrence(call.fn, call.line, reading);
      this.last = call;
      return;
    }
    const call = this.calls.get(token);
    if (!call) {
      this.counters.orphanReadings++;
      this.last = undefined;
      return;
    }
    this.bringToTop(call, reading);
    if (call.maySuspend) this.chargeSuspended(call, reading);
    else this.charge(call, reading, false);
    call.next = undefined;
    this.last = call;
    if (probe.role === ProbeRole.Exit || (probe.role === ProbeRole.FinallyEnd && call.returning)) {
      this.close(call, reading, true);
      return;
    }
    if (probe.role === ProbeRole.Returning) call.returning = true;
    call.lastSeq = this.seq;
    const leaving = probe.role === ProbeRole.Throwing || (probe.role === ProbeRole.FinallyEnd && !call.returning) ? probe.role : false;
    if (leaving !== false && call.leaving === false) this.leaving.push(call);
    call.leaving = leaving as CallFrame['leaving'];
    // The end of a finally the call is not returning through is no line of its own: the line goes on.
    if (probe.role === ProbeRole.FinallyEnd) {
      call.at = reading;
      return;
    }
    if (call.line !== probe.line || call.probe === probeId) this.occurrence(call.fn, probe.line, reading);
    call.line = probe.line;
    call.probe = probeId;
    call.at = reading;
    call.maySuspend = probe.maySuspend;
  }

  /** The call threw out of its function: its line is charged up to here, and the call ends. */
  thrown(token: number, reading: Reading): void {
    this.seq++;
    const call = this.calls.get(token);
    if (this.last && this.last.token !== token) this.last.next ??= reading;
    if (!call) {
      this.counters.orphanReadings++;
      return;
    }
    this.bringToTop(call, reading);
    this.charge(call, reading, true);
    this.close(call, reading, true);
    this.last = undefined;
  }

  /** Closes every open call at this reading (end of profiling); they are counted as still open. */
  finish(reading: Reading): void {
    // Innermost first: a call closed while an outer call of its function is open adds nothing to the totals (the
    // outer one holds it), so the outer one must be closed last.
    const parked = [...this.calls.values()].filter((call) => !call.onStack);
    for (const call of [...[...this.stack].reverse(), ...parked]) {
      this.functions[call.fn]!.openCalls++;
      if (call.maySuspend) {
        // Suspended to the end: a generator left by `break` or return() (which runs no probe of its own), an await
        // that never settled. What ran since is the rest of the program, not what the call waited for: the
        // suspension is counted, its bytes are not.
        this.lineStats(call.fn, call.line).suspensions++;
        this.close(call, call.at, false);
      } else if (call.leaving !== false) {
        // It was leaving by a throw: closed where the first reading after its last came, as thrown.
        const at = call.lastNested ?? call.next ?? reading;
        this.functions[call.fn]!.openCalls--;
        this.charge(call, at, true);
        this.close(call, at, true);
      } else {
        this.charge(call, reading, false);
        this.close(call, reading, false);
      }
    }
    this.last = undefined;
  }

  /** Figures so far, without disturbing open calls (a live view reads this while the program runs). */
  snapshot(): FunctionStats[] {
    return this.functions.map((f) => ({ ...f, lines: new Map([...f.lines].map(([k, v]) => [k, { ...v }])) }));
  }

  /**
   * A reading not of a leaving call: the call threw, unless the reading is of a call begun since its last reading
   * (made by the throw's expression) and not a new call of the same function. Closed where the first reading after
   * its last came, or after the last reading of the calls its throw made.
   */
  private closeLeavers(token: number, probe: AttributedProbe, reading: Reading): void {
    const current = probe.role === ProbeRole.Entry ? undefined : this.calls.get(token);
    this.leaving = this.leaving.filter((call) => {
      if (!call.leaving || !this.calls.has(call.token)) return false;
      if (call.token === token) return true;
      // After the end of a finally only the call's own next reading can come, unless it threw.
      const nested =
        call.leaving === ProbeRole.Throwing &&
        (probe.role === ProbeRole.Entry ? probe.fn !== call.fn : current !== undefined && current.startSeq > call.lastSeq);
      if (nested) {
        call.lastNested = reading;
        return true;
      }
      const i = this.stack.lastIndexOf(call);
      if (i >= 0) this.stack.splice(i, 1);
      call.onStack = false;
      call.leaving = false;
      this.counters.unseenExits++;
      const at = call.lastNested ?? call.next ?? reading;
      this.charge(call, at, true);
      this.close(call, at, true);
      return false;
    });
  }

  /** Calls above this one on the stack have given up the thread: parked if suspended, else closed unseen. */
  private bringToTop(call: CallFrame, reading: Reading): void {
    if (!call.onStack) {
      call.onStack = true;
      this.stack.push(call);
      return;
    }
    while (this.stack.length > 0 && this.stack[this.stack.length - 1] !== call) {
      const above = this.stack[this.stack.length - 1]!;
      if (above.maySuspend) {
        this.stack.pop();
        above.onStack = false;
      } else {
        this.counters.unseenExits++;
        const at = above.next ?? reading;
        this.charge(above, at, true);
        this.close(above, at, true);
      }
    }
  }

  private occurrence(fn: number, line: number, reading: Reading): void {
    const stats = this.lineStats(fn, line);
    stats.occurrences++;
    if (reading.heapInUse > stats.peakHeapInUse) stats.peakHeapInUse = reading.heapInUse;
  }

  private chargeSuspended(call: CallFrame, reading: Reading): void {
    chargeSuspension(call, this.lineStats(call.fn, call.line), call.at, reading);
    call.at = reading;
  }

  private charge(call: CallFrame, reading: Reading, thrown: boolean): void {
    chargeInterval(this.lineStats(call.fn, call.line), call.at, reading, thrown);
    call.at = reading;
  }

  /** `ended`: the call returned or threw (not cut off by the end of profiling). */
  private close(call: CallFrame, reading: Reading, ended: boolean): void {
    this.calls.delete(call.token);
    if (call.onStack) {
      const i = this.stack.lastIndexOf(call);
      if (i >= 0) this.stack.splice(i, 1);
      call.onStack = false;
    }
    if (this.last === call) this.last = undefined;
    resumeEnclosing(call, reading, (outer) => this.calls.has((outer as CallFrame).token));
    // A call's totals count once however deep the recursion: an enclosing running call of the function adds them.
    if (this.stack.some((f) => f.fn === call.fn && !f.maySuspend)) return;
    addCallTotals(this.functions[call.fn]!, call, reading, ended);
  }

  private lineStats(fn: number, line: number): LineStats {
    return lineStatsIn(this.functions[fn]!, line);
  }
}
