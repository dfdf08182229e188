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
import { runInThisContext } from 'node:vm';
import { Attributor } from '../attribution/attributor';
import { LocationKind, planLocations } from '../breakpoints/plan';
import type { CdpBreakLocation, PlannedLocation } from '../breakpoints/plan';
import { lineOfOffset, parseSource, splitLines } from '../selection/find-functions';
import { selectFunctions } from '../selection/selectors';
import { layoutThroughMap } from '../sourcemap/original';
import type { AgentConfig, AgentFunctionInfo, AgentReport } from '../model/types';
import { InspectorConnection } from './inspector-connection';
import type { ScriptParsedEvent } from './inspector-connection';
import { functionInfo, SelectionFound, selectInModule } from './module-selection';
import type { SelectionInModule } from './module-selection';
import { Recorder } from './recorder';
import { functionReports } from './reports';
import { fileOf, isProgramScript as isScriptOfProgram } from './scripts';
import { SpanRecorder } from './spans';

const isProgramScript = (url: string, includeNodeModules: boolean): boolean =>
  isScriptOfProgram(url, includeNodeModules, [CALIBRATION_URL]);

const CALIBRATION_URL = 'lineprof:calibration';

/** The global the breakpoint conditions call. Short, because V8 compiles the condition on every hit. */
export const RECORDER_GLOBAL = '__lineprof';

type FunctionMeta = AgentFunctionInfo & {
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
  /** Selectors matched, files seen through source maps, scripts that could not be read. */
  private readonly found = new SelectionFound();
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

  constructor(private readonly config: AgentConfig) {
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
    Object.defineProperty(globalThis, RECORDER_GLOBAL, {
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
    this.main.post('Debugger.enable');
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
  report(final: boolean): AgentReport {
    if (this.finalReport) return this.finalReport;
    if (final) this.attributor.finish(this.recorder.readNow());
    const stats = this.attributor.snapshot();
    const spec = this.config.selection;
    const report: AgentReport = {
      functions: functionReports(this.functions, stats),
      unmatched: this.found.unmatched(spec),
      stats: { ...this.recorder.finishStats(), locations: this.locations, durationMs: Date.now() - this.startedAt },
      warnings: [...this.warnings, ...this.found.warnings, ...this.recorderWarnings()],
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
    const lost = this.recorder.counters.lostHits;
    if (lost > 0) warnings.push(`${lost} hits were lost (${this.recorder.firstFailure}): the figures miss their intervals`);
    return warnings;
  }

  /** Removes every breakpoint (closing a session removes its own) and the global. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.main.close();
    delete (globalThis as Record<string, unknown>)[RECORDER_GLOBAL];
  }

  private onScriptParsed(event: ScriptParsedEvent): void {
    if (event.url === CALIBRATION_URL && this.probeScript) {
      this.instrumentScript(event);
      return;
    }
    if (this.stopped || !this.isCandidate(event.url)) return;
    if (this.deferred) {
      this.deferred.push(event);
      return;
    }
    try {
      this.recorder.exclude(() => this.instrumentScript(event));
    } catch (err) {
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
        condition: `${RECORDER_GLOBAL}(${id},1)`,
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
          condition: `${RECORDER_GLOBAL}(${fnIndex},${p.kind === LocationKind.Return ? 1 : 0})`,
        });
        this.locations++;
      } catch {
        // A location V8 refuses is skipped, as in lines mode.
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

  private instrumentScript(event: ScriptParsedEvent): void {
    const { scriptSource: source } = this.main.post<{ scriptSource: string }>('Debugger.getScriptSource', {
      scriptId: event.scriptId,
    });
    const file = fileOf(event.url);
    // The break-cost probe (measureBreakCost): all its functions, and nothing else of the selection's.
    const selection: SelectionInModule | undefined = this.probeScript
      ? probeSelection(source)
      : selectInModule({ source, file, isModule: event.isModule === true, sourceMapURL: event.sourceMapURL }, this.config.selection, this.found);
    if (!selection) return;
    const { parsed, view } = selection;
    const sourceLines = splitLines(source);
    for (const chosen of selection.selected) {
      const fn = chosen.fn;
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
            condition: `${RECORDER_GLOBAL}(${id},0)`,
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
      const mapped = layout && view ? { view, layout } : undefined;
      const lines = [...instrumented].sort((a, b) => a - b);
      this.functions.push({ index: fnIndex, ...functionInfo(chosen, { url: event.url, file, lines: sourceLines }, parsed, mapped, lines) });
    }
  }
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

/** The break-cost probe's functions, all selected (it is lineprof's own script: no map, no marks). */
function probeSelection(source: string): SelectionInModule {
  const parsed = parseSource(source, 'script');
  return { parsed, selected: parsed.functions.map((fn) => ({ fn, reasons: [] })), view: undefined };
}
