/**
 * Finds the functions of one JavaScript source and how each can be marked. Pure: source text in, descriptions out.
 *
 * Positions are 0-based UTF-16 offsets into the source (the unit V8's columns and acorn's offsets share); lines are
 * 1-based.
 */
import * as acorn from 'acorn';

export interface SourceFunction {
  /** As the user would write it: `allocate`, `Store.load`, `obj.method`, `(anonymous)`. */
  name: string;
  /** The last segment of `name`, for `--function load` matching `Store.load`. */
  simpleName: string;
  start: number;
  end: number;
  /** Where the function body (or expression body of an arrow) begins. */
  bodyStart: number;
  /** An arrow whose body is an expression (`(x) => x * 2`, `(x) => ({ x })`), not a block. */
  expressionBody: boolean;
  startLine: number;
  endLine: number;
  isAsync: boolean;
  isGenerator: boolean;
  /** True when a `@profile` comment stands directly above the function (or its declaration), or just before it. */
  markedByComment: boolean;
  /**
   * Offsets a marker comment may precede: the function, its method or property, its declaration statement, the
   * `export` around it. Through a source map they locate a marker in the original source.
   */
  anchors: number[];
  /** Ranges of this function's own code (not nested functions') that a loop may execute more than once. */
  repeatRanges: Array<[number, number]>;
  /**
   * Offsets in this function's own code where it may suspend: each `await` and `yield`, and for a `for await` loop
   * the end of its iterable and the end of the loop (where each next iteration is awaited). Sorted.
   */
  suspensionOffsets: number[];
  /** Ranges of this function's own `return` statements. */
  returnRanges: Array<[number, number]>;
}

export interface ParsedSource {
  functions: SourceFunction[];
  /** Offsets where each line starts; index 0 is line 1. */
  lineStarts: number[];
  /** The syntax tree (acorn's ESTree), for the instrumenter. */
  program: acorn.Program;
}

export class SourceParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'SourceParseError';
  }
}

type AnyNode = acorn.Node & Record<string, unknown>;
type AcornError = SyntaxError & { pos?: number; loc?: { line: number; column: number } };

const MARKER = /(^|\s|\*)@profile\b/;

/**
 * Parses as V8 will run it when that is known (`scriptParsed.isModule`), else as a module first (import/export,
 * top-level await) and then as a script (sloppy-mode code such as `with`). Module parsing is much slower on very
 * large files, so a known script is parsed as one first.
 */
export function parseSource(source: string, kind: 'module' | 'script' | 'unknown' = 'unknown'): ParsedSource {
  const comments: acorn.Comment[] = [];
  let program: acorn.Program;
  const base: acorn.Options = {
    ecmaVersion: 'latest',
    locations: true,
    allowHashBang: true,
    allowReturnOutsideFunction: true,
    allowAwaitOutsideFunction: true,
    onComment: comments,
  };
  const order: Array<'module' | 'script'> =
    kind === 'module' ? ['module'] : kind === 'script' ? ['script', 'module'] : ['module', 'script'];
  const errors: AcornError[] = [];
  let parsed: acorn.Program | undefined;
  for (const sourceType of order) {
    comments.length = 0;
    try {
      parsed = acorn.parse(source, { ...base, sourceType });
      break;
    } catch (err) {
      errors.push(err as AcornError);
    }
  }
  if (!parsed) {
    // Report the parse that got further: a module's real error, not the script parse tripping on `import`.
    const e = errors.reduce((a, b) => ((b.pos ?? -1) > (a.pos ?? -1) ? b : a));
    throw new SourceParseError(e.message, e.loc?.line ?? 0, e.loc?.column ?? 0);
  }
  program = parsed;
  const lineStarts = computeLineStarts(source);
  const markers = comments.filter((c) => MARKER.test(c.value));
  const functions: SourceFunction[] = [];
  walk(program as unknown as AnyNode, [], functions, markers, comments, source);
  functions.sort((a, b) => a.start - b.start);
  return { functions, lineStarts, program };
}

