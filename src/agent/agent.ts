/**
 * The agent: lineprof's part inside the target process. It finds the marked functions in every script as V8 parses
 * it (before the script runs, so calls made during a module's own evaluation are caught), puts a recording breakpoint
 * on their break locations and a calibration breakpoint beside each, and keeps the per-line figures.
 *
 * One same-thread session owns both kinds of breakpoint. The recording one is set by script id and location, the
 * calibration one by script hash and the same location (the protocol allows one breakpoint of each kind per
 * location). V8 evaluates the conditions of a location in the order they were set, so a calibration condition always
 * runs right after the recording one, with no user code between. (A second session would cost every hit one more
 * notification, ~12 µs.)
 */
import { pathToFileURL } from 'node:url';
import { runInThisContext } from 'node:vm';
import { Attributor } from '../attribution/attributor';
import { LocationKind, planLocations } from '../breakpoints/plan';
import type { CdpBreakLocation, PlannedLocation } from '../breakpoints/plan';
import { lineOfOffset, parseSource, SourceParseError, splitLines } from '../selection/find-functions';
import type { ParsedSource } from '../selection/find-functions';
import { functionNameMatches, mayContainSelection, selectFunctions } from '../selection/selectors';
import type { SelectedFunction } from '../selection/selectors';
import { loadSourceMap, originalViewOf } from '../sourcemap/load';
import { layoutThroughMap, namesMatchingIn, selectInScript, viewMayContainSelection } from '../sourcemap/original';
import type { OriginalView } from '../sourcemap/original';
import type { AgentConfig, AgentFunctionReport, AgentReport } from '../wire/agent-report';
import { InspectorConnection } from './inspector-connection';
import type { ScriptParsedEvent } from './inspector-connection';
import { Recorder } from './recorder';
import { fileOf, isProgramScript as isScriptOfProgram, originalLines } from './scripts';
import { SpanRecorder } from './spans';

const isProgramScript = (url: string, includeNodeModules: boolean): boolean =>
  isScriptOfProgram(url, includeNodeModules, [CALIBRATION_URL]);

const CALIBRATION_URL = 'lineprof:calibration';
/** Past this stack depth the breakpoint engine's figures are too high (measured on the same recursion: +0.1 % at 300 frames, +1.8 % at 500, +19 % at 900; 4 MiB read 1.65 GiB at 5,000). */
const DEEP_STACK_FRAMES = 500;
/**
 * Breakpoints in one function past which the user is told of V8's cost: each one set or removed re-applies every
 * breakpoint of the function (measured in-process on Node 20: 100 take 11 ms, 300 take 0.12 s, 1,000 take 3.6 s).
 */
const SLOW_BREAKPOINT_COUNT = 400;

/** The global the breakpoint conditions call. Short, because V8 compiles the condition on every hit. */
export const RECORDER_GLOBAL = '__lineprofBreak';

type FunctionMeta = Omit<
  AgentFunctionReport,
  'calls' | 'openCalls' | 'allocatedBytes' | 'netBytes' | 'externalBytes' | 'maxCallNetBytes' | 'lines'
> & {
  /** The function's index in the attributor. */
  index: number;
};

/** Where a calibration breakpoint goes: `Debugger.setBreakpointByUrl` parameters without the condition. */
interface CalibrationTarget {
  scriptHash?: string;
  url?: string;
  lineNumber: number;
  columnNumber: number;
}


