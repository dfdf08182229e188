/**
 * The probe engine's agent, in the program's main thread: it instruments the marked functions as their modules load
 * (CommonJS here, through `Module.prototype._compile`, which sees the final JavaScript after any TypeScript loader;
 * ES modules on Node's loader thread, src/agent/probes/esm-loader.ts, whose plans arrive on a message port), owns
 * the probe runtime, and turns its log into the per-line figures of the AgentReport.
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { ProbeAttributor } from '../../attribution/probe-attributor';
import { PROBE_GLOBAL } from '../../instrument/instrument';
import type { AgentConfig, AgentFunctionReport, AgentReport } from '../../wire/agent-report';
import { fileOf, isProgramScript } from '../scripts';
import { LogReplay } from './log';
import { instrumentEsm } from './esm-loader';
import type { LoadContext, LoadResult } from './esm-loader';
import { nodeModulesMatches, planModule } from './module-plan';
import type { ModulePlan, PlannedFunction } from './module-plan';
import { ProbeRuntime } from './runtime';
import { nodeStripsTypes, stripTypes } from './typescript';
import { installStackColumns } from './stack-columns';
import type { ColumnShifts } from '../../instrument/columns';
import { HeapTimeline } from '../timeline';

type FunctionMeta = Omit<PlannedFunction, 'probes'> & { index: number };

/** What the ES module loader thread is given (module.register's `data`). */
export interface EsmLoaderData {
  config: AgentConfig;
  /** Int32Array over a SharedArrayBuffer: [next probe id]. Both threads reserve ids from it. */
  ids: SharedArrayBuffer;
  port: MessagePort;
}

/** Calls that make the probes' code settle (feedback, optimisation) before any program code runs. */
const WARM_UP_CALLS = 30_000;
/** A probe id no module gets: the warm-up's readings are charged to nothing. */
const WARM_UP_PROBE = 0x3fffffff;

export class ProbeAgent {
  private readonly attributor = new ProbeAttributor();
  private readonly replay = new LogReplay(this.attributor);
  private readonly runtime: ProbeRuntime;
  private readonly functions: FunctionMeta[] = [];
  private readonly matchedFunctions = new Set<string>();
  private readonly matchedLines = new Set<string>();
  private readonly mappedFiles = new Set<string>();
  /** --function names that match a function in a node_modules script that was loaded (not profiled). */
  private readonly nodeModulesMatches = new Set<string>();
  private readonly nodeModulesScripts: Array<{ url: string; isModule: boolean }> = [];
  private readonly warnings: string[] = [];
  private readonly ids = new Int32Array(new SharedArrayBuffer(4));
  private readonly startedAt = Date.now();
  private readonly timeline = new HeapTimeline();
  private warmUpReadings = 0;
  /** Per instrumented script (its URL as stack frames name it: a path for CommonJS, a file: URL for ES modules). */
  private readonly columnShifts = new Map<string, ColumnShifts>();
  /** CommonJS files the load hook instrumented, which _compile must then leave as they are. */
  readonly instrumentedByHook = new Set<string>();
  private esmPort: MessagePort | undefined;
  /**
   * LINEPROF_TRACE=FILE: the raw log (Int32 records, src/agent/probes/log.ts), appended to FILE at each flush, for
   * investigating a figure. Written straight from the log, so that keeping it changes little of what it observes.
   */
  private readonly traceFd: number | undefined = process.env.LINEPROF_TRACE ? openTrace(process.env.LINEPROF_TRACE) : undefined;
  private finalReport: AgentReport | undefined;
  private stopped = false;

  constructor(private readonly config: AgentConfig) {
    this.runtime = new ProbeRuntime(
      (ints, doubles, length) => {
        this.drainPlans();
        if (this.traceFd !== undefined) this.keepTrace(ints, length);
        this.replay.replay(ints, doubles, length);
      },
      (used) => this.timeline.add(used - this.replay.ownGarbageNow),
    );
  }

  /** Puts the probes' global in place and settles their code; then hooks module loading. */
  start(): void {
    this.installRuntime();
    this.hookCommonJs();
    // Plans of ES modules may still be on their way from the loader thread when a stack is formatted.
    installStackColumns((file) => {
      this.drainPlans();
      return this.columnShifts.get(file);
    });
  }