/** Offsets where lines start, with JavaScript's line terminators (\n, \r\n, \r, U+2028, U+2029), as V8 counts. */
export function computeLineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029) starts.push(i + 1);
    else if (c === 13) {
      if (source.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** The source's lines, split where V8 and computeLineStarts split them. */
export function splitLines(source: string): string[] {
  return source.split(/\r\n|[\r\n\u2028\u2029]/);
}

/** 1-based line of an offset. */
export function lineOfOffset(lineStarts: number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function isFunction(node: AnyNode): boolean {
  return (
    node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression'
  );
}

function walk(
  node: AnyNode,
  ancestors: AnyNode[],
  out: SourceFunction[],
  markers: acorn.Comment[],
  comments: acorn.Comment[],
  source: string,
): void {
  if (isFunction(node)) out.push(describe(node, ancestors, markers, comments, source));
  ancestors.push(node);
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'range') continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value) if (isNode(child)) walk(child, ancestors, out, markers, comments, source);
    } else if (isNode(value)) {
      walk(value, ancestors, out, markers, comments, source);
    }
  }
  ancestors.pop();
}

function isNode(value: unknown): value is AnyNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function describe(
  fn: AnyNode,
  ancestors: AnyNode[],
  markers: acorn.Comment[],
  comments: acorn.Comment[],
  source: string,
): SourceFunction {
  const anchors = [fn.start];
  const path = nameOf(fn, ancestors, anchors, source) ?? ['(anonymous)'];
  const body = fn.body as AnyNode;
  const loc = fn.loc as acorn.SourceLocation;
  return {
    name: path.join('.'),
    simpleName: path[path.length - 1]!,
    start: fn.start,
    end: fn.end,
    bodyStart: body.start,
    expressionBody: body.type !== 'BlockStatement',
    startLine: loc.start.line,
    endLine: loc.end.line,
    isAsync: fn.async === true,
    isGenerator: fn.generator === true,
    markedByComment: anchors.some((a) => isMarkedAt(a, markers, comments, source)) || isMarkedAtEndOfFirstLine(body, markers, source),
    anchors,
    ...collectControlFlow(body),
  };
}

/**
 * Works out the name a user would write (as path segments: `['Store', 'load']`), and collects the offsets of the
 * declaration a marker comment may precede: the function itself, its method or property, its `const` statement, its
 * assignment statement, and the `export` around a function or variable declaration (not around a class, whose
 * marker is not its methods').
 */
function nameOf(fn: AnyNode, ancestors: AnyNode[], anchors: number[], source: string): string[] | undefined {
  const own = (fn.id as AnyNode | null | undefined)?.name as string | undefined;
  const parent = ancestors[ancestors.length - 1];
  const i = ancestors.length - 1;
  // What holds the declaration statement, to see whether it is exported.
  let declarationHolder: AnyNode | undefined = fn.type === 'FunctionDeclaration' ? parent : undefined;
  let name: string[] | undefined = own ? [own] : undefined;
  if (parent?.type === 'MethodDefinition' || parent?.type === 'PropertyDefinition') {
    anchors.push(parent.start);
    const key = keyName(parent.key as AnyNode, parent.computed === true, source);
    const cls = ancestors[i - 2]; // MethodDefinition ← ClassBody ← Class
    const clsName = cls ? className(cls, ancestors[i - 3]) : undefined;
    // `static lex` and `lex` in one class (marked's Lexer): the instance one is `Lexer.prototype.lex`, as JavaScript
    // names it, so that the two never share a name (`--function Lexer.lex` still matches both).
    const members = (ancestors[i - 1]?.body as AnyNode[] | undefined) ?? [];
    const shadowed = parent.static !== true && members.some((m) => m !== parent && m.static === true && m.computed !== true && keyName(m.key as AnyNode, false, source) === key);
    name = clsName ? (shadowed ? [clsName, 'prototype', key] : [clsName, key]) : [key];
  } else if (parent?.type === 'Property') {
    anchors.push(parent.start);
    const key = keyName(parent.key as AnyNode, parent.computed === true, source);
    const obj = ancestors[i - 1];
    const holder = obj ? bindingName(ancestors[i - 2], obj) : undefined;
    name = name ?? (holder ? [...holder, key] : [key]);
  } else if (parent?.type === 'VariableDeclarator' && parent.init === fn) {
    const id = (parent.id as AnyNode).name as string | undefined;
    name = name ?? (id ? [id] : undefined);
    const declaration = ancestors[i - 1];
    if (declaration) anchors.push(declaration.start);
    declarationHolder = ancestors[i - 2];
  } else if (parent?.type === 'AssignmentExpression' && parent.right === fn) {
    name = name ?? withClassForThis(parent.left as AnyNode, memberPath(parent.left as AnyNode), ancestors);
    const stmt = ancestors[i - 1];
    if (stmt?.type === 'ExpressionStatement') anchors.push(stmt.start);
  } else if (parent?.type === 'ExportDefaultDeclaration') {
    name = name ?? ['default'];
    anchors.push(parent.start);
  }
  // `export function f`, `export const f = …`: a marker may precede the export keyword.
  const holder = declarationHolder?.type;
  if (holder === 'ExportNamedDeclaration' || holder === 'ExportDefaultDeclaration') anchors.push(declarationHolder!.start);
  return name;
}

