/**
 * The probe engine in a process lineprof attached to: the scripts that hold marked functions are replaced, through
 * a same-thread inspector session, by their instrumented text (`Debugger.setScriptSource`, V8's LiveEdit), and put
 * back on detach. The probes, their log and the attribution are run mode's (ProbeAgent); only the way the
 * instrumented code gets in differs.
 *
 * What V8 does with an edit (measured here on Node 20 and 24; docs/attach.md):
 * - closures made before it run the new code;
 * - it is refused while a function of the script is on the stack or has a suspended call: that script's marked
 *   functions are read by breakpoints meanwhile (a breakpoint agent of their own), and the edit is made once none of
 *   their calls is open;
 * - it can answer Ok and leave a function with its old code when it cannot match old and new functions
 *   (planLiveEdit edits in steps so that it can, and every function is checked in the heap afterwards);
 * - it stops the process for a time that grows with the heap and, faster, with the script (measured here, Node 20:
 *   13 ms at a 5 MB heap, 418 ms at 129 MB; 150 ms for a 250 KB script, 7.2 s for 1 MB, 27 s for 2 MB; a dry run
 *   costs the same): a script whose estimate is over the bound keeps breakpoints, and the report says so;
 * - Node 26's V8 no longer has it at all (NoLiveEditError).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { AgentConfig, AgentReport } from '../../wire/agent-report';
import { Agent, RECORDER_GLOBAL } from '../agent';
import { heapBinding } from '../heap-reader';
import { InspectorConnection, ProtocolCallError } from '../inspector-connection';
import type { ScriptParsedEvent } from '../inspector-connection';
import { isProgramScript } from '../scripts';
import { DEFAULT_MAX_EDIT_PAUSE_MS } from '../../wire/attach-protocol';
import { PROBE_GLOBAL } from '../../instrument/instrument';
import { planLiveEdit } from './module-plan';
import type { LiveEditPlan, ModulePlan } from './module-plan';
import { ProbeAgent } from './probe-agent';

interface EditResult {
  status?: string;
  exceptionDetails?: { text?: string };
}

/** A script with marked functions, from its plan to its last edit. */
interface ScriptWork {
  script: ScriptParsedEvent;
  live: LiveEditPlan;
  /** The script's text before lineprof: what detach puts back. */
  original: string;
  /** How many of live.steps the script has now. */
  applied: number;
  /** Breakpoints for its functions while the edit cannot be made. */
  fallback?: Agent;
  /** Breakpoints for good: the edit would stop the process too long. */
  keepBreakpoints?: boolean;
  /** Not before this time (ms, Date.now) is the edit tried again; the wait doubles with each refusal. */
  retryAt: number;
  retryDelayMs: number;
  /** The fallback's call count at the last refusal: a call seen since (one that began before the attach may just
   * have ended, unseen as open) makes the next try due at once. */
  callsAtRefusal: number;
  /** A call seen since the last refusal made one try due at once; the next waits for the back-off. */
  shortcutTaken: boolean;
  /** The one collection asked for this script has been made. */
  collected: boolean;
  /** The edit, refused with a function of the script on the stack, is (or was) to be tried again from a microtask. */
  emptyStackRetryQueued: boolean;
}

/** V8 no longer has LiveEdit (Node 26): attach uses breakpoints throughout (or says so, with --engine probes). */
export class NoLiveEditError extends Error {
  constructor() {
    super(`this Node (${process.version}) has no LiveEdit (V8 removed Debugger.setScriptSource): attach with --engine breakpoints`);
  }
}

/** A refused edit is tried again after this, doubling up to MAX_RETRY_MS (each try stops the process, as an edit). */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5_000;
/** How long the task lineprof's start interrupted may run on before its script's functions get breakpoints. */
const TASK_WAIT_MS = 100;
/** How often the open calls of a script read by breakpoints are looked at. */
const POLL_MS = 100;
/** A restore refused this many times gets a full collection (a finished async call keeps the edit blocked until
 * one, on Node 24), then more tries. */
const RESTORE_TRIES_BEFORE_GC = 5;
/** The pause model, measured on this machine (see above): ms per MB of heap, ms per KB² of script. */
const PAUSE_MS_PER_HEAP_MB = 3.3;
const PAUSE_MS_PER_SCRIPT_KB2 = 0.0065;

/** The pause one edit of a script of this many characters is expected to cost, at the heap in use now. */
export function estimatePauseMs(scriptChars: number, heapUsedBytes: number): number {
  const kb = scriptChars / 1024;
  return PAUSE_MS_PER_HEAP_MB * (heapUsedBytes / 1048576) + PAUSE_MS_PER_SCRIPT_KB2 * kb * kb;
}