  /**
   * The probes' global, their code settled. (Attach edits loaded scripts instead of hooking module loading, and its
   * expression-arrow probes are settled too: the setter closes with WARM_UP_PROBE + 1, no module's either.)
   */
  installRuntime(arrowProbes = false): void {
    Object.defineProperty(globalThis, PROBE_GLOBAL, { value: this.runtime.probes, configurable: true, enumerable: false, writable: false });
    const p = this.runtime.probes;
    for (let i = 0; i < WARM_UP_CALLS; i++) p.v(p.e(WARM_UP_PROBE), WARM_UP_PROBE, i);
    for (let i = 0; arrowProbes && i < WARM_UP_CALLS; i++) {
      p.a(WARM_UP_PROBE);
      p.x = i;
    }
    this.runtime.snapshot();
    this.warmUpReadings = this.runtime.stats().readings;
  }

  /** Takes the probes' global away: only once no instrumented code is left to call it (attach restored every script). */
  removeRuntime(): void {
    this.stop();
    const holder = globalThis as Record<string, unknown>;
    if (holder[PROBE_GLOBAL] === this.runtime.probes) delete holder[PROBE_GLOBAL];
  }

  /** Leaves in the probes' place functions that do nothing: for code V8 left instrumented after every restore. */
  leaveNoOpRuntime(): void {
    this.stop();
    const noOp = { e: () => 0, s: () => undefined, v: (_t: number, _p: number, value: unknown) => value, t: () => undefined, a: () => 0 };
    Object.defineProperty(noOp, 'x', { set: () => undefined });
    Object.defineProperty(globalThis, PROBE_GLOBAL, { value: noOp, configurable: true, enumerable: false, writable: false });
  }

  /** Probe readings so far (the warm-up's left out). */
  hitCount(): number {
    return this.runtime.stats().readings - this.warmUpReadings;
  }

  /** Reserves `count` consecutive probe ids and returns the first. */
  reserveIds(count: number): number {
    return Atomics.add(this.ids, 0, count);
  }

  /**
   * Registers the ES module hook; called from the `--import` that comes after every user loader. In this thread
   * through `module.registerHooks` where node has it (no loader thread, and `module.register` is deprecated on 26);
   * on Node 20 on the loader thread through `module.register`.
   */
  registerEsmHook(): void {
    const mod = Module as unknown as {
      registerHooks?: (hooks: { load: (url: string, context: LoadContext, next: (url: string, context: LoadContext) => LoadResult) => LoadResult }) => void;
      register(specifier: string, options: object): void;
    };
    if (mod.registerHooks) {
      mod.registerHooks({
        load: (url, context, next) => {
          let result = next(url, context);
          // CommonJS TypeScript that node strips itself, handed over with its source (Node 22 under load hooks, which
          // then compiles it without Module.prototype._compile): stripped and instrumented here.
          if ((result.format === 'commonjs-typescript' || result.format === 'typescript') && result.source != null && url.startsWith('file:')) {
            const file = fileOf(url);
            const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
            const js = this.stripped(text, file);
            if (js !== undefined) {
              this.instrumentedByHook.add(file);
              return { ...result, format: 'commonjs', source: this.instrumentCommonJs(js, file, text) };
            }
          }
          let shown: string | undefined;
          // TypeScript that node strips itself: stripped here as node would, so that it can be instrumented.
          if (result.format === 'module-typescript' && result.source != null) {
            shown = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
            const js = this.stripped(shown, url);
            if (js !== undefined) result = { ...result, format: 'module', source: js };
          }
          const register = (plan: Omit<ModulePlan, 'code'>) => this.register({ ...plan, code: undefined });
          return instrumentEsm(url, result, this.config, (count) => Atomics.add(this.ids, 0, count), register, shown);
        },
      });
      return;
    }
    const channel = new MessageChannel();
    this.esmPort = channel.port1;
    this.esmPort.unref();
    const data: EsmLoaderData = { config: this.config, ids: this.ids.buffer as SharedArrayBuffer, port: channel.port2 };
    mod.register(pathToFileURL(path.join(__dirname, 'esm-loader.js')).href, { data, transferList: [channel.port2] });
  }