/**
 * `this.handler = () => …` inside a class's constructor is how compilers emit a class field (`handler = () => …` in
 * TypeScript with an older target): named `Store.handler`, as the user wrote it.
 */
function withClassForThis(left: AnyNode, path: string[] | undefined, ancestors: AnyNode[]): string[] | undefined {
  if (!path || path.length !== 1 || left.type !== 'MemberExpression' || (left.object as AnyNode).type !== 'ThisExpression') {
    return path;
  }
  for (let i = ancestors.length - 1; i >= 2; i--) {
    const node = ancestors[i]!;
    if (isFunction(node) && node.type !== 'ArrowFunctionExpression') {
      const method = ancestors[i - 1];
      if (method?.type !== 'MethodDefinition') return path;
      const cls = className(ancestors[i - 3]!, ancestors[i - 4]);
      return cls ? [cls, path[0]!] : path;
    }
  }
  return path;
}

function className(cls: AnyNode, parentOfClass: AnyNode | undefined): string | undefined {
  const id = (cls.id as AnyNode | null | undefined)?.name as string | undefined;
  if (id) return id;
  if (parentOfClass?.type === 'VariableDeclarator') return (parentOfClass.id as AnyNode).name as string | undefined;
  return undefined;
}

function bindingName(parent: AnyNode | undefined, value: AnyNode): string[] | undefined {
  if (parent?.type === 'VariableDeclarator' && parent.init === value) {
    const id = (parent.id as AnyNode).name as string | undefined;
    return id ? [id] : undefined;
  }
  if (parent?.type === 'AssignmentExpression' && parent.right === value) return memberPath(parent.left as AnyNode);
  return undefined;
}

function keyName(key: AnyNode, computed: boolean, source: string): string {
  if (!computed && key.type === 'Identifier') return key.name as string;
  if (key.type === 'PrivateIdentifier') return `#${key.name as string}`;
  if (key.type === 'Literal') return String(key.value);
  return `[${source.slice(key.start, key.end)}]`;
}

/** `module.exports.load` → `load`, `Store.prototype.load` → `Store.load`, `a.b.c` → `a.b.c`. */
function memberPath(node: AnyNode): string[] | undefined {
  const parts: string[] = [];
  let cur: AnyNode | undefined = node;
  while (cur && cur.type === 'MemberExpression') {
    const prop = cur.property as AnyNode;
    if (cur.computed === true && prop.type !== 'Literal') return undefined;
    parts.unshift(prop.type === 'Literal' ? String(prop.value) : (prop.name as string));
    cur = cur.object as AnyNode;
  }
  if (cur?.type === 'Identifier') parts.unshift(cur.name as string);
  else if (cur?.type === 'ThisExpression') parts.unshift('this');
  else return undefined;
  const kept = parts.filter((p) => p !== 'prototype');
  if (kept[0] === 'module' && kept[1] === 'exports') kept.splice(0, 2);
  else if (kept[0] === 'exports' || kept[0] === 'this') kept.splice(0, 1);
  return kept.length > 0 ? kept : undefined;
}