export class LiveEditAgent {
  private readonly probes: ProbeAgent;
  private readonly connection: InspectorConnection;
  /** Scripts with marked functions, by scriptId, until detach. */
  private readonly work = new Map<string, ScriptWork>();
  /** Scripts whose first edit was refused because a function of theirs was on the stack: tried again from a
   * microtask, which runs once the stack is empty. */
  private readonly awaitingEmptyStack = new Set<string>();
  /** Scripts whose edit took (some steps or all): put back on detach. */
  private readonly edited = new Set<string>();
  /** Scripts parsed after the start, planned from a timer. */
  private readonly arrived: ScriptParsedEvent[] = [];
  /** Breakpoint agents whose scripts got their probes: their figures, taken at the switch. */
  private readonly fallbackReports: AgentReport[] = [];
  /** Breakpoint agents, for good, for marked functions that cannot take probes (an expression-bodied arrow). */
  private readonly skippedAgents: Agent[] = [];
  private readonly warnings: string[] = [];
  /** Functions (file:startLine) whose closures kept their old code: left out of the report. */
  private readonly unpatched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private starting = true;
  /**
   * LiveEdits are being made (a count: a stop may come in the middle): the script objects V8 reports meanwhile hold
   * the replaced text, not new code.
   */
  private editing = 0;
  private stopped = false;
  /** When the first edit that waits for the interrupted task to end was refused (Date.now). */
  private taskWaitFrom = 0;
  private restoreTries = 0;
  private fallbackCount = 0;
  private readonly maxPauseMs: number;
  /** Milliseconds each edit stopped the process for, in order. */
  readonly editPauses: number[] = [];
  /** V8's status the last time it refused to put a script back. */
  private lastRefusal = '';

  constructor(private readonly config: AgentConfig) {
    this.probes = new ProbeAgent(config);
    this.connection = new InspectorConnection((event) => this.onScript(event));
    this.maxPauseMs = config.maxEditPauseMs ?? DEFAULT_MAX_EDIT_PAUSE_MS;
  }

  /**
   * Plans every loaded script now (so that what the selection matched is known when this returns) and makes the
   * edits from a timer: this runs inside the controller's evaluation, which may have interrupted a marked function.
   */
  start(): void {
    this.probes.installRuntime(true);
    // The scripts loaded so far arrive as scriptParsed notifications inside this call.
    this.connection.post('Debugger.enable', { maxScriptsCacheSize: 0 });
    this.starting = false;
    // Made now: on a Node without LiveEdit the first edit throws here, before anything else is changed (an edit
    // refused because the evaluation interrupted a function of the script is tried again once that task is over).
    this.tick(true);
  }

  callCount(): number {
    return this.probes.callCount() + this.fallbacks().reduce((n, a) => n + a.callCount(), 0) + this.fallbackReports.reduce((n, r) => n + r.functions.reduce((m, f) => m + f.calls, 0), 0);
  }

  hitCount(): number {
    return this.probes.hitCount() + this.fallbacks().reduce((n, a) => n + a.hitCount(), 0) + this.fallbackReports.reduce((n, r) => n + r.stats.hits, 0);
  }

  report(final: boolean): AgentReport {
    const breakpointReports = [...this.fallbackReports, ...this.fallbacks().map((a) => a.report(final))];
    const report = this.probes.report(final);
    report.functions = report.functions
      .filter((f) => !this.unpatched.has(`${f.file}:${f.startLine}`))
      .map((f) => ({ ...f, engine: 'probes' as const }));
    // A function read by both engines is one function in the result (buildFunctionProfiles adds up the reports of
    // one function, engines included).
    for (const r of breakpointReports) {
      for (const f of r.functions) {
        // One left with its old code by an edit may be out of the breakpoints' reach too (its closures hang on to a
        // script V8 no longer lists): no calls seen is not shown as "no calls".
        if (f.calls === 0 && this.unpatched.has(`${f.file}:${f.startLine}`)) continue;
        report.functions.push({ ...f, engine: 'breakpoints' });
      }
      for (const w of r.warnings) if (!report.warnings.includes(w)) report.warnings.push(w);
    }
    if (final) {
      this.stop();
      if (this.edited.size > 0) {
        this.warn(`${this.edited.size} script(s) are put back once their running calls are done (V8 refused it while they run: ${this.lastRefusal})`);
      }
    }
    report.warnings.push(...this.warnings.filter((w) => !report.warnings.includes(w)));
    report.stats.editPausesMs = [...this.editPauses];
    if (this.awaitingEmptyStack.size > 0) report.stats.editsAwaitingTask = this.awaitingEmptyStack.size;
    return report;
  }