export class Agent {
  private readonly attributor = new Attributor();
  private readonly recorder: Recorder;
  private readonly main: InspectorConnection;
  private readonly functions: FunctionMeta[] = [];
  private readonly calibrationBreakpoints = new Map<number, string>();
  private readonly calibrationLocations = new Map<number, CalibrationTarget>();
  private readonly matchedFunctions = new Set<string>();
  private readonly matchedLines = new Set<string>();
  /** Original files seen through the source maps of loaded scripts (a --line there that matched nothing is not inside a function). */
  private readonly mappedFiles = new Set<string>();
  /** --function names that match a function in a node_modules script that was loaded (not profiled). */
  private readonly nodeModulesMatches = new Set<string>();
  private readonly nodeModulesScripts: ScriptParsedEvent[] = [];
  private readonly warnings: string[] = [];
  private readonly startedAt = Date.now();
  private locations = 0;
  /** While measuring the break cost: the probe function's body location ids and its breakpoints. */
  private probeScript: { ids: Set<number>; breakpoints: string[] } | undefined;
  /** Scripts reported while the agent starts, instrumented once the break cost is measured. */
  private deferred: ScriptParsedEvent[] | undefined;
  private readonly locationLines: string[] = [];
  private stopped = false;
  private finalReport: AgentReport | undefined;

  /** Spans mode only. */
  private readonly spans: SpanRecorder | undefined;
  /** Spans mode: the async functions and generators, whose calls end in any order (a set: asked at every hit). */
  private readonly spansInAnyOrder = new Set<number>();

  /**
   * `globalName`: the function the breakpoint conditions call. Attach's probe engine runs one agent of its own per
   * script it cannot edit yet, each under its own name, for that script only (`scriptId`: V8 also lists the texts
   * LiveEdit replaced, as scripts of the same URL).
   */
  constructor(
    private readonly config: AgentConfig,
    private readonly globalName: string = RECORDER_GLOBAL,
    private readonly scriptId?: string,
  ) {
    this.spans =
      config.mode === 'spans'
        ? new SpanRecorder((fn) => this.spansInAnyOrder.has(fn))
        : undefined;
    this.recorder = new Recorder(
      this.attributor,
      { gcEvery: config.gcEvery, calibrationSamples: config.calibrationSamples },
      (id) => this.removeCalibration(id),
      (id) => this.setCalibration(id),
    );
    this.main = new InspectorConnection((event) => this.onScriptParsed(event));
  }

  start(): void {
    const recorder = this.recorder;
    const spans = this.spans;
    Object.defineProperty(globalThis, this.globalName, {
      value: spans
        ? (fn: number, exit: number) => spans.hit(fn, exit)
        : (id: number, calibration: number) => recorder.hit(id, calibration),
      configurable: true,
      enumerable: false,
      writable: false,
    });
    // Enabling reports every script already parsed (attach), then each new one as V8 parses it. Those already there
    // wait until the break cost is measured, so that the probe's figures stay apart.
    this.deferred = [];
    // No cache of collected scripts: every hit's condition is a script of its own, and the inspector would keep each
    // one's source once collected (the target's native memory grew ~570 B a call, 80 → 230 MB over 250,000 calls).
    this.main.post('Debugger.enable', { maxScriptsCacheSize: 0 });
    const existing = this.deferred;
    this.deferred = undefined;
    // Spans are not byte figures: no per-hit cost to measure.
    if (!spans) this.measureBreakCost();
    for (const event of existing) this.onScriptParsed(event);
  }

  /**
   * Instruments a small function of lineprof's own whose loop body allocates nothing, runs it, and lets the recorder
   * learn the per-hit cost that calibration pairs cannot see. Then removes it. Takes a few milliseconds.
   */
  private measureBreakCost(): void {
    const source =
      '(function lineprofCalibration(n) {\n  let x = 0;\n  for (let i = 0; i < n; i++) {\n' +
      '    x = x + i;\n    x = x ^ i;\n    x = x - i;\n  }\n  return x;\n})';
    this.probeScript = { ids: new Set(), breakpoints: [] };
    const fn = runInThisContext(source, { filename: CALIBRATION_URL }) as (n: number) => number;
    const probe = this.probeScript;
    this.probeScript = undefined;
    const { breakCost, trusted } = this.recorder.measureBreakCostChecked(probe.ids, () => fn(100));
    if (!trusted) {
      this.warnings.push(
        `lineprof could not measure its per-hit cost reliably and assumed ${breakCost} B: figures may be off by a ` +
          'few hundred bytes per occurrence',
      );
    }
    this.recorder.exclude(() => {
      for (const breakpointId of probe.breakpoints) this.main.post('Debugger.removeBreakpoint', { breakpointId });
      for (const id of probe.ids) this.removeCalibration(id);
    });
    this.functions.pop(); // the probe is not reported
  }