  private hookCommonJs(): void {
    type Compile = (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;
    const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
    const original = proto._compile;
    const agent = this;
    proto._compile = function (this: unknown, content: string, filename: string, ...rest: unknown[]) {
      // Instrumented by the load hook already (its source is what node compiles now).
      if (agent.instrumentedByHook.delete(filename)) return original.call(this, content, filename, ...rest);
      // Node 23+ passes a format; TypeScript that node strips itself comes before stripping (see typescript.ts).
      if (typeof rest[0] === 'string' && /(^|-)typescript$/.test(rest[0])) {
        const js = agent.stripped(content, filename);
        // Under load hooks node has stripped it already (and strips again, which changes nothing): show the file's text.
        const shown = strippedFrom(content, filename) ?? content;
        if (js !== undefined) return original.call(this, agent.instrumentCommonJs(js, filename, shown), filename, 'commonjs', ...rest.slice(1));
      }
      return original.call(this, agent.instrumentCommonJs(content, filename), filename, ...rest);
    };
  }

  /** TypeScript stripped as node would, or undefined (left to node, uninstrumented) where it cannot be. */
  stripped(source: string, file: string): string | undefined {
    if (this.stopped || !isProgramScript(file, this.config.includeNodeModules)) return undefined;
    try {
      return stripTypes(source);
    } catch (err) {
      this.warnings.push(`could not instrument ${file}: ${(err as Error).message}`);
      return undefined;
    }
  }

  private instrumentCommonJs(content: string, filename: string, shownText = strippedFrom(content, filename)): string {
    if (this.stopped || typeof content !== 'string') return content;
    if (!isProgramScript(filename, this.config.includeNodeModules)) {
      if (isProgramScript(filename, true)) this.checkNodeModules(content, filename, false);
      return content;
    }
    try {
      const plan = planModule({
        source: content,
        url: filename,
        isModule: false,
        selection: this.config.selection,
        reserveIds: (count) => Atomics.add(this.ids, 0, count),
        shownText,
      });
      this.register(plan);
      return plan.code ?? content;
    } catch (err) {
      this.warnings.push(`could not instrument ${filename}: ${(err as Error).message}`);
      return content;
    }
  }

  /**
   * A node_modules script (not profiled) that loaded, for the hint to add --include-node-modules. Only noted: it is
   * read, searched and parsed when a report is made, since its loading may run inside a profiled line.
   */
  checkNodeModules(_source: string, url: string, isModule: boolean): void {
    if (this.config.selection.functions.length > 0) this.nodeModulesScripts.push({ url, isModule });
  }

  /** Which unmatched --function names the node_modules scripts loaded since the last report would match. */
  private lookInNodeModules(): void {
    for (const { url, isModule } of this.nodeModulesScripts.splice(0)) {
      const names = this.config.selection.functions.filter((f) => !this.matchedFunctions.has(f) && !this.nodeModulesMatches.has(f));
      if (names.length === 0) return;
      try {
        const source = fs.readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8');
        for (const name of nodeModulesMatches(source, url, isModule, names)) this.nodeModulesMatches.add(name);
      } catch {
        // Only a hint.
      }
    }
  }

  private keepTrace(ints: Int32Array, length: number): void {
    try {
      fs.writeSync(this.traceFd!, ints, 0, length * 4);
    } catch {
      // A debugging aid: its failure changes nothing.
    }
  }

  /** Plans made on the loader thread: taken before any log is replayed (their probes may be in it). */
  private drainPlans(): void {
    if (!this.esmPort) return;
    for (let m = receiveMessageOnPort(this.esmPort); m; m = receiveMessageOnPort(this.esmPort)) this.register(m.message as ModulePlan);
  }

  /** A module's probes and functions, before any of its code runs with them. */
  register(plan: ModulePlan): void {
    if (plan.columnShifts.length > 0) {
      const shifts: ColumnShifts = new Map();
      for (const [line, column, length] of plan.columnShifts) {
        let list = shifts.get(line);
        if (!list) shifts.set(line, (list = []));
        list.push([column, length]);
      }
      this.columnShifts.set(plan.url, shifts);
    }
    for (const f of plan.matchedFunctions) this.matchedFunctions.add(f);
    for (const l of plan.matchedLines) this.matchedLines.add(l);
    for (const f of plan.mappedFiles) this.mappedFiles.add(f);
    if (plan.nodeModulesScript) this.nodeModulesScripts.push({ url: plan.url, isModule: true });
    for (const w of plan.warnings) if (!this.warnings.includes(w)) this.warnings.push(w);
    for (const planned of plan.functions) {
      const { probes, ...meta } = planned;
      const index = this.attributor.addFunction();
      for (const probe of probes) this.attributor.setProbe(probe.id, { fn: index, line: probe.line, role: probe.role, maySuspend: probe.maySuspend });
      this.functions.push({ ...meta, index });
    }
  }

  /** Calls of the marked functions so far. */
  callCount(): number {
    return this.functions.reduce((sum, meta) => sum + this.attributor.callsOf(meta.index), 0);
  }

  /** The figures so far. The final report closes open calls, so take it once, when profiling ends. */
  /** Whether the runtime is in its own code (a flush): a stop at an interrupt then waits (see preload.ts). */
  busy(): boolean {
    return this.runtime.inOwnCode;
  }

  report(final: boolean): AgentReport {
    if (this.finalReport) return this.finalReport;
    this.runtime.snapshot();
    this.drainPlans();
    this.lookInNodeModules();
    if (final) {
      this.attributor.finish(this.replay.current);
      // The session's last moment: a short run still ends where it ended.
      this.timeline.add(this.replay.current.heapInUse);
    }
    const stats = this.attributor.snapshot();
    const spec = this.config.selection;
    const runtime = this.runtime.stats();
    const report: AgentReport = {
      functions: this.functions.map((meta): AgentFunctionReport => {
        const { index, ...rest } = meta;
        const s = stats[index]!;
        return {
          ...rest,
          calls: s.calls,
          openCalls: s.openCalls,
          allocatedBytes: s.allocatedBytes,
          netBytes: s.netBytes,
          externalBytes: s.externalBytes,
          maxCallNetBytes: s.maxCallNetBytes,
          lines: [...s.lines].sort((a, b) => a[0] - b[0]),
        };
      }),
      unmatched: {
        functions: spec.functions.filter((f) => !this.matchedFunctions.has(f)),
        inNodeModules: spec.functions.filter((f) => !this.matchedFunctions.has(f) && this.nodeModulesMatches.has(f)),
        lines: spec.lines.map((l) => `${l.file}:${l.line}`).filter((l) => !this.matchedLines.has(l)),
        linesOutsideFunctions: spec.lines
          .filter((l) => this.mappedFiles.has(l.file) && !this.matchedLines.has(`${l.file}:${l.line}`))
          .map((l) => `${l.file}:${l.line}`),
      },
      stats: {
        engine: 'probes',
        hits: runtime.readings - this.warmUpReadings,
        lostHits: 0,
        calibrationHits: 0,
        calibratedLocations: 0,
        forcedGcs: 0,
        userGcs: this.replay.stats.userGcs,
        jitCodeBytes: this.replay.stats.jitCodeBytes,
        sweptBytes: this.replay.stats.sweptBytes,
        unexplainedDrops: this.replay.stats.unexplainedDrops,
        collectionsBetweenLines: this.replay.stats.collectionsBetweenLines,
        freedBetweenLines: this.replay.stats.freedBetweenLines,
        medianOverheadBytes: 0,
        slowProbes: runtime.slowProbes,
        flushes: runtime.flushes,
        ...this.attributor.counters,
        locations: this.functions.length,
        durationMs: Date.now() - this.startedAt,
      },
      warnings: [...this.warnings],
      final,
      timeline: this.timeline.points(),
    };
    if (final) {
      this.finalReport = report;
      this.stop();
    }
    return report;
  }

  /** Later modules are left as they are; instrumented code keeps calling the probes (they stay, recording nothing). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.runtime.stop();
  }
}

function openTrace(file: string): number | undefined {
  try {
    return fs.openSync(file, 'w');
  } catch {
    return undefined;
  }
}

/**
 * The TypeScript a CommonJS module's JavaScript was stripped from by node itself (Node 24 strips before
 * `_compile` under load hooks): the file on disk, when its lines are the JavaScript's. Tables show what the user
 * wrote.
 */
function strippedFrom(content: string, filename: string): string | undefined {
  if (!/\.[cm]?tsx?$/.test(filename) || !nodeStripsTypes()) return undefined;
  try {
    const text = fs.readFileSync(filename, 'utf8');
    // Node may append a `//# sourceURL` line to what it stripped.
    return text !== content && text.split('\n').length <= content.split('\n').length ? text : undefined;
  } catch {
    return undefined;
  }
}
