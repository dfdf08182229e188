/**
 * The probe engine in a process lineprof attached to: the scripts that hold marked functions are replaced, through
 * a same-thread inspector session, by their instrumented text (`Debugger.setScriptSource`, V8's LiveEdit), and put
 * back on detach. The probes, their log and the attribution are run mode's (ProbeAgent); only the way the
 * instrumented code gets in differs.
 *
 * What V8 does with an edit (DESIGN.md §10, and measured here): closures made before it run the new code; it is
 * refused while a function of the script is on the stack or has a suspended call; it can answer Ok and leave a
 * function with its old code when it cannot match old and new functions (planLiveEdit edits in steps so that it
 * can, and every function is checked afterwards); Node 26's V8 no longer has it at all.
 */
import type { AgentConfig, AgentReport } from '../../model/types';
import { InspectorConnection, ProtocolCallError } from '../inspector-connection';
import type { ScriptParsedEvent } from '../inspector-connection';
import { isProgramScript } from '../scripts';
import { planLiveEdit } from './module-plan';
import type { LiveEditPlan, ModulePlan } from './module-plan';
import { ProbeAgent } from './probe-agent';

interface EditResult {
  status?: string;
  exceptionDetails?: { text?: string };
}

interface PendingEdit {
  script: ScriptParsedEvent;
  live: LiveEditPlan;
  source: string;
  next: number;
}

interface EditedScript {
  url: string;
  original: string;
}

/** Where a script found while profiling waits to be edited: a refused edit is tried again. */
const RETRY_MS = 200;
/** A script whose restore is refused this many times gets a full collection (a finished async call's generator
 * object keeps the edit blocked until one, on Node 24), then more tries. */
const RESTORE_TRIES_BEFORE_GC = 5;

export class LiveEditAgent {
  private readonly probes: ProbeAgent;
  private readonly connection: InspectorConnection;
  private readonly edited = new Map<string, EditedScript>();
  /** Scripts to edit (loaded after the start, or refused): scriptId → its event. */
  private readonly waiting = new Map<string, ScriptParsedEvent>();
  /** A refused script's plan and the step to go on from (the same probe ids when it is taken). */
  private readonly refused = new Map<string, PendingEdit>();
  private readonly warnings: string[] = [];
  /** Functions (file:startLine) whose closures kept their old code: left out of the report. */
  private readonly unpatched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private starting = true;
  private stopped = false;
  private restoreTries = 0;
  /** Milliseconds each edit stopped the process for, in order. */
  readonly editPauses: number[] = [];

  constructor(private readonly config: AgentConfig) {
    this.probes = new ProbeAgent(config);
    this.connection = new InspectorConnection((event) => this.onScript(event));
  }

  start(): void {
    this.probes.installRuntime();
    // The scripts loaded so far arrive as scriptParsed notifications inside this call.
    this.connection.post('Debugger.enable');
    this.starting = false;
    const first = [...this.waiting.values()];
    this.waiting.clear();
    for (const script of first) this.edit(script);
    this.schedule();
  }

  callCount(): number {
    return this.probes.callCount();
  }

  hitCount(): number {
    return this.probes.hitCount();
  }

  report(final: boolean): AgentReport {
    const report = this.probes.report(final);
    report.functions = report.functions.filter((f) => !this.unpatched.has(`${f.file}:${f.startLine}`));
    report.warnings.push(...this.warnings.filter((w) => !report.warnings.includes(w)));
    report.stats.editPausesMs = [...this.editPauses];
    if (final) this.stop();
    return report;
  }

  /**
   * Puts every script back as it was. A restore refused (a function of the script is running or suspended) is
   * tried again from a timer; the probes stay, recording nothing, until every script is back, then go.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.probes.stop();
    this.waiting.clear();
    this.refused.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.restore();
  }

  /** Scripts not restored yet (the controller reports them). */
  get unrestored(): number {
    return this.edited.size;
  }

  private restore(): void {
    for (const [scriptId, script] of this.edited) {
      const result = this.setSource(scriptId, script.original);
      if (result === 'Ok' || result === 'gone') this.edited.delete(scriptId);
    }
    if (this.edited.size === 0) {
      this.probes.removeRuntime();
      this.connection.post('Debugger.disable');
      this.connection.close();
      return;
    }
    if (++this.restoreTries === RESTORE_TRIES_BEFORE_GC) this.connection.post('HeapProfiler.collectGarbage');
    this.timer = setTimeout(() => this.restore(), RETRY_MS);
    this.timer.unref();
  }

  private onScript(event: ScriptParsedEvent): void {
    if (this.stopped || !isProgramScript(event.url, this.config.includeNodeModules)) return;
    this.waiting.set(event.scriptId, event);
    if (!this.starting) this.schedule();
  }