  /**
   * Puts every script back as it was and takes the breakpoints out. A restore refused (a function of the script is
   * running or suspended) is tried again from a timer; the probes stay, recording nothing, until every script is
   * back, then go.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.probes.stop();
    // Called in the middle of an edit (the controller's evaluation ran at an interrupt of it): that edit ends first,
    // and restores.
    if (this.editing > 0) return;
    this.finishStop();
  }

  private finishStop(): void {
    for (const agent of this.fallbacks()) agent.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.restore();
  }

  private fallbacks(): Agent[] {
    return [...[...this.work.values()].flatMap((w) => (w.fallback ? [w.fallback] : [])), ...this.skippedAgents];
  }

  private restore(): void {
    for (const scriptId of [...this.edited]) {
      try {
        this.unedit(scriptId, this.work.get(scriptId)!);
      } catch (err) {
        this.warn(`putting ${this.work.get(scriptId)!.script.url} back failed (${(err as Error).message}): tried again`);
      }
    }
    if (this.edited.size === 0) {
      const kept = this.probedFunctionsLeft();
      this.work.clear();
      if (kept > 0) {
        // V8 left some closure with the instrumented code: probes that do nothing stay, so that it runs on.
        this.warn(`${kept} function(s) kept lineprof's probes after detach (V8 could not match them); they call a no-op until the process restarts`);
        this.probes.leaveNoOpRuntime();
      } else {
        this.probes.removeRuntime();
      }
      this.connection.post('Debugger.disable');
      this.connection.close();
      return;
    }
    if (++this.restoreTries === RESTORE_TRIES_BEFORE_GC) collectGarbage();
    // The first try again comes as soon as the program's stack is empty: the controller's request may have been
    // handled at an interrupt inside a marked function, which then blocks its own script's edit (seen 1 run in 10 on
    // a loaded machine). After that each try stops the process like an edit: the wait doubles.
    const wait = this.restoreTries === 1 ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.restoreTries - 2, 10));
    this.timer = setTimeout(() => this.guarded(() => this.restore()), wait);
    this.timer.unref();
  }

  private onScript(event: ScriptParsedEvent): void {
    if (this.stopped || this.editing > 0 || !isProgramScript(event.url, this.config.includeNodeModules)) return;
    this.arrived.push(event);
    if (!this.starting) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.guarded(() => this.tick());
    }, delayMs);
    this.timer.unref();
  }

  /** Between the program's tasks: plans the scripts that arrived, and makes the edits that are due. */
  private tick(starting = false): void {
    if (this.stopped) return;
    for (const script of this.arrived.splice(0)) this.guarded(() => this.plan(script));
    const now = Date.now();
    let waiting = false;
    for (const [scriptId, w] of this.work) {
      if (w.keepBreakpoints || w.applied >= w.live.steps.length) continue;
      waiting = true;
      if (this.awaitingEmptyStack.has(scriptId)) continue;
      const active = !w.shortcutTaken && w.fallback !== undefined && w.fallback.callCount() !== w.callsAtRefusal;
      if ((now < w.retryAt && !active) || (w.fallback && w.fallback.openCallCount() > 0)) continue;
      w.shortcutTaken = now < w.retryAt;
      try {
        if (!this.editNow(scriptId, w)) return;
      } catch (err) {
        if (starting || !(err instanceof NoLiveEditError)) throw err;
        // Nothing was edited before (the first edit is made at the start): breakpoints for every script from now.
        this.warn(`${err.message.replace(/: attach with.*/, '')}: read by breakpoints`);
        for (const each of this.work.values()) {
          if (each.applied > 0) continue; // edited already: its probes read it
          each.keepBreakpoints = true;
          if (!each.fallback) this.startFallback(each);
        }
        return;
      }
    }
    if (waiting) this.schedule(POLL_MS);
  }

  /** Makes the script's edit; false if a stop came in the middle of it (and has now been carried out). */
  private editNow(scriptId: string, w: ScriptWork): boolean {
    this.editing++;
    try {
      this.edit(scriptId, w);
    } finally {
      this.editing--;
    }
    if (!this.stopped) return true;
    // A stop came in the middle: what it could not do is done now.
    this.finishStop();
    return false;
  }

