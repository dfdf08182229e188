/**
 * One module's instrumentation: which of its functions the selection marks (in its JavaScript, and through its
 * source map in the original sources), their instrumented text, and the table of their probes with the line each is
 * charged to. Runs wherever the module is loaded — in the program's thread for CommonJS, on Node's loader thread for
 * ES modules — and returns plain data that can cross between the two.
 */
import { pathToFileURL } from 'node:url';
import { columnShiftsOf } from '../../instrument/columns';
import { instrument, PROBE_GLOBAL, ProbeKind, TOKEN_VARIABLE } from '../../instrument/instrument';
import type { LineGroup } from '../../instrument/instrument';
import { lineOfOffset, parseSource, SourceParseError, splitLines } from '../../selection/find-functions';
import type { ParsedSource } from '../../selection/find-functions';
import { functionNameMatches, mayContainSelection } from '../../selection/selectors';
import type { MarkReason, SelectedFunction, SelectionSpec } from '../../selection/selectors';
import type { SourceFunction } from '../../selection/find-functions';
import { loadSourceMap, originalViewOf } from '../../sourcemap/load';
import { layoutThroughMap, namesMatchingIn, selectInScript, spotsThroughMap, viewMayContainSelection } from '../../sourcemap/original';
import type { OriginalView } from '../../sourcemap/original';
import type { GeneratedCode } from '../../wire/agent-report';
import { ProbeRole } from '../../attribution/probe-attributor';
import { fileOf, originalLines } from '../scripts';

/** The attributor's role of each kind of probe. */
const ROLES: Record<ProbeKind, ProbeRole> = {
  [ProbeKind.Statement]: ProbeRole.Statement,
  [ProbeKind.Entry]: ProbeRole.Entry,
  [ProbeKind.Exit]: ProbeRole.Exit,
  [ProbeKind.Returning]: ProbeRole.Returning,
  [ProbeKind.FinallyEnd]: ProbeRole.FinallyEnd,
  [ProbeKind.Throwing]: ProbeRole.Throwing,
};

export interface PlannedProbe {
  id: number;
  /** The line its interval is charged to: original line through a source map, or the negated generated line. */
  line: number;
  role: ProbeRole;
  maySuspend: boolean;
}

export interface PlannedFunction {
  name: string;
  url: string;
  file: string;
  startLine: number;
  startColumn: number;
  endLine: number;
  source: string[];
  reasons: MarkReason[];
  isAsync: boolean;
  isGenerator: boolean;
  instrumentedLines: number[];
  generated?: GeneratedCode;
  probes: PlannedProbe[];
}

export interface ModulePlan {
  url: string;
  /** The instrumented source; undefined when nothing in the module is marked. */
  code: string | undefined;
  functions: PlannedFunction[];
  /** Selectors this module matched (--function names, --line FILE:LINE). */
  matchedFunctions: string[];
  matchedLines: string[];
  /** Original files behind the module's source map. */
  mappedFiles: string[];
  /** What was inserted on each line, as [line, column, length]: for mapping stack columns back. */
  columnShifts: Array<[number, number, number]>;
  warnings: string[];
  /** A script in node_modules (not profiled) that loaded: looked at for the --include-node-modules hint. */
  nodeModulesScript?: boolean;
}

const SOURCE_MAPPING_URL = /\/\/[#@] sourceMappingURL=([^\s'"]+)\s*$/;

/** The source map comment of a script (the last one, as V8 takes it). */
export function sourceMappingUrlOf(source: string): string | undefined {
  const tail = source.slice(-100_000);
  const lines = tail.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 5; i--) {
    const m = SOURCE_MAPPING_URL.exec(lines[i]!);
    if (m) return m[1];
  }
  return undefined;
}

export interface PlanRequest {
  source: string;
  url: string;
  isModule: boolean;
  selection: SelectionSpec;
  /** Reserves `count` consecutive probe ids and returns the first. */
  reserveIds(count: number): number;
  /** The text the user wrote, when `source` is it with its types stripped (same lines and columns): shown in tables. */
  shownText?: string;
}

export function planModule(request: PlanRequest): ModulePlan {
  return planInstrumentation(request, false).plan;
}

/**
 * A script's instrumentation for `Debugger.setScriptSource`, as the edits to make one after another. V8 matches the
 * old and new functions by their start and end positions, translated through a diff: by line, then by token inside
 * each run of changed lines, but only for a run under 800 characters (a longer run is one opaque change, and a
 * function starting or ending in it keeps its old code: measured here, one 40-line function edited at once kept
 * its old code, and so did six of seven functions on adjacent lines). So the insertions are spread over edits in
 * which no two changed lines touch: every run of changed lines is one line (or the lines a wrapper spans).
 */
export interface LiveEditPlan {
  plan: ModulePlan;
  /** The script's text after each edit; the last is the whole instrumentation. */
  steps: string[];
  /** Marked functions that cannot be edited with probes, left to the caller (breakpoints): their first lines. */
  skipped: Array<{ name: string; reason: string; file: string; line: number }>;
  /** Why no edit of this script can be matched (its whole selection is then read by breakpoints). */
  unsafe?: string;
  /** Per planned function: what a closure of it still running the old code looks like (to check the edit). */
  originals: Array<{ simpleName: string; body: string }>;
}

