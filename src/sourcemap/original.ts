/**
 * The original source through a source map, for the two things the agent must know before a script runs: what the
 * user marked there (a `// @profile` comment in a TypeScript file, which compilers and bundlers may strip from the
 * JavaScript they emit; `--line app.ts:42` in the original's line numbers), and which original line each break
 * location belongs to (a minified or bundled script can hold a whole function on one generated line). Pure: the
 * caller gives the lookup from generated to original positions and the original files' text.
 */
import { lineOfOffset, parseSource } from '../selection/find-functions';
import { functionNameMatches } from '../selection/selectors';
import type { ParsedSource, SourceFunction } from '../selection/find-functions';
import { mergeSelections, selectFunctions } from '../selection/selectors';
import type { LineSelector, MarkReason, SelectedFunction, SelectionSpec } from '../selection/selectors';

export interface OriginalPosition {
  /** Absolute path of the original file. */
  file: string;
  /** 1-based. */
  line: number;
  /** 0-based. */
  column: number;
}

export interface OriginalView {
  /** The original position of a generated one (1-based line, 0-based column); undefined where nothing maps. */
  originalOf(line: number, column: number): OriginalPosition | undefined;
  /** The text of an original file (the map's sourcesContent, or the file on disk), when there is one. */
  contentOf(file: string): string | undefined;
  /** The original files the map names (absolute paths). */
  readonly files: readonly string[];
}

const MARKER = /(^|\s|\*)@profile\b/;

/**
 * Whether the original sources may hold anything the spec selects: a marker, a --line in one of them, or a
 * --function name (a minifier renames what it can: the name may be in the original only).
 */
export function viewMayContainSelection(view: OriginalView, spec: SelectionSpec): boolean {
  if (spec.lines.some((l) => view.files.includes(l.file))) return true;
  const simple = spec.functions.map((name) => name.slice(name.lastIndexOf('.') + 1));
  return view.files.some((file) => {
    const text = view.contentOf(file);
    if (text === undefined) return false;
    return (spec.markers && text.includes('@profile')) || simple.some((name) => text.includes(name));
  });
}

/** Each view's original files parsed once (null: not JavaScript acorn reads, such as TypeScript). */
const parsedOriginals = new WeakMap<OriginalView, Map<string, ParsedSource | null>>();

function parsedOriginal(view: OriginalView, file: string): ParsedSource | null {
  let byFile = parsedOriginals.get(view);
  if (!byFile) parsedOriginals.set(view, (byFile = new Map()));
  if (!byFile.has(file)) {
    const text = view.contentOf(file);
    let parsed: ParsedSource | null = null;
    if (text !== undefined && !/\.[cm]?tsx?$/.test(file)) {
      try {
        parsed = parseSource(text);
      } catch {
        parsed = null;
      }
    }
    byFile.set(file, parsed);
  }
  return byFile.get(file)!;
}

/**
 * The generated functions named as the original names them (a minified bundle names marked's `Lexer.lex` and
 * `Lexer.prototype.lex` both `t.lex`): the original function is the one whose head (from its declaration to its
 * body) holds where the generated function's start maps, and whose body holds where its end maps (a bundler's module
 * wrapper maps its start to the top of the file too, and its end to the file's end). Functions with no such original
 * keep their generated names. The same ParsedSource when nothing is renamed.
 */
export function withOriginalNames(parsed: ParsedSource, view: OriginalView): ParsedSource {
  let renamed = false;
  const functions = parsed.functions.map((fn) => {
    const original = originalFunctionOf(fn, parsed, view);
    if (!original || (original.name === fn.name && original.simpleName === fn.simpleName)) return fn;
    renamed = true;
    return { ...fn, name: original.name, simpleName: original.simpleName };
  });
  return renamed ? { ...parsed, functions } : parsed;
}

function originalFunctionOf(fn: SourceFunction, parsed: ParsedSource, view: OriginalView): SourceFunction | undefined {
  const positionOf = (offset: number): OriginalPosition | undefined => {
    const line = lineOfOffset(parsed.lineStarts, offset);
    return view.originalOf(line, offset - parsed.lineStarts[line - 1]!);
  };
  const start = positionOf(fn.start);
  if (!start) return undefined;
  const original = parsedOriginal(view, start.file);
  if (!original) return undefined;
  const offsetOf = (at: OriginalPosition) => (original.lineStarts[at.line - 1] ?? Infinity) + at.column;
  const at = offsetOf(start);
  const end = positionOf(fn.end - 1);
  const endAt = end && end.file === start.file ? offsetOf(end) : undefined;
  let best: SourceFunction | undefined;
  for (const candidate of original.functions) {
    const head = Math.min(candidate.start, ...candidate.anchors);
    if (at < head || at >= candidate.bodyStart) continue;
    if (endAt !== undefined && (endAt < candidate.bodyStart || endAt >= candidate.end)) continue;
    if (!best || candidate.end - candidate.start < best.end - best.start) best = candidate;
  }
  return best;
}