  /** The microtask after a start whose edit found a function of the script on the stack: it is not any more. */
  private editAtEmptyStack(scriptId: string): void {
    if (!this.awaitingEmptyStack.delete(scriptId) || this.stopped) return;
    const w = this.work.get(scriptId);
    if (w && !w.keepBreakpoints && w.applied < w.live.steps.length) this.editNow(scriptId, w);
  }

  /**
   * A request of the controller's after the start (it asks again while `editsAwaitingTask` says an edit waits). An
   * edit still waiting for its microtask came in a task that has not ended. Once that task has run for
   * TASK_WAIT_MS it is taken for one that never returns: the edit is tried once more (the function may have
   * returned, the task going on), and if refused again the script's marked functions are read by breakpoints
   * meanwhile, the edit tried again as any refused one.
   */
  onControllerRequest(): void {
    if (this.awaitingEmptyStack.size === 0 || Date.now() - this.taskWaitFrom < TASK_WAIT_MS) return;
    const waiting = [...this.awaitingEmptyStack];
    this.awaitingEmptyStack.clear();
    for (const scriptId of waiting) {
      const w = this.work.get(scriptId);
      if (w && !this.stopped && !w.keepBreakpoints && w.applied < w.live.steps.length) this.editNow(scriptId, w);
    }
  }

