/**
 * One module's instrumentation: which of its functions the selection marks (in its JavaScript, and through its
 * source map in the original sources), their instrumented text, and the table of their probes with the line each is
 * charged to. Runs wherever the module is loaded — in the program's thread for CommonJS, on Node's loader thread for
 * ES modules — and returns plain data that can cross between the two.
 */
import { columnShiftsOf } from '../../instrument/columns';
import { instrument, PROBE_GLOBAL, ProbeKind, TOKEN_VARIABLE } from '../../instrument/instrument';
import { lineOfOffset, splitLines } from '../../selection/find-functions';
import type { SelectionSpec } from '../../selection/selectors';
import { layoutThroughMap } from '../../sourcemap/original';
import type { AgentFunctionInfo } from '../../model/types';
import { ProbeRole } from '../../attribution/probe-attributor';
import { functionInfo, SelectionFound, selectInModule } from '../module-selection';
import { fileOf } from '../scripts';

/** The attributor's role of each kind of probe. */
const ROLES: Record<ProbeKind, ProbeRole> = {
  [ProbeKind.Statement]: ProbeRole.Statement,
  [ProbeKind.Entry]: ProbeRole.Entry,
  [ProbeKind.Exit]: ProbeRole.Exit,
  [ProbeKind.Returning]: ProbeRole.Returning,
  [ProbeKind.FinallyEnd]: ProbeRole.FinallyEnd,
};

export interface PlannedProbe {
  id: number;
  /** The line its interval is charged to: original line through a source map, or the negated generated line. */
  line: number;
  role: ProbeRole;
  maySuspend: boolean;
}

export interface PlannedFunction extends AgentFunctionInfo {
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
  const { source, url, selection: spec } = request;
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
  // Node 22+ may hand a module to the hooks twice (`require` of an ES module): it is instrumented once.
  if (source.includes(`var ${TOKEN_VARIABLE}=${PROBE_GLOBAL}.e(`)) return plan;
  const found = new SelectionFound();
  const selection = selectInModule({ source, file, isModule: request.isModule, sourceMapURL: sourceMappingUrlOf(source) }, spec, found);
  plan.matchedFunctions.push(...found.functions);
  plan.matchedLines.push(...found.lines);
  plan.mappedFiles.push(...found.mappedFiles);
  plan.warnings.push(...found.warnings);
  if (!selection || selection.selected.length === 0) return plan;
  const { parsed, selected, view } = selection;
  const result = instrument(source, parsed.program, parsed.lineStarts, selected.map((s) => s.fn), { throws: true });
  const firstId = request.reserveIds(result.probes.length);
  const rendered = result.render(firstId);
  plan.code = rendered.code;
  for (const [line, shifts] of columnShiftsOf(rendered.insertions, parsed.lineStarts)) {
    for (const [column, length] of shifts) plan.columnShifts.push([line, column, length]);
  }
  const lines = splitLines(request.shownText ?? source);
  selected.forEach((chosen, index) => {
    const own = result.probes.map((p, i) => ({ p, id: firstId + i })).filter(({ p }) => p.fn === index);
    const position = (offset: number) => {
      const line = lineOfOffset(parsed.lineStarts, offset);
      return { line, column: offset - parsed.lineStarts[line - 1]! };
    };
    const layout = view ? layoutThroughMap(chosen.fn, own.map(({ p }) => position(p.offset)), parsed, view) : undefined;
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
    const mapped = layout && view ? { view, layout } : undefined;
    plan.functions.push({ ...functionInfo(chosen, { url, file, lines }, parsed, mapped, instrumented), probes });
  });
  return plan;
}
