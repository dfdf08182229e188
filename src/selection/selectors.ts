/**
 * What the user asked to profile, and the pure matching of that request against one parsed source.
 */
import type { ParsedSource, SourceFunction } from './find-functions';

export type MarkReason = 'comment' | 'function' | 'line';

export interface LineSelector {
  /** Absolute path of the file, as the user named it (resolved against the working directory). */
  file: string;
  line: number;
}

export interface SelectionSpec {
  /** `// @profile` comments count (always on unless the user turns them off). */
  markers: boolean;
  /** `--function NAME`: a plain name (`load`) or a qualified one (`Store.load`). */
  functions: string[];
  /** `--line FILE:LINE`: the innermost function containing that line. */
  lines: LineSelector[];
  /**
   * Functions by where V8 says they are (`[[FunctionLocation]]`: 1-based line, 0-based column of the parameter
   * list): how the in-process API selects the very function object it was given.
   */
  positions?: Array<{ file: string; line: number; column: number }>;
}

export interface SelectedFunction {
  fn: SourceFunction;
  reasons: MarkReason[];
}

/** Parses `FILE:LINE`; the file part may itself contain colons (Windows drive letters, URLs). */
export function parseLineSelector(text: string, resolve: (file: string) => string): LineSelector {
  const m = /^(.+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1) throw new Error(`--line expects FILE:LINE with a line number from 1, got "${text}"`);
  return { file: resolve(m[1]!), line: Number(m[2]) };
}

/** `Store.load` matches an instance method named `Store.prototype.load` (so named beside a static `load`) too. */
export function functionNameMatches(requested: string, fn: SourceFunction): boolean {
  if (!requested.includes('.')) return fn.simpleName === requested || fn.name === requested;
  return fn.name === requested || fn.name.replace('.prototype.', '.') === requested;
}

/** Cheap test that a source may hold something the spec selects, to skip parsing most scripts. */
export function mayContainSelection(source: string, filePath: string | null, spec: SelectionSpec): boolean {
  if (spec.markers && source.includes('@profile')) return true;
  if (spec.functions.some((name) => source.includes(name.slice(name.lastIndexOf('.') + 1)))) return true;
  if (filePath !== null && spec.positions?.some((p) => p.file === filePath)) return true;
  return filePath !== null && spec.lines.some((l) => l.file === filePath);
}

export function selectFunctions(parsed: ParsedSource, filePath: string | null, spec: SelectionSpec): SelectedFunction[] {
  const byStart = new Map<number, SelectedFunction>();
  const add = (fn: SourceFunction, reason: MarkReason): void => {
    const entry = byStart.get(fn.start) ?? { fn, reasons: [] };
    if (!entry.reasons.includes(reason)) entry.reasons.push(reason);
    byStart.set(fn.start, entry);
  };
  for (const fn of parsed.functions) {
    if (spec.markers && fn.markedByComment) add(fn, 'comment');
    if (spec.functions.some((name) => functionNameMatches(name, fn))) add(fn, 'function');
  }
  if (filePath !== null) {
    for (const position of spec.positions ?? []) {
      if (position.file !== filePath) continue;
      const offset = (parsed.lineStarts[position.line - 1] ?? -1) + position.column;
      const fn = functionAtHead(parsed, offset);
      if (fn) add(fn, 'function');
    }
    for (const sel of spec.lines) {
      if (sel.file !== filePath) continue;
      const fn = innermostFunctionAt(parsed, sel.line);
      if (fn) add(fn, 'line');
    }
  }
  return [...byStart.values()].sort((a, b) => a.fn.start - b.fn.start);
}

/** The innermost function whose head (from its start to its body) holds the offset. */
function functionAtHead(parsed: ParsedSource, offset: number): SourceFunction | undefined {
  let best: SourceFunction | undefined;
  for (const fn of parsed.functions) {
    if (fn.start <= offset && offset < fn.bodyStart && (!best || fn.end - fn.start < best.end - best.start)) best = fn;
  }
  return best;
}

export function innermostFunctionAt(parsed: ParsedSource, line: number): SourceFunction | undefined {
  let best: SourceFunction | undefined;
  for (const fn of parsed.functions) {
    if (fn.startLine <= line && line <= fn.endLine && (!best || fn.end - fn.start < best.end - best.start)) best = fn;
  }
  return best;
}

/** Two selections of one source as one: each function once, with the reasons of both. */
export function mergeSelections(a: SelectedFunction[], b: SelectedFunction[]): SelectedFunction[] {
  const byStart = new Map<number, SelectedFunction>();
  for (const { fn, reasons } of [...a, ...b]) {
    const entry = byStart.get(fn.start) ?? { fn, reasons: [] };
    for (const reason of reasons) if (!entry.reasons.includes(reason)) entry.reasons.push(reason);
    byStart.set(fn.start, entry);
  }
  return [...byStart.values()].sort((x, y) => x.fn.start - y.fn.start);
}