  /** Waiting scripts are edited from a timer: between the program's tasks, with none of its functions running. */
  private schedule(): void {
    if (this.timer || this.waiting.size === 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const scripts = [...this.waiting.values()];
      this.waiting.clear();
      for (const script of scripts) this.edit(script);
      this.schedule();
    }, 0);
    this.timer.unref();
  }

  private edit(script: ScriptParsedEvent): void {
    let work = this.refused.get(script.scriptId);
    this.refused.delete(script.scriptId);
    if (!work) {
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
      for (const s of live.skipped) this.warn(`${s.name} in ${script.url} is not profiled: ${s.reason} cannot be edited with probes`);
      // The selectors it matched and its warnings count even when nothing in it is edited.
      this.probes.register({ ...live.plan, functions: [] });
      if (live.steps.length === 0) return;
      work = { script, live, source, next: 0 };
    }
    const { live, source } = work;
    const plan = live.plan;
    for (; work.next < live.steps.length; work.next++) {
      const step = live.steps[work.next]!;
      const status = this.setSource(script.scriptId, step.code);
      if (status === 'gone') return;
      if (status !== 'Ok') {
        // Refused (a function of the script is on the stack or suspended): tried again from this step, later.
        this.warnRefused(script, plan, step.functions, status);
        this.refused.set(script.scriptId, work);
        this.waiting.set(script.scriptId, script);
        return;
      }
      if (!this.edited.has(script.scriptId)) this.edited.set(script.scriptId, { url: script.url, original: source });
      // No program code runs between the edit and this: the functions' probes are known before any of them fires.
      this.probes.register({ ...plan, functions: plan.functions.filter((_, i) => step.functions.includes(i)) });
    }
    this.verify(script, live);
  }

  /**
   * V8 may answer Ok and leave a function's closures with their old code. Every function in the heap is looked at
   * (Runtime.queryObjects, a heap walk like the edit's own): one named as a marked function, whose text ends with
   * that function's original body, still runs without probes. Such a function is reported as not profiled.
   */
  private verify(script: ScriptParsedEvent, live: LiveEditPlan): void {
    const names = new Set(live.originals.map((o) => o.simpleName));
    const group = 'lineprof-verify';
    const key = Symbol.for('lineprof.liveFunctions');
    const holder = globalThis as Record<symbol, unknown>;
    let functions: Function[] = [];
    try {
      const proto = this.connection.post<{ result: { objectId: string } }>('Runtime.evaluate', { expression: 'Function.prototype', objectGroup: group });
      const all = this.connection.post<{ objects: { objectId: string } }>('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId, objectGroup: group });
      this.connection.post('Runtime.callFunctionOn', {
        objectId: all.objects.objectId,
        functionDeclaration: `function () { globalThis[Symbol.for('lineprof.liveFunctions')] = this; }`,
        objectGroup: group,
      });
      functions = (holder[key] as Function[] | undefined) ?? [];
    } catch (err) {
      this.warn(`could not check the edit of ${script.url} (${(err as Error).message}): its figures may miss calls`);
    } finally {
      delete holder[key];
      try {
        this.connection.post('Runtime.releaseObjectGroup', { objectGroup: group });
      } catch {
        // nothing held
      }
    }
    const toText = Function.prototype.toString;
    for (const fn of functions) {
      // Objects that only inherit from Function.prototype are in the list too.
      if (typeof fn !== 'function' || (!names.has(fn.name) && fn.name !== '')) continue;
      const text = toText.call(fn);
      live.originals.forEach((original, index) => {
        if ((fn.name === original.simpleName || fn.name === '') && text.endsWith(original.body)) {
          const planned = live.plan.functions[index]!;
          const key = `${planned.file}:${planned.startLine}`;
          if (this.unpatched.has(key)) return;
          this.unpatched.add(key);
          this.warn(`${planned.name} (${key}) kept its old code after the edit (V8 could not match it): not profiled`);
        }
      });
    }
  }

  private warnRefused(script: ScriptParsedEvent, plan: ModulePlan, functions: number[], status: string): void {
    const names = functions.map((i) => plan.functions[i]!.name).join(', ');
    this.warn(`${names} in ${script.url}: the edit was refused (${status}); tried again until it is taken`);
  }

  /** `Ok`, V8's status of a refused edit, or `gone` when the script no longer exists. */
  private setSource(scriptId: string, scriptSource: string): string {
    const started = process.hrtime.bigint();
    try {
      const result = this.connection.post<EditResult>('Debugger.setScriptSource', { scriptId, scriptSource });
      this.editPauses.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (result.exceptionDetails) return `compile error: ${result.exceptionDetails.text ?? 'unknown'}`;
      return result.status ?? 'Ok';
    } catch (err) {
      if (err instanceof ProtocolCallError && /no longer available/.test(err.message)) {
        throw new Error(`this Node (${process.version}) has no LiveEdit (V8 removed Debugger.setScriptSource): attach with --engine breakpoints`);
      }
      if (err instanceof ProtocolCallError && /No script/i.test(err.message)) return 'gone';
      throw err;
    }
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}