/**
 * A marker counts when it ends on the line directly above the anchor (other comments may stand between, as a JSDoc
 * block often does) or ends before the anchor on the anchor's own line (`/* @profile *\/ function f`).
 */
function isMarkedAt(anchor: number, markers: acorn.Comment[], comments: acorn.Comment[], source: string): boolean {
  if (markers.length === 0) return false;
  // Walk back over the comments that directly precede the anchor, separated by white space only.
  let cursor = anchor;
  for (let i = comments.length - 1; i >= 0; i--) {
    const c = comments[i]!;
    if (c.end > cursor) continue;
    const between = source.slice(c.end, cursor);
    if (!/^\s*$/.test(between) || countNewlines(between) > 1) return false;
    // A marker after code on its line (`function outer() { // @profile`) marks that code's function, not this one.
    if (markers.includes(c)) return countNewlines(between) === 0 || standsOnItsOwnLine(c, source);
    cursor = c.start;
  }
  return false;
}

/**
 * `function f(i) { // @profile`: a marker that ends the line where the body opens, after nothing but white space
 * (users write it there).
 */
function isMarkedAtEndOfFirstLine(body: AnyNode, markers: acorn.Comment[], source: string): boolean {
  if (body.type !== 'BlockStatement') return false;
  return markers.some((c) => c.start > body.start && /^[ \t]*$/.test(source.slice(body.start + 1, c.start)));
}

/** Whether only white space stands between the start of the comment's line and the comment. */
function standsOnItsOwnLine(c: acorn.Comment, source: string): boolean {
  let i = c.start - 1;
  // A byte-order mark before the first line is no code.
  while (i >= 0 && (source[i] === ' ' || source[i] === '\t' || source[i] === '\uFEFF')) i--;
  return i < 0 || source[i] === '\n' || source[i] === '\r';
}

function countNewlines(text: string): number {
  return computeLineStarts(text).length - 1;
}

/**
 * Walks a function's own code (not nested functions'). Repeat ranges: parts that can run more than once per call (a
 * loop's test, update and body, a for-of/for-in's binding and body); a break location outside them runs at most once
 * per call, so it can open a new frame without doubt. Suspension offsets: where the call can be suspended.
 */
function collectControlFlow(body: AnyNode): Pick<SourceFunction, 'repeatRanges' | 'suspensionOffsets' | 'returnRanges'> {
  const repeatRanges: Array<[number, number]> = [];
  const returnRanges: Array<[number, number]> = [];
  const suspensionOffsets: number[] = [];
  const visit = (node: AnyNode): void => {
    if (isFunction(node)) return;
    switch (node.type) {
      case 'ForStatement': {
        const init = node.init as AnyNode | null;
        repeatRanges.push([init ? init.end : node.start, node.end]);
        break;
      }
      case 'ForInStatement':
      case 'ForOfStatement': {
        const right = node.right as AnyNode;
        repeatRanges.push([node.start, right.start], [right.end, node.end]);
        if (node.await === true) suspensionOffsets.push(right.end, node.end - 1);
        break;
      }
      case 'WhileStatement':
      case 'DoWhileStatement':
        repeatRanges.push([node.start, node.end]);
        break;
      case 'AwaitExpression':
      case 'YieldExpression':
        suspensionOffsets.push(node.start);
        break;
      case 'ReturnStatement':
        returnRanges.push([node.start, node.end]);
        break;
    }
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (const child of value) if (isNode(child)) visit(child);
      } else if (isNode(value)) visit(value);
    }
  };
  visit(body);
  return { repeatRanges, suspensionOffsets: suspensionOffsets.sort((a, b) => a - b), returnRanges };
}
