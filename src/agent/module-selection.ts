/**
 * What the user marked in one script, for both engines: its source map's original sources, whether it can hold a
 * selection at all, its parse, the functions selected (in the JavaScript V8 runs, and through the map in the
 * original sources), and which selectors they matched. Reads the source map (I/O); the rest is selection/.
 */
import { pathToFileURL } from 'node:url';
import { functionNameMatches, mayContainSelection, mergeSelections, selectFunctions } from '../selection/selectors';
import type { SelectedFunction, SelectionSpec } from '../selection/selectors';
import { parseSource, SourceParseError } from '../selection/find-functions';
import type { ParsedSource } from '../selection/find-functions';
import { loadSourceMap, originalViewOf } from '../sourcemap/load';
import { selectThroughMap, viewMayContainSelection } from '../sourcemap/original';
import type { OriginalLayout, OriginalView } from '../sourcemap/original';
import type { AgentFunctionInfo, AgentReport, GeneratedCode } from '../model/types';
import { originalLines } from './scripts';

/** The selectors matched and files seen over the scripts looked at, and what could not be read. */
export class SelectionFound {
  readonly functions = new Set<string>();
  readonly lines = new Set<string>();
  /** Original files seen through source maps (a --line there that matched nothing is not inside a function). */
  readonly mappedFiles = new Set<string>();
  readonly warnings: string[] = [];

  warn(warning: string): void {
    if (!this.warnings.includes(warning)) this.warnings.push(warning);
  }

  /** Selectors that matched no function in any script looked at. */
  unmatched(spec: SelectionSpec): AgentReport['unmatched'] {
    return {
      functions: spec.functions.filter((f) => !this.functions.has(f)),
      lines: spec.lines.map((l) => `${l.file}:${l.line}`).filter((l) => !this.lines.has(l)),
      linesOutsideFunctions: spec.lines
        .filter((l) => this.mappedFiles.has(l.file) && !this.lines.has(`${l.file}:${l.line}`))
        .map((l) => `${l.file}:${l.line}`),
    };
  }
}

export interface SelectionInModule {
  parsed: ParsedSource;
  selected: SelectedFunction[];
  view: OriginalView | undefined;
}

export interface ModuleToSelect {
  source: string;
  /** The script's file (or URL when it is not a file). */
  file: string;
  isModule: boolean;
  /** Its `sourceMappingURL`, if any. */
  sourceMapURL: string | undefined;
}

/** The selection in one script; undefined when it can hold none or does not parse (`found` says why). */
export function selectInModule(script: ModuleToSelect, spec: SelectionSpec, found: SelectionFound): SelectionInModule | undefined {
  const { source, file } = script;
  const view = script.sourceMapURL ? originalViewFor(file, script.sourceMapURL, found) : undefined;
  if (!mayContainSelection(source, file, spec) && !(view && viewMayContainSelection(view, spec))) return undefined;
  let parsed: ParsedSource;
  try {
    parsed = parseSource(source, script.isModule ? 'module' : 'script');
  } catch (err) {
    if (err instanceof SourceParseError) {
      found.warn(`could not parse ${file}:${err.line}: ${err.message}; its functions are not profiled`);
      return undefined;
    }
    throw err;
  }
  let selected: SelectedFunction[];
  if (view) {
    // A --line in an original file is matched there only: the generated file may have the same name.
    const generatedSpec: SelectionSpec = { ...spec, lines: spec.lines.filter((l) => !view.files.includes(l.file)) };
    const mapped = selectThroughMap(parsed, view, spec);
    for (const l of mapped.matchedLines) found.lines.add(`${l.file}:${l.line}`);
    for (const f of view.files) found.mappedFiles.add(f);
    selected = mergeSelections(selectFunctions(parsed, file, generatedSpec), mapped.selected);
  } else {
    selected = selectFunctions(parsed, file, spec);
  }
  for (const { fn } of selected) {
    for (const name of spec.functions) if (functionNameMatches(name, fn)) found.functions.add(name);
    for (const l of spec.lines) {
      if (view?.files.includes(l.file)) continue; // matched through the map, in original lines
      if (l.file === file && l.line >= fn.startLine && l.line <= fn.endLine) found.lines.add(`${l.file}:${l.line}`);
    }
  }
  return { parsed, selected, view };
}

/** The script's original sources through its source map; a map that cannot be read is reported once. */
function originalViewFor(file: string, sourceMapURL: string, found: SelectionFound): OriginalView | undefined {
  try {
    return originalViewOf(loadSourceMap(file, sourceMapURL));
  } catch (err) {
    // Same words as the controller's, which keeps one of each.
    found.warn(`could not read the source map of ${file} (${(err as Error).message}): its lines are the generated ones`);
    return undefined;
  }
}

/**
 * A selected function's description: in its original lines when its script is source-mapped (a minified script may
 * hold it on one line), else in the script's lines (`lines`: the text shown, the script's split by line).
 */
export function functionInfo(
  selected: SelectedFunction,
  script: { url: string; file: string; lines: string[] },
  parsed: ParsedSource,
  mapped: { view: OriginalView; layout: OriginalLayout } | undefined,
  instrumentedLines: number[],
): AgentFunctionInfo {
  const { fn, reasons } = selected;
  const generated: GeneratedCode = {
    url: script.url,
    file: script.file,
    startLine: fn.startLine,
    endLine: fn.endLine,
    source: script.lines.slice(fn.startLine - 1, fn.endLine),
  };
  const common = { name: fn.name, reasons, isAsync: fn.isAsync, isGenerator: fn.isGenerator, instrumentedLines };
  if (!mapped) return { ...common, ...generated, startColumn: fn.start - parsed.lineStarts[fn.startLine - 1]! };
  const { view, layout } = mapped;
  return {
    ...common,
    url: pathToFileURL(layout.file).href,
    file: layout.file,
    startLine: layout.startLine,
    endLine: layout.endLine,
    source: originalLines(view, layout),
    startColumn: layout.startColumn,
    generated,
  };
}