  private plan(script: ScriptParsedEvent): void {
    let source: string;
    try {
      source = this.connection.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId: script.scriptId }).scriptSource;
    } catch {
      return; // gone since
    }
    const live = planLiveEdit({
      source,
      url: script.url,
      isModule: script.isModule === true,
      selection: this.config.selection,
      reserveIds: (count) => this.probes.reserveIds(count),
    });
    for (const s of live.skipped) this.warn(`${s.name} in ${script.url}: read by breakpoints, as ${s.reason} cannot take probes`);
    // The selectors it matched and its warnings count even when nothing in it is edited.
    this.probes.register({ ...live.plan, functions: [] });
    if (live.steps.length === 0) {
      this.startSkipped(script, live);
      return;
    }
    const w: ScriptWork = { script, live, original: source, applied: 0, retryAt: 0, retryDelayMs: FIRST_RETRY_MS, callsAtRefusal: 0, shortcutTaken: false, collected: false, emptyStackRetryQueued: false };
    this.work.set(script.scriptId, w);
    if (live.unsafe) {
      w.keepBreakpoints = true;
      this.warn(`${functionNames(live.plan, live.plan.functions.map((_, i) => i))} in ${script.url}: read by breakpoints, as LiveEdit could not match them (${live.unsafe})`);
      this.startFallback(w);
      return;
    }
    const pause = estimatePauseMs(source.length, readHeapUsed()) * live.steps.length;
    if (pause > this.maxPauseMs) {
      w.keepBreakpoints = true;
      this.warn(
        `${functionNames(live.plan, live.plan.functions.map((_, i) => i))} in ${script.url}: read by breakpoints, as an edit would stop the ` +
          `process for ~${Math.round(pause)} ms in ${live.steps.length} edits (over --max-edit-pause ${this.maxPauseMs} ms)`,
      );
      this.startFallback(w);
    }
  }

  /**
   * Makes every step of the script's edit in this one task (no program code runs between them). A first step
   * refused leaves the script as it was; a later one failing puts it back.
   */
  private edit(scriptId: string, w: ScriptWork): void {
    const { live } = w;
    const plan = live.plan;
    for (; w.applied < live.steps.length; w.applied++) {
      const code = live.steps[w.applied]!;
      let status = this.setSource(scriptId, code);
      if (status === 'BlockedByActiveGenerator' && w.applied === 0 && !w.collected && w.fallback && w.fallback.openCallCount() === 0) {
        w.collected = true;
        // No call of the script is open, yet V8 (Node 22, 24) counts a finished async call as suspended until its
        // generator object is collected: one full collection, then the edit again.
        collectGarbage();
        status = this.setSource(scriptId, code);
      }
      if (status === 'gone') {
        this.work.delete(scriptId);
        this.edited.delete(scriptId);
        return;
      }
      if (status === 'Ok') {
        this.edited.add(scriptId);
        continue;
      }
      if (w.applied > 0) {
        this.warn(`the edit of ${w.script.url} failed part way (${status}): it is put back, and read by breakpoints`);
        this.unedit(scriptId, w);
        w.keepBreakpoints = true;
        if (!w.fallback) this.startFallback(w);
        return;
      }
      if (status === 'BlockedByActiveFunction' && !w.fallback && !w.emptyStackRetryQueued) {
        // The controller's request ran at an interrupt inside a function of the script (a busy server: seen in 4
        // attaches in 10 under load). Once that task is over it is off the stack: the edit is tried again from a
        // microtask, before breakpoints are set for nothing (1,000 of them take seconds to set and to remove). What
        // the rest of that task runs of the marked functions is read by neither engine, as a call before the attach.
        w.emptyStackRetryQueued = true;
        if (this.awaitingEmptyStack.size === 0) this.taskWaitFrom = Date.now();
        this.awaitingEmptyStack.add(scriptId);
        queueMicrotask(() => this.guarded(() => this.editAtEmptyStack(scriptId)));
        return;
      }
      this.refused(w, status);
      return;
    }
    // No program code ran since the first step: the functions' probes are known before any of them fires, and the
    // breakpoints go (their figures kept).
    this.probes.register(plan);
    if (w.fallback) {
      this.fallbackReports.push(w.fallback.report(true));
      w.fallback = undefined;
    }
    if (this.verify(w)) {
      this.startSkipped(w.script, live);
      return;
    }
    // Some function kept its old code: the script is put back as it was and read by breakpoints from now on.
    this.unedit(scriptId, w);
    w.keepBreakpoints = true;
    this.startFallback(w);
  }

  /**
   * A first step refused: a function of the script is on the stack or has a suspended call. Breakpoints read its
   * marked functions meanwhile; tried again once they have no open call, and not before the wait is over.
   */
  private refused(w: ScriptWork, status: string): void {
    if (!w.fallback) {
      this.warn(`${functionNames(w.live.plan, w.live.plan.functions.map((_, i) => i))} in ${w.script.url}: read by breakpoints until the edit is taken (${status})`);
      this.startFallback(w);
    }
    w.retryAt = Date.now() + w.retryDelayMs;
    w.retryDelayMs = Math.min(MAX_RETRY_MS, w.retryDelayMs * 2);
    w.callsAtRefusal = w.fallback?.callCount() ?? 0;
  }

  /**
   * Takes the script's edits back in the reverse order (each undoes one step, so V8 matches its functions as it did
   * going in). False if V8 refused one: tried again later from where it stopped.
   */
  private unedit(scriptId: string, w: ScriptWork): boolean {
    while (w.applied > 0) {
      const status = this.setSource(scriptId, w.applied === 1 ? w.original : w.live.steps[w.applied - 2]!);
      if (status === 'gone') {
        w.applied = 0;
        break;
      }
      if (status !== 'Ok') {
        this.lastRefusal = status;
        return false;
      }
      w.applied--;
    }
    this.edited.delete(scriptId);
    return true;
  }

  /** A breakpoint agent for the script's marked functions (those probes cannot take too), by their first lines. */
  private startFallback(w: ScriptWork): void {
    const lines = [...w.live.plan.functions.map((f) => ({ file: f.file, line: f.startLine })), ...w.live.skipped];
    w.fallback = this.breakpointAgent(w.script, lines);
  }

  /** Breakpoints, for good, for the functions of a script that probes cannot take, once its edits are in. */
  private startSkipped(script: ScriptParsedEvent, live: LiveEditPlan): void {
    if (live.skipped.length === 0) return;
    const agent = this.breakpointAgent(script, live.skipped);
    if (agent) this.skippedAgents.push(agent);
  }

  private breakpointAgent(script: ScriptParsedEvent, lines: Array<{ file: string; line: number }>): Agent | undefined {
    const agent = new Agent(
      { ...this.config, engine: 'breakpoints', selection: { markers: false, functions: [], lines: lines.map(({ file, line }) => ({ file, line })) } },
      `${RECORDER_GLOBAL}${++this.fallbackCount}`,
      script.scriptId,
    );
    try {
      agent.start();
      return agent;
    } catch (err) {
      agent.stop();
      this.warn(`breakpoints could not be set in ${script.url} (${(err as Error).message}): its calls are missed`);
      return undefined;
    }
  }

  /**
   * V8 may answer Ok and leave a function's closures with their old code. Every function in the heap is looked at
   * (Runtime.queryObjects, a heap walk like the edit's own): one named as a marked function, whose text ends with
   * that function's original body and holds no probe, still runs without probes. False if one does (each is named in a warning).
   */
  private verify(w: ScriptWork): boolean {
    const { live } = w;
    const names = new Set(live.originals.map((o) => o.simpleName));
    const functions = this.liveFunctions(`the edit of ${w.script.url}`);
    const toText = Function.prototype.toString;
    for (const fn of functions) {
      // Objects that only inherit from Function.prototype are in the list too.
      if (typeof fn !== 'function' || (!names.has(fn.name) && fn.name !== '')) continue;
      const text = toText.call(fn);
      // (An expression-bodied arrow's probes are all in front of its body: its text still ends with it.)
      if (text.includes(`${PROBE_GLOBAL}.`)) continue;
      live.originals.forEach((original, index) => {
        if ((fn.name === original.simpleName || fn.name === '') && text.endsWith(original.body)) {
          const planned = live.plan.functions[index]!;
          const at = `${planned.file}:${planned.startLine}`;
          if (this.unpatched.has(at)) return;
          this.unpatched.add(at);
          this.warn(`${planned.name} (${at}) kept its old code after the edit (V8 could not match it): its script is read by breakpoints, which may not see it`);
        }
      });
    }
    return !live.plan.functions.some((f) => this.unpatched.has(`${f.file}:${f.startLine}`));
  }

  /** Every function in the heap (Runtime.queryObjects: a heap walk); none if it cannot be had (said so). */
  private liveFunctions(what: string): Function[] {
    const group = 'lineprof-functions';
    const key = Symbol.for('lineprof.liveFunctions');
    const holder = globalThis as Record<symbol, unknown>;
    try {
      const proto = this.connection.post<{ result: { objectId: string } }>('Runtime.evaluate', { expression: 'Function.prototype', objectGroup: group });
      const all = this.connection.post<{ objects: { objectId: string } }>('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId, objectGroup: group });
      this.connection.post('Runtime.callFunctionOn', {
        objectId: all.objects.objectId,
        functionDeclaration: `function () { globalThis[Symbol.for('lineprof.liveFunctions')] = this; }`,
        objectGroup: group,
      });
      return (holder[key] as Function[] | undefined) ?? [];
    } catch (err) {
      this.warn(`could not check ${what} (${(err as Error).message})`);
      return [];
    } finally {
      delete holder[key];
      try {
        this.connection.post('Runtime.releaseObjectGroup', { objectGroup: group });
      } catch {
        // nothing held
      }
    }
  }

  /** Closures of the marked functions that still run instrumented code after every script was put back. */
  private probedFunctionsLeft(): number {
    const names = new Set([...this.work.values()].flatMap((w) => w.live.originals.map((o) => o.simpleName)));
    const marker = `${PROBE_GLOBAL}.`;
    let left = 0;
    for (const fn of this.liveFunctions('that every script is back')) {
      if (typeof fn !== 'function' || (!names.has(fn.name) && fn.name !== '')) continue;
      if (Function.prototype.toString.call(fn).includes(marker)) left++;
    }
    return left;
  }

  /** `Ok`, V8's status of a refused edit, or `gone` when the script no longer exists. */
  private setSource(scriptId: string, scriptSource: string): string {
    const started = process.hrtime.bigint();
    this.editing++;
    try {
      const result = this.connection.post<EditResult>('Debugger.setScriptSource', { scriptId, scriptSource });
      this.editPauses.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (result.exceptionDetails) return `compile error: ${result.exceptionDetails.text ?? 'unknown'}`;
      return result.status ?? 'Ok';
    } catch (err) {
      if (err instanceof ProtocolCallError && /no longer available/.test(err.message)) throw new NoLiveEditError();
      if (err instanceof ProtocolCallError && /No script/i.test(err.message)) return 'gone';
      throw err;
    } finally {
      this.editing--;
    }
  }

  /** Work from the agent's timers: a failure there is reported, never thrown into the program. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.warn(`lineprof's agent failed (${(err as Error).message}): some figures may be missing`);
    }
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}

function functionNames(plan: ModulePlan, functions: number[]): string {
  return functions.map((i) => plan.functions[i]!.name).join(', ');
}

/**
 * One full collection, now. (HeapProfiler.collectGarbage answers asynchronously from V8 12 on, so a same-thread
 * session cannot wait for it.) V8's gc function is made in a context of its own while --expose-gc is on, and the
 * flag is turned off again: the program's contexts never see it.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  try {
    (vm.runInNewContext('gc') as () => void)();
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

function readHeapUsed(): number {
  const heap = heapBinding();
  heap.updateHeapStatisticsBuffer();
  return heap.heapStatisticsBuffer[heap.kUsedHeapSizeIndex]!;
}