  /** The figures so far. The final report closes open calls, so take it once, when profiling ends. */
  /** Whether a hit is being recorded: a stop at an interrupt then waits (see preload.ts). */
  busy(): boolean {
    return this.recorder.inHit;
  }

  report(final: boolean): AgentReport {
    if (this.finalReport) return this.finalReport;
    if (final) this.attributor.finish(this.recorder.readNow());
    this.recorder.exclude(() => this.lookInNodeModules());
    const stats = this.attributor.snapshot();
    const spec = this.config.selection;
    const report: AgentReport = {
      functions: this.functions.map((meta) => {
        const s = stats[meta.index]!;
        return {
          ...withoutIndex(meta),
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
      stats: { ...this.recorder.finishStats(), locations: this.locations, durationMs: Date.now() - this.startedAt },
      warnings: [...this.warnings, ...this.recorderWarnings()],
      final,
      ...this.spans?.report(),
      ...(this.spans ? {} : { timeline: this.recorder.timeline.points() }),
    };
    if (final) {
      if (this.recorder.trace) Object.assign(report, { trace: this.recorder.trace, traceLines: this.locationLines });
      this.finalReport = report;
      this.stop();
    }
    return report;
  }

  /** Calls of the marked functions begun and not ended. */
  openCallCount(): number {
    return this.attributor.openCallCount;
  }

  /** Breakpoint hits recorded so far. */
  hitCount(): number {
    return this.recorder.counters.hits;
  }

  /** Calls of the marked functions so far, open ones included. */
  callCount(): number {
    return this.functions.reduce((sum, meta) => sum + this.attributor.callsOf(meta.index), 0);
  }

  private recorderWarnings(): string[] {
    const warnings: string[] = [];
    if (!this.recorder.depthExact) {
      warnings.push(
        'Error is frozen in this program: lineprof counts the stack only to Error.stackTraceLimit frames, so calls ' +
          'deeper than that are not told apart',
      );
    }
    if (this.recorder.maxDepth > DEEP_STACK_FRAMES) {
      warnings.push(
        `calls ran ${this.recorder.maxDepth} frames deep: breakpoints measure the stack at each call, whose garbage ` +
          'grows with its depth and is not all told from the program\'s past ~500 frames, so figures of deep ' +
          'recursion are too high; probes (lineprof run\'s default) have no such cost',
      );
    }
    const lost = this.recorder.counters.lostHits;
    if (lost > 0) warnings.push(`${lost} hits were lost (${this.recorder.firstFailure}): the figures miss their intervals`);
    return warnings;
  }

  /** Removes every breakpoint (closing a session removes its own) and the global. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.main.close();
    delete (globalThis as Record<string, unknown>)[this.globalName];
  }

  private onScriptParsed(event: ScriptParsedEvent): void {
    if (event.url === CALIBRATION_URL && this.probeScript) {
      this.instrumentScript(event, (parsed) => parsed.functions.map((fn) => ({ fn, reasons: [] })));
      return;
    }
    if (this.stopped || (this.scriptId !== undefined && event.scriptId !== this.scriptId)) return;
    if (!this.isCandidate(event.url)) {
      this.checkNodeModules(event);
      return;
    }
    if (this.deferred) {
      this.deferred.push(event);
      return;
    }
    try {
      this.recorder.exclude(() => this.instrumentScript(event, (parsed, file, view) => this.select(parsed, file, view)));
    } catch (err) {
      // A script already collected (V8 keeps no collected script: maxScriptsCacheSize 0) runs nothing more.
      if (/No script for id/.test((err as Error).message)) return;
      this.warnings.push(`could not instrument ${event.url}: ${(err as Error).message}`);
    }
  }

  /**
   * Sets a location's calibration breakpoint. Set while V8 reports the script, a by-hash breakpoint is resolved
   * twice (now, and again when the session finishes registering the script), so the location then has two
   * calibration conditions; the recorder takes either as a sample and one removal clears both.
   */
  private setCalibration(id: number): boolean {
    const target = this.calibrationLocations.get(id);
    if (!target || this.stopped) return false;
    try {
      const { breakpointId } = this.main.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
        ...target,
        condition: `${this.globalName}(${id},1)`,
      });
      this.calibrationBreakpoints.set(id, breakpointId);
      return true;
    } catch {
      return false;
    }
  }

  private removeCalibration(id: number): void {
    const breakpointId = this.calibrationBreakpoints.get(id);
    if (breakpointId === undefined) return;
    this.calibrationBreakpoints.delete(id);
    try {
      this.main.post('Debugger.removeBreakpoint', { breakpointId });
    } catch {
      // Already gone with its script.
    }
  }

  /** What the user marked in this script (shared with the probe engine: selectInScript). */
  private select(parsed: ParsedSource, file: string | null, view: OriginalView | undefined): SelectedFunction[] {
    const { selected, matchedLines } = selectInScript(parsed, file, view, this.config.selection);
    for (const l of matchedLines) this.matchedLines.add(`${l.file}:${l.line}`);
    for (const f of view?.files ?? []) this.mappedFiles.add(f);
    return selected;
  }

  /**
   * Spans mode: a breakpoint at the function's entry (when no loop can repeat it) and at each exit, whose condition
   * records the time and the heap.
   */
  private instrumentSpans(event: ScriptParsedEvent, name: string, fnIndex: number, planned: PlannedLocation[]): void {
    const entry = planned.find((p) => p.kind === LocationKind.Entry);
    if (!entry?.opensCall) {
      this.warnings.push(`${name} begins inside a loop: its calls cannot be told from its entry, so it has no spans`);
      return;
    }
    for (const p of planned) {
      if (p.kind !== LocationKind.Entry && p.kind !== LocationKind.Return) continue;
      try {
        this.main.post('Debugger.setBreakpoint', {
          location: { scriptId: event.scriptId, lineNumber: p.lineNumber0, columnNumber: p.columnNumber0 },
          condition: `${this.globalName}(${fnIndex},${p.kind === LocationKind.Return ? 1 : 0})`,
        });
        this.locations++;
      } catch {
        // A location V8 refuses is skipped, as in lines mode.
      }
    }
  }

  /** The script's original sources through its source map; a map that cannot be read is reported once. */
  private originalView(event: ScriptParsedEvent, file: string | null): OriginalView | undefined {
    if (!event.sourceMapURL || !file) return undefined;
    try {
      return originalViewOf(loadSourceMap(file, event.sourceMapURL));
    } catch (err) {
      // Same words as the controller's, which keeps one of each.
      this.warnings.push(`could not read the source map of ${file} (${(err as Error).message}): its lines are the generated ones`);
      return undefined;
    }
  }

  /**
   * A node_modules script (not profiled), for the hint to add --include-node-modules. Only noted: its source is
   * fetched, searched and parsed when a report is made, since it may load inside a profiled line.
   */
  private checkNodeModules(event: ScriptParsedEvent): void {
    if (this.config.selection.functions.length === 0 || this.config.selection.positions) return;
    if (isScriptOfProgram(event.url, true, [CALIBRATION_URL])) this.nodeModulesScripts.push(event);
  }

  /** Which unmatched --function names the node_modules scripts parsed since the last report would match. */
  private lookInNodeModules(): void {
    for (const event of this.nodeModulesScripts.splice(0)) {
      const names = this.config.selection.functions.filter((f) => !this.matchedFunctions.has(f) && !this.nodeModulesMatches.has(f));
      if (names.length === 0) return;
      try {
        const { scriptSource } = this.main.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId: event.scriptId });
        const file = fileOf(event.url);
        // A map that cannot be read only weakens the hint: no warning for a script lineprof does not profile.
        const view = (): OriginalView | undefined => {
          if (!event.sourceMapURL || !file) return undefined;
          try {
            return originalViewOf(loadSourceMap(file, event.sourceMapURL));
          } catch {
            return undefined;
          }
        };
        for (const name of namesMatchingIn(scriptSource, event.isModule ? 'module' : 'script', names, view)) this.nodeModulesMatches.add(name);
      } catch {
        // Only a hint (a script collected since is gone).
      }
    }
  }

  private isCandidate(url: string): boolean {
    // A function handed to the in-process API is profiled wherever it lives, and nothing else is looked at (a
    // process with hundreds of modules would otherwise have each read and its source map decoded for nothing).
    const positions = this.config.selection.positions;
    if (positions) return positions.some((p) => p.file === fileOf(url));
    return isProgramScript(url, this.config.includeNodeModules);
  }

  private instrumentScript(
    event: ScriptParsedEvent,
    select: (parsed: ParsedSource, file: string | null, view: OriginalView | undefined) => SelectedFunction[],
  ): void {
    const { scriptSource: source } = this.main.post<{ scriptSource: string }>('Debugger.getScriptSource', {
      scriptId: event.scriptId,
    });
    const file = fileOf(event.url);
    const spec = this.config.selection;
    const view = this.probeScript ? undefined : this.originalView(event, file);
    if (!this.probeScript && !mayContainSelection(source, file, spec) && !(view && viewMayContainSelection(view, spec))) {
      return;
    }
    let parsed: ParsedSource;
    try {
      parsed = parseSource(source, event.isModule ? 'module' : 'script');
    } catch (err) {
      if (err instanceof SourceParseError) {
        this.warnings.push(`could not parse ${file}:${err.line}: ${err.message}; its functions are not profiled`);
        return;
      }
      throw err;
    }
    const lines = splitLines(source);
    for (const { fn, reasons } of select(parsed, file, view)) {
      for (const name of spec.functions) if (functionNameMatches(name, fn)) this.matchedFunctions.add(name);
      for (const l of spec.lines) {
        if (view?.files.includes(l.file)) continue; // matched through the map, in original lines
        if (l.file === file && l.line >= fn.startLine && l.line <= fn.endLine) this.matchedLines.add(`${l.file}:${l.line}`);
      }
      const at = (offset: number) => {
        const line = lineOfOffset(parsed.lineStarts, offset);
        return { scriptId: event.scriptId, lineNumber: line - 1, columnNumber: offset - parsed.lineStarts[line - 1]! };
      };
      // The end is exclusive, and an arrow with an expression body has its (return) location at its very end.
      const { locations } = this.main.post<{ locations: CdpBreakLocation[] }>('Debugger.getPossibleBreakpoints', {
        start: at(fn.bodyStart),
        end: at(Math.min(fn.end + 1, source.length)),
        restrictToFunction: true,
      });
      // A source-mapped function is kept in its original lines (a minified script may hold it on one line).
      const layout = view
        ? layoutThroughMap(fn, locations.map((l) => ({ line: l.lineNumber + 1, column: l.columnNumber ?? 0 })), parsed, view)
        : undefined;
      const planned = planLocations(
        fn,
        locations,
        parsed.lineStarts,
        layout ? (line, column) => layout.lineAt(line, column) ?? -line : undefined,
      );
      const fnIndex = this.attributor.addFunction({ async: fn.isAsync, generator: fn.isGenerator });
      if (planned.length > SLOW_BREAKPOINT_COUNT && !this.probeScript) {
        this.warnings.push(
          `${fn.name} is read at ${planned.length} breakpoints: V8's time to set and remove breakpoints in one function grows ` +
            `faster than their number squared (measured: 1,000 take ~4 s each way); lineprof run's probe engine reads it in milliseconds`,
        );
      }
      const instrumented = new Set<number>();
      if (this.spans) {
        if (fn.isAsync || fn.isGenerator) this.spansInAnyOrder.add(fnIndex);
        this.instrumentSpans(event, fn.name, fnIndex, planned);
        planned.length = 0;
      }
      for (const p of planned) {
        const id = this.attributor.addLocation({
          fn: fnIndex,
          line: p.line,
          offset: p.offset,
          kind: p.kind,
          opensCall: p.opensCall,
          maySuspend: p.maySuspend,
          inReturnStatement: p.inReturnStatement,
        });
        this.locationLines[id] = `${p.line}:${p.columnNumber0}${p.kind === 2 ? 'r' : p.kind === 1 ? 'e' : ''}`;
        try {
          const { breakpointId } = this.main.post<{ breakpointId: string }>('Debugger.setBreakpoint', {
            location: { scriptId: event.scriptId, lineNumber: p.lineNumber0, columnNumber: p.columnNumber0 },
            condition: `${this.globalName}(${id},0)`,
          });
          if (this.probeScript) {
            this.probeScript.breakpoints.push(breakpointId);
            if (p.line >= 4 && p.line <= 6) this.probeScript.ids.add(id);
          }
        } catch {
          continue;
        }
        this.locations++;
        instrumented.add(p.line);
        this.calibrationLocations.set(id, {
          ...(event.hash ? { scriptHash: event.hash } : { url: event.url }),
          lineNumber: p.lineNumber0,
          columnNumber: p.columnNumber0,
        });
        if (this.setCalibration(id)) this.recorder.expectCalibration(id);
      }
      const generated = {
        url: event.url,
        file,
        startLine: fn.startLine,
        endLine: fn.endLine,
        source: lines.slice(fn.startLine - 1, fn.endLine),
      };
      const original = layout && view && {
        url: pathToFileURL(layout.file).href,
        file: layout.file,
        startLine: layout.startLine,
        endLine: layout.endLine,
        source: originalLines(view, layout),
      };
      this.functions.push({
        index: fnIndex,
        name: fn.name,
        ...(original ?? generated),
        startColumn: original ? layout!.startColumn : fn.start - parsed.lineStarts[fn.startLine - 1]!,
        reasons,
        isAsync: fn.isAsync,
        isGenerator: fn.isGenerator,
        instrumentedLines: [...instrumented].sort((a, b) => a - b),
        ...(original ? { generated } : {}),
      });
    }
  }
}