/** V8's LiveEdit compares a run of changed lines token by token only below this many characters (liveedit.cc). */
const TOKEN_DIFF_LIMIT = 800;

export function planLiveEdit(request: PlanRequest): LiveEditPlan {
  return planInstrumentation(request, true);
}

function planInstrumentation(request: PlanRequest, liveEdit: boolean): LiveEditPlan {
  const { source, url, selection: spec } = request;
  const result: LiveEditPlan = { plan: undefined as unknown as ModulePlan, steps: [], skipped: [], originals: [] };
  const file = fileOf(url);
  const plan: ModulePlan = {
    url,
    code: undefined,
    functions: [],
    matchedFunctions: [],
    matchedLines: [],
    mappedFiles: [],
    columnShifts: [],
    warnings: [],
  };
  result.plan = plan;
  // Node 22+ may hand a module to the hooks twice (`require` of an ES module): it is instrumented once.
  if (source.includes(`var ${TOKEN_VARIABLE}=${PROBE_GLOBAL}.e(`)) return result;
  const view = originalView(source, file, plan.warnings);
  if (!mayContainSelection(source, file, spec) && !(view && viewMayContainSelection(view, spec))) return result;
  let parsed: ParsedSource;
  try {
    parsed = parseSource(source, request.isModule ? 'module' : 'script');
  } catch (err) {
    if (err instanceof SourceParseError) {
      plan.warnings.push(`could not parse ${file}:${err.line}: ${err.message}; its functions are not profiled`);
      return result;
    }
    throw err;
  }
  let selected = select(parsed, file, view, spec, plan);
  if (liveEdit) {
    // An async arrow with an expression body has no place for its exit that LiveEdit takes: its value comes after
    // a resumption, when the runtime's stack of such calls no longer holds its token on top.
    const unreachable = (f: SelectedFunction) => f.fn.expressionBody && f.fn.isAsync;
    for (const f of selected.filter(unreachable)) {
      result.skipped.push({ name: f.fn.name, reason: 'an async arrow with an expression body', file, line: f.fn.startLine });
    }
    selected = selected.filter((f) => !unreachable(f));
  }
  if (selected.length === 0) return result;
  const probed = instrument(source, parsed.program, parsed.lineStarts, selected.map((s) => s.fn), {
    throws: !liveEdit,
    expressionArrowsInPlace: liveEdit,
    ...(view ? { original: spotsThroughMap(parsed, view) } : {}),
  });
  const firstId = request.reserveIds(probed.probes.length);
  const rendered = probed.render(firstId);
  plan.code = rendered.code;
  if (liveEdit) {
    // V8 names a closure by its generated name, not the original one the selection may have given it.
    const generatedOf = new Map(parsed.functions.map((f) => [f.start, f]));
    result.originals = selected.map(({ fn: named }) => generatedOf.get(named.start) ?? named).map((fn) => ({
      simpleName: fn.name === '(anonymous)' ? '' : fn.simpleName,
      body: source.slice(fn.bodyStart, fn.end),
    }));
    result.steps = editSteps(probed.lineGroups(), (lines) => probed.render(firstId, lines).code);
    result.unsafe = unmatchable(source, result.steps, selected.map((f) => f.fn));
  }
  for (const [line, shifts] of columnShiftsOf(rendered.insertions, parsed.lineStarts)) {
    for (const [column, length] of shifts) plan.columnShifts.push([line, column, length]);
  }
  const lines = splitLines(request.shownText ?? source);
  selected.forEach(({ fn, reasons }, index) => {
    for (const name of spec.functions) if (functionNameMatches(name, fn) && !plan.matchedFunctions.includes(name)) plan.matchedFunctions.push(name);
    for (const l of spec.lines) {
      if (view?.files.includes(l.file)) continue; // matched through the map, in original lines
      if (l.file === file && l.line >= fn.startLine && l.line <= fn.endLine) plan.matchedLines.push(`${l.file}:${l.line}`);
    }
    const own = probed.probes.map((p, i) => ({ p, id: firstId + i })).filter(({ p }) => p.fn === index);
    const position = (offset: number) => {
      const line = lineOfOffset(parsed.lineStarts, offset);
      return { line, column: offset - parsed.lineStarts[line - 1]! };
    };
    const layout = view ? layoutThroughMap(fn, own.map(({ p }) => position(p.offset)), parsed, view) : undefined;
    const lineOf = (offset: number, generatedLine: number): number => {
      if (!layout) return generatedLine;
      const at = position(offset);
      return layout.lineAt(at.line, at.column) ?? -generatedLine;
    };
    const probes: PlannedProbe[] = own.map(({ p, id }) => ({
      id,
      line: lineOf(p.offset, p.line),
      role: ROLES[p.kind],
      maySuspend: p.maySuspend,
    }));
    // Lines that can show figures: where a reading starts an interval (a lone closing brace has only an exit).
    const instrumented = [...new Set(probes.filter((p) => p.role !== ProbeRole.Exit && p.role !== ProbeRole.FinallyEnd).map((p) => p.line))].sort((a, b) => a - b);
    const generated: GeneratedCode = { url, file, startLine: fn.startLine, endLine: fn.endLine, source: lines.slice(fn.startLine - 1, fn.endLine) };
    const original = layout && view
      ? { url: pathToFileURL(layout.file).href, file: layout.file, startLine: layout.startLine, endLine: layout.endLine, source: originalLines(view, layout) }
      : undefined;
    plan.functions.push({
      name: fn.name,
      ...(original ?? generated),
      startColumn: original ? layout!.startColumn : fn.start - parsed.lineStarts[fn.startLine - 1]!,
      reasons,
      isAsync: fn.isAsync,
      isGenerator: fn.isGenerator,
      instrumentedLines: instrumented,
      ...(original ? { generated } : {}),
      probes,
    });
  });
  return result;
}