export interface MappedSelection {
  selected: SelectedFunction[];
  /** The `--line` selectors in an original file that found their function. */
  matchedLines: LineSelector[];
}

/**
 * What the spec selects in one script, for both engines: in the JavaScript V8 runs, and through its source map (when
 * it has one) in the original sources, its functions then named as the original names them (`--function Lexer.lex`
 * matches the original name; a `--line` in an original file is matched there only: the generated file may have the
 * same name).
 */
export function selectInScript(
  parsed: ParsedSource,
  file: string | null,
  view: OriginalView | undefined,
  spec: SelectionSpec,
): MappedSelection {
  if (!view) return { selected: selectFunctions(parsed, file, spec), matchedLines: [] };
  const named = withOriginalNames(parsed, view);
  const generatedSpec: SelectionSpec = { ...spec, lines: spec.lines.filter((l) => !view.files.includes(l.file)) };
  const mapped = selectThroughMap(named, view, spec);
  return { selected: mergeSelections(selectFunctions(named, file, generatedSpec), mapped.selected), matchedLines: mapped.matchedLines };
}

/** The generated functions the original source marks or a `--line` in an original file selects. */
export function selectThroughMap(parsed: ParsedSource, view: OriginalView, spec: SelectionSpec): MappedSelection {
  const matchedLines: LineSelector[] = [];
  const selected = new Map<SourceFunction, MarkReason[]>();
  const add = (fn: SourceFunction, reason: MarkReason): void => {
    const reasons = selected.get(fn) ?? [];
    if (!reasons.includes(reason)) reasons.push(reason);
    selected.set(fn, reasons);
  };
  const originalAt = (offset: number): OriginalPosition | undefined => {
    const line = lineOfOffset(parsed.lineStarts, offset);
    return view.originalOf(line, offset - parsed.lineStarts[line - 1]!);
  };
  if (spec.markers) {
    const linesOf = new Map<string, string[] | undefined>();
    const originalLines = (file: string): string[] | undefined => {
      if (!linesOf.has(file)) linesOf.set(file, view.contentOf(file)?.split(/\r?\n/));
      return linesOf.get(file);
    };
    for (const fn of parsed.functions) {
      const marked = [fn.start, ...fn.anchors].some((anchor) => {
        const at = originalAt(anchor);
        const lines = at && originalLines(at.file);
        return lines !== undefined && isMarkedAbove(lines, at!);
      });
      if (marked) add(fn, 'comment');
    }
  }
  for (const selector of spec.lines) {
    if (!view.files.includes(selector.file)) continue;
    const lines = view.contentOf(selector.file)?.split(/\r?\n/);
    // A bundler maps some of its own helpers to the top of a file; no function starts inside a comment.
    const startsInComment = (at: OriginalPosition): boolean => /^\s*(\/\/|\/\*|\*)/.test(lines?.[at.line - 1]?.slice(at.column) ?? '');
    const fn = innermostOriginalFunction(parsed, selector, (offset) => {
      const at = originalAt(offset);
      return at && !startsInComment(at) ? at : undefined;
    });
    if (!fn) continue;
    add(fn, 'line');
    matchedLines.push(selector);
  }
  return {
    selected: [...selected].map(([fn, reasons]) => ({ fn, reasons })).sort((a, b) => a.fn.start - b.fn.start),
    matchedLines,
  };
}

/**
 * A marker in the original: a comment holding `@profile` on the line above the position (decorator lines between
 * them allowed, and a block comment may span lines), a block comment holding it before the position on its line, or
 * a line comment ending the position's line right after the body's `{` (`function f(i) { // @profile`).
 */