function withoutIndex(meta: FunctionMeta): Omit<FunctionMeta, 'index'> {
  const { index: _index, ...rest } = meta;
  return rest;
}

export interface ScriptListing {
  file: string;
  /** Every function the script defines: name, first line, and whether the selection marks it. */
  functions: Array<{ name: string; line: number; marked: boolean }>;
  /** Set when the script could not be parsed. */
  error?: string;
}

/**
 * Lists the scripts already loaded (through a short-lived session of its own, which sees each of them once when it
 * enables the debugger) and the functions in each. For `lineprof attach --list` and for close matches of a name.
 */
export function listScripts(config: AgentConfig): ScriptListing[] {
  const events: ScriptParsedEvent[] = [];
  const connection = new InspectorConnection((event) => events.push(event));
  try {
    connection.post('Debugger.enable');
    const listings: ScriptListing[] = [];
    for (const event of events) {
      if (!isProgramScript(event.url, config.includeNodeModules)) continue;
      const file = fileOf(event.url);
      try {
        const { scriptSource } = connection.post<{ scriptSource: string }>('Debugger.getScriptSource', {
          scriptId: event.scriptId,
        });
        const parsed = parseSource(scriptSource, event.isModule ? 'module' : 'script');
        const marked = new Set(selectFunctions(parsed, file, config.selection).map((s) => s.fn.start));
        listings.push({
          file,
          functions: parsed.functions.map((fn) => ({ name: fn.name, line: fn.startLine, marked: marked.has(fn.start) })),
        });
      } catch (err) {
        listings.push({ file, functions: [], error: (err as Error).message });
      }
    }
    return listings;
  } finally {
    connection.close();
  }
}