/**
 * Line groups spread over edits so that no two changed lines of one edit touch; each edit adds to the previous. A
 * group never goes before the edit that declares its function's token (its entry): every text in between runs.
 */
function editSteps(groups: LineGroup[], render: (lines: ReadonlySet<number>) => string): string[] {
  const steps: Array<Set<number>> = [];
  const entryStep = new Map<number, number>();
  // By first line: a function's entry (at its start) is placed before its other groups.
  for (const group of groups) {
    const earliest = Math.max(0, ...group.functions.filter((f) => !group.entries.includes(f)).map((f) => entryStep.get(f) ?? 0));
    const fits = (used: Set<number>) => group.lines.every((l) => !used.has(l - 1) && !used.has(l) && !used.has(l + 1));
    let index = steps.findIndex((used, i) => i >= earliest && fits(used));
    if (index < 0) {
      while (steps.length < earliest) steps.push(new Set());
      index = steps.push(new Set()) - 1;
    }
    for (const l of group.lines) steps[index]!.add(l);
    for (const f of group.entries) entryStep.set(f, index);
  }
  const done = new Set<number>();
  return steps.filter((lines) => lines.size > 0).map((lines) => {
    for (const l of lines) done.add(l);
    return render(new Set(done));
  });
}

/**
 * Why V8 could not match a marked function in these edits, if it could not: a run of changed lines holding the
 * function's first or last line is over the token-diff limit (minified code), before or after an edit.
 */
function unmatchable(source: string, steps: string[], functions: SourceFunction[]): string | undefined {
  const boundaries = new Set(functions.flatMap((f) => [f.startLine, f.endLine]));
  let before = splitLines(source);
  for (const code of steps) {
    const after = splitLines(code);
    for (let i = 0; i < after.length; ) {
      if (after[i] === before[i]) {
        i++;
        continue;
      }
      let j = i;
      let oldLength = 0;
      let newLength = 0;
      let boundary = false;
      for (; j < after.length && after[j] !== before[j]; j++) {
        oldLength += before[j]!.length + 1;
        newLength += after[j]!.length + 1;
        if (boundaries.has(j + 1)) boundary = true;
      }
      if (boundary && Math.max(oldLength, newLength) >= TOKEN_DIFF_LIMIT) {
        return `line ${i + 1} is ${Math.max(oldLength, newLength)} characters with the instrumentation (minified?): LiveEdit matches functions only through lines under ${TOKEN_DIFF_LIMIT}`;
      }
      i = j;
    }
    before = after;
  }
  return undefined;
}

/** What the user marked in this module (shared with the breakpoint engine: selectInScript). */
function select(parsed: ParsedSource, file: string, view: OriginalView | undefined, spec: SelectionSpec, plan: ModulePlan): SelectedFunction[] {
  const { selected, matchedLines } = selectInScript(parsed, file, view, spec);
  for (const l of matchedLines) plan.matchedLines.push(`${l.file}:${l.line}`);
  if (view) plan.mappedFiles.push(...view.files);
  return selected;
}

/** The module's original sources through its source map; a map that cannot be read is reported once. */
function originalView(source: string, file: string, warnings: string[]): OriginalView | undefined {
  const mapUrl = sourceMappingUrlOf(source);
  if (!mapUrl) return undefined;
  try {
    return originalViewOf(loadSourceMap(file, mapUrl));
  } catch (err) {
    // Same words as the controller's, which keeps one of each.
    warnings.push(`could not read the source map of ${file} (${(err as Error).message}): its lines are the generated ones`);
    return undefined;
  }
}

/** The --function names a function of this node_modules script (not profiled) would match; see namesMatchingIn. */
export function nodeModulesMatches(source: string, url: string, isModule: boolean, names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const file = fileOf(url);
  const mapUrl = sourceMappingUrlOf(source);
  return namesMatchingIn(source, isModule ? 'module' : 'script', names, () => (mapUrl ? originalView(source, file, []) : undefined));
}