export function isMarkedAbove(lines: string[], at: OriginalPosition): boolean {
  const own = lines[at.line - 1] ?? '';
  const before = own.slice(0, at.column);
  if (/\/\*[^]*?\*\//.test(before) && MARKER.test(before)) return true;
  if (/\{\s*\/\/.*@profile\b/.test(own.slice(at.column))) return true;
  let i = at.line - 2; // 0-based index of the line above
  while (i >= 0 && /^\s*@/.test(lines[i]!) && !/^\s*@profile\b/.test(lines[i]!)) i--;
  if (i < 0) return false;
  const above = lines[i]!;
  if (/^\s*\/\//.test(above)) return MARKER.test(above);
  if (!/\*\/\s*$/.test(above)) return false;
  // The end of a block comment: look at the whole comment.
  for (let j = i; j >= 0; j--) {
    if (MARKER.test(lines[j]!)) return true;
    if (lines[j]!.includes('/*')) return false;
  }
  return false;
}

/** The smallest generated function whose original start and end lines, in the selector's file, hold the line. */
function innermostOriginalFunction(
  parsed: ParsedSource,
  selector: LineSelector,
  originalAt: (offset: number) => OriginalPosition | undefined,
): SourceFunction | undefined {
  let best: SourceFunction | undefined;
  for (const fn of parsed.functions) {
    const start = originalAt(fn.start);
    const end = originalAt(fn.end - 1);
    if (!start || !end || start.file !== selector.file || end.file !== selector.file) continue;
    if (start.line > selector.line || selector.line > end.line) continue;
    if (!best || fn.end - fn.start < best.end - best.start) best = fn;
  }
  return best;
}

/** Where a generated function is in the original source. */
export interface OriginalLayout {
  file: string;
  startLine: number;
  /** 0-based column of the function's start in the original line. */
  startColumn: number;
  endLine: number;
  /** The original line of a generated position (1-based line, 0-based column); undefined if not in `file`. */
  lineAt(line: number, column: number): number | undefined;
}

/**
 * The original file a function comes from (where its start maps, else its first location that maps), its original
 * lines, and the original line of any of its positions. Undefined when nothing of it maps.
 */
export function layoutThroughMap(
  fn: SourceFunction,
  locations: ReadonlyArray<{ line: number; column: number }>,
  parsed: ParsedSource,
  view: OriginalView,
): OriginalLayout | undefined {
  const originalAt = (offset: number): OriginalPosition | undefined => {
    const line = lineOfOffset(parsed.lineStarts, offset);
    return view.originalOf(line, offset - parsed.lineStarts[line - 1]!);
  };
  const mapped = locations.map((l) => view.originalOf(l.line, l.column));
  const start = originalAt(fn.start) ?? mapped.find((m) => m !== undefined);
  if (!start) return undefined;
  const lines = mapped.filter((m) => m !== undefined && m.file === start.file).map((m) => m!.line);
  const end = originalAt(fn.end - 1);
  return {
    file: start.file,
    startLine: Math.min(start.line, ...lines),
    startColumn: start.column,
    endLine: Math.max(end && end.file === start.file ? end.line : start.line, ...lines),
    lineAt(line: number, column: number): number | undefined {
      const at = view.originalOf(line, column);
      return at && at.file === start.file ? at.line : undefined;
    },
  };
}

/**
 * Where each generated offset is in the original, with the original line's text before it: for the instrumenter to
 * split a statement by original lines (its `original` option). Lines of each original file are split once.
 */
export function spotsThroughMap(parsed: ParsedSource, view: OriginalView): (offset: number) => { file: string; line: number; before: string } | undefined {
  const linesOf = new Map<string, string[]>();
  return (offset) => {
    const line = lineOfOffset(parsed.lineStarts, offset);
    const at = view.originalOf(line, offset - parsed.lineStarts[line - 1]!);
    if (!at) return undefined;
    let lines = linesOf.get(at.file);
    if (!lines) linesOf.set(at.file, (lines = view.contentOf(at.file)?.split(/\r?\n/) ?? []));
    // Unknown text: the position counts as the start of its line.
    return { file: at.file, line: at.line, before: lines[at.line - 1]?.slice(0, at.column) ?? '' };
  };
}

/**
 * The --function names that match a function of a script lineprof does not profile (one in node_modules), for the
 * hint to add --include-node-modules. Cheap where nothing matches: a text search for each name's last segment in the
 * script and its original sources comes before any parsing (`view` is asked for only then).
 */
export function namesMatchingIn(
  source: string,
  kind: 'module' | 'script',
  names: readonly string[],
  view: () => OriginalView | undefined,
): string[] {
  const simple = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  let candidates = names.filter((name) => source.includes(simple(name)));
  // The map, read only when the script names one (and its original text is searched only for the names missing).
  const originals = /\/\/[#@] sourceMappingURL=/.test(source.slice(-100_000)) ? view() : undefined;
  if (originals && candidates.length < names.length) {
    const texts = originals.files.map((f) => originals.contentOf(f) ?? '');
    candidates = names.filter((name) => candidates.includes(name) || texts.some((t) => t.includes(simple(name))));
  }
  if (candidates.length === 0) return [];
  let parsed: ParsedSource;
  try {
    parsed = parseSource(source, kind);
  } catch {
    return [];
  }
  const named = originals ? withOriginalNames(parsed, originals) : parsed;
  return candidates.filter((name) => named.functions.some((fn) => functionNameMatches(name, fn)));
}
