/**
 * The instrumenter: source + the functions to profile → the same source with probe calls inserted, the probe table,
 * and where text was inserted. Pure: no I/O, no V8.
 *
 * Every insertion stays on the line where it is made, so line numbers never move (`assertSameLines`), and the
 * column shift of each line is known from the insertion list (src/instrument/columns.ts maps columns back).
 *
 * What a marked function becomes (G is the probe runtime's global, T the call's token):
 *
 *     function f(a) {                     function f(a) {var __lp$t=G.e(0);
 *       const x = g(a);                     G.s(__lp$t,1);const x = g(a);
 *       for (let i = 0; i < n; i++) {       G.s(__lp$t,2);for (let i = 0; G.s(__lp$t,3),i < n; G.s(__lp$t,4),i++) {
 *         x.push(await h(i));                 G.s(__lp$t,5);x.push(G.v(__lp$t,7,await G.v(__lp$t,6,h(i))));
 *       }                                   }
 *       return x;                           G.s(__lp$t,8);return G.v(__lp$t,9,x);
 *     }                                   G.s(__lp$t,10);}
 *
 * - `e` opens a call and returns its token (a small integer): every later probe of the call names it, so calls are
 *   told apart exactly — recursion, interleaved async calls, generators — with no stack walk.
 * - `s` is a reading before a statement; `v` a reading that passes a value through (after a return value, an awaited
 *   or yielded operand, a resumed value is computed). An interval runs from one reading of a call to its next and is
 *   charged to the line of the first.
 * - No `try/finally`: the return value passing through a `finally` stops V8's escape analysis of returned objects
 *   (measured: 0 → 40 B per call). A probe after each return value and one before the closing brace close the call;
 *   a throw out of it is reported by a rethrowing catch (`throws`), which LiveEdit cannot take in an ES module (any
 *   insertion at a function's end gets the whole edit refused, BlockedByTopLevelEsModuleChange): without it the
 *   runtime closes such a call when a reading of a call below it comes.
 * - Multi-line statements are split as V8's breakpoints split them: a call that starts a line gets a reading before
 *   it (`(G.s(T,k),call())`), and a member chain continued on a new line gets one after the part before it.
 * - An arrow with an expression body gets a block body on the same line, so it has a token like any function.
 */
import type * as acorn from 'acorn';
import type { SourceFunction } from '../selection/find-functions';
import { lineOfOffset } from '../selection/find-functions';

/** The global object the probes call. */
export const PROBE_GLOBAL = '__lineprof';
/** Each instrumented function's own variable holding its call's token. */
export const TOKEN_VARIABLE = '__lp$t';

export const enum ProbeKind {
  /** Before a statement, or another point where the line's work begins. */
  Statement = 0,
  /** The call begins here (its first statement's line). */
  Entry = 1,
  /** The call ends here: after a return value is computed, or at the closing brace. */
  Exit = 2,
  /** After a return value is computed inside a `try` whose `finally` runs before the call ends. */
  Returning = 3,
  /** The end of the outermost such `finally`: the call ends here if it was returning. */
  FinallyEnd = 4,
  /** Before a `throw` statement: the call is leaving by a throw (what tells it apart where no catch reports it). */
  Throwing = 5,
}

export interface ProbeSite {
  /** Index, among the functions given, of the function the probe belongs to. */
  fn: number;
  /** 1-based line (of the source given) the interval that starts here is charged to. */
  line: number;
  /** An offset on the line charged (the line's position maps through a source map to the original line). */
  offset: number;
  kind: ProbeKind;
  /** The interval that starts here may contain a suspension of the call (an `await`, a `yield`, a `for await`). */
  maySuspend: boolean;
}

export interface InstrumentedSource {
  /** Probe `firstId + i` is `probes[i]`. */
  probes: ProbeSite[];
  /**
   * The instrumented text with probe ids from `firstId` (reserve `probes.length` ids first); with `lines`, only the
   * insertions on those lines, with the same ids (LiveEdit edits in steps).
   */
  render(firstId: number, lines?: ReadonlySet<number>): RenderedSource;
  /**
   * Lines whose insertions must go in together (a wrapper opened on one and closed on another), each sorted, with
   * the functions (indices) that have insertions there and those whose entry (the token's declaration) is there.
   */
  lineGroups(): LineGroup[];
}

export interface LineGroup {
  lines: number[];
  functions: number[];
  entries: number[];
}

export interface RenderedSource {
  code: string;
  /** [offset in the source given, inserted length], sorted by offset: what `columns.ts` maps back through. */
  insertions: Array<[number, number]>;
}

/** Probe ids are written as this placeholder around the probe's index until the first id is known. */
const ID = '\u0000';

export class InstrumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstrumentError';
  }
}

type Node = acorn.Node & Record<string, any>;

interface Edit {
  at: number;
  text: string;
  /**
   * At one offset: 0 closers, then 1 braces opened around a statement, then 2 probes before it, then 3 openers of
   * wrappers around an expression inside it.
   */
  order: 0 | 1 | 2 | 3;
  /** The other end of a wrapper: outer openers first (larger end), inner closers first (larger start). */
  partner: number;
  /** The function (index among those given) whose instrumentation this is. */
  fn: number;
  /** The function's entry, which declares its token. */
  entry?: boolean;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
const LOOP_TYPES = new Set(['ForStatement', 'ForInStatement', 'ForOfStatement', 'WhileStatement', 'DoWhileStatement']);

/** The children of a node, in source order (acorn's ESTree: every child is a node or an array of nodes). */
function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'type' || key === 'start' || key === 'end' || key === 'range') continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const v of value) if (v && typeof v.type === 'string') out.push(v);
    } else if (value && typeof value === 'object' && typeof value.type === 'string') {
      out.push(value);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The function nodes of the program by their start offset. */
function functionNodes(program: acorn.Program): Map<number, Node> {
  const byStart = new Map<number, Node>();
  const visit = (node: Node): void => {
    if (FUNCTION_TYPES.has(node.type)) {
      // A method's function node starts at its parameters; SourceFunction.start is the method's start. Key both.
      if (!byStart.has(node.start)) byStart.set(node.start, node);
    }
    if ((node.type === 'MethodDefinition' || node.type === 'Property') && node.value && FUNCTION_TYPES.has(node.value.type)) {
      byStart.set(node.start, node.value);
    }
    for (const child of children(node)) visit(child);
  };
  visit(program as unknown as Node);
  return byStart;
}

export interface InstrumentOptions {
  /**
   * Wrap each body in a try/catch that reports a throw out of the call (`G.t`). Without it a call left by a throw is
   * closed when a reading of a call below it comes (LiveEdit cannot take an insertion at a function's end).
   */
  throws: boolean;
  /**
   * For LiveEdit, which loses a function whose end moves: an arrow with an expression body is not given a block
   * (which would end after it) but `G.a(k)<0?0:G.x=E` in front of E: `a` opens the call, and the setter `x`,
   * given E's value, closes it (the assignment's value is E's). Not for async arrows, whose E resumes later.
   */
  expressionArrowsInPlace?: boolean;
  /**
   * Through a source map: where a generated offset is in the original (file, line, and the original line's text
   * before it), or undefined where nothing maps. The readings inside a statement then split it by original lines (a
   * minifier joins a function's statements into one line, one declaration or one comma sequence): a call or a
   * member chain's continuation that begins an original line, and each declarator or sequence element that comes
   * from another original line than the one before it.
   */
  original?: (offset: number) => OriginalSpot | undefined;
}

export interface OriginalSpot {
  file: string;
  line: number;
  /** The original line's text before the position. */
  before: string;
}

export function instrument(
  source: string,
  program: acorn.Program,
  lineStarts: number[],
  functions: SourceFunction[],
  options: InstrumentOptions,
): InstrumentedSource {
  const nodes = functionNodes(program);
  const edits: Edit[] = [];
  const probes: ProbeSite[] = [];
  const lineOf = (offset: number): number => lineOfOffset(lineStarts, offset);
  const G = PROBE_GLOBAL;
  const T = TOKEN_VARIABLE;

  functions.forEach((fn, fnIndex) => {
    const node = nodes.get(fn.start) ?? findFunctionAt(program, fn);
    if (!node) throw new InstrumentError(`no function at offset ${fn.start}`);
    const probe = (at: number, line: number, kind: ProbeKind, maySuspend = false): string => {
      probes.push({ fn: fnIndex, line, offset: at, kind, maySuspend });
      return `${ID}${probes.length - 1}${ID}`;
    };
    const point = (at: number, text: string): void => {
      edits.push({ at, text, order: 2, partner: at, fn: fnIndex });
    };
    const wrap = (start: number, end: number, open: string, close: string): void => {
      edits.push({ at: start, text: open, order: open === '{' ? 1 : 3, partner: end, fn: fnIndex });
      edits.push({ at: end, text: close, order: 0, partner: start, fn: fnIndex });
    };
    /**
     * A wrapper made after the edits inside it (from `mark` on): placed before them, as if made first, so that at a
     * tie (the same range) it is the outer one.
     */
    const wrapOutside = (mark: number, start: number, end: number, open: string, close: string): void => {
      wrap(start, end, open, close);
      edits.splice(mark, 0, ...edits.splice(edits.length - 2, 2));
    };
    /** `G.v(T,k,value)`: a sequence expression keeps its parentheses (they are not in its range). */
    const passValue = (n: Node, k: string): [string, string] =>
      n.type === 'SequenceExpression' ? [`${G}.v(${T},${k},(`, '))'] : [`${G}.v(${T},${k},`, ')'];
    const statementProbe = (at: number, line = lineOf(at), maySuspend = false, kind = ProbeKind.Statement): string =>
      `${G}.s(${T},${probe(at, line, kind, maySuspend)});`;

    const original = options.original;
    const sameOriginalLine = (a: OriginalSpot | undefined, b: OriginalSpot | undefined): boolean =>
      a !== undefined && b !== undefined && a.file === b.file && a.line === b.line;
    /** `(G.s(T,k),E)`: a reading before E, charged to the line of `at`. */
    const readBefore = (n: Node, at: number): void => {
      wrap(n.start, n.end, `(${G}.s(${T},${probe(at, lineOf(at), ProbeKind.Statement)}),`, ')');
    };
    /**
     * Whether a call at `at` gets a reading of its own: it begins a line other than its statement's (the original
     * lines through a source map, where `at` maps).
     */
    const callBeginsLine = (at: number, statementAt: number, statementLine: number): boolean => {
      const spot = original?.(at);
      if (spot) return spot.before.trim() === '' && !sameOriginalLine(spot, original!(statementAt));
      return startsLine(source, lineStarts, at) && lineOf(at) !== statementLine;
    };
    /** Whether a member chain continues on a line of its own at the property. */
    const dotBeginsLine = (n: Node): boolean => {
      const spot = original?.(n.property.start);
      if (spot) return /^\s*\??\.?$/.test(spot.before) && !sameOriginalLine(spot, original!(n.object.start));
      return dotStartsLine(source, lineStarts, n.object.end, n.property.start);
    };
    /** Through a source map: declarators and comma-separated expressions joined from several original lines. */
    const joinedParts = (n: Node): void => {
      if (!original) return;
      const parts: Array<{ at: number; value: Node | null }> =
        n.type === 'SequenceExpression'
          ? n.expressions.map((e: Node) => ({ at: e.start, value: e }))
          : n.type === 'VariableDeclaration'
            ? n.declarations.map((d: Node) => ({ at: d.start, value: d.init }))
            : [];
      for (let i = 1; i < parts.length; i++) {
        const { at, value } = parts[i]!;
        // An initialiser that is a function or class runs nothing, and a wrapper would lose its inferred name.
        if (!value || FUNCTION_TYPES.has(value.type) || value.type === 'ClassExpression') continue;
        const spot = original(at);
        if (spot && !sameOriginalLine(spot, original(parts[i - 1]!.at))) {
          readBefore(value, at);
          readAt.add(value.start);
        }
      }
    };
    /** Starts of the expressions already given a reading before them. */
    const readAt = new Set<number>();

    /** Readings inside one statement's expressions: calls starting a line, member chains, awaits and yields. */
    const expressionProbes = (root: Node, statementLine: number, statementAt: number): void => {
      const visit = (n: Node, inChain: boolean): void => {
        if (FUNCTION_TYPES.has(n.type) || n.type === 'ClassBody') return; // their own code, not this function's
        const chain = inChain || n.type === 'ChainExpression';
        joinedParts(n);
        if (n.type === 'AwaitExpression' || n.type === 'YieldExpression') {
          const line = lineOf(n.start);
          const resume = probe(n.start, line, ProbeKind.Statement);
          if (n.argument) {
            const suspend = probe(n.start, line, ProbeKind.Statement, true);
            wrap(n.start, n.end, `${G}.v(${T},${resume},`, ')');
            wrap(n.argument.start, n.argument.end, ...passValue(n.argument, suspend));
          } else {
            const suspend = probe(n.start, line, ProbeKind.Statement, true);
            wrap(n.start, n.end, `${G}.v(${T},${resume},`, ` ${G}.v(${T},${suspend},void 0))`);
          }
        } else if (!chain && (n.type === 'CallExpression' || n.type === 'NewExpression')) {
          if (!readAt.has(n.start) && callBeginsLine(n.start, statementAt, statementLine)) readBefore(n, n.start);
        } else if (!chain && n.type === 'MemberExpression' && n.object.type !== 'Super' && !n.optional && dotBeginsLine(n)) {
          const line = lineOf(n.property.start);
          wrap(n.object.start, n.object.end, ...passValue(n.object, probe(n.property.start, line, ProbeKind.Statement)));
        }
        for (const child of children(n)) {
          // `new X\n.Y()`: the callee of a `new` is not a value to pass through (that would construct the probe).
          if (n.type === 'NewExpression' && child === n.callee) visitCallee(child, chain);
          else visit(child, chain);
        }
      };
      /** The callee of a `new`: its member chain stays as it is; what is inside it (arguments, computed keys) not. */
      const visitCallee = (n: Node, inChain: boolean): void => {
        if (n.type === 'MemberExpression') {
          visitCallee(n.object, inChain);
          if (n.computed) visit(n.property, inChain);
        } else {
          visit(n, inChain);
        }
      };
      visit(root, false);
    };

    /** Probes a statement in a statement list: a reading before it, then inside it. */
    /** How many `try … finally` blocks (or their handlers) of this function the walk is inside. */
    let finallyDepth = 0;
    /** The first statement of the body: the entry probe stands right before it and is its reading. */
    let entryStatement: Node | undefined;
    const statement = (s: Node): void => {
      if (s.type === 'FunctionDeclaration' || s.type === 'EmptyStatement') return; // runs nothing where it stands
      const forAwait = s.type === 'ForOfStatement' && s.await === true;
      const kind = s.type === 'ThrowStatement' ? ProbeKind.Throwing : ProbeKind.Statement;
      if (s !== entryStatement || forAwait) point(s.start, statementProbe(s.start, lineOf(s.start), forAwait, kind));
      inside(s);
    };

    /** A statement in a position that takes one statement (an `if`'s branch, a loop body): given braces if needed. */
    const nested = (s: Node): void => {
      if (s.type === 'BlockStatement') {
        list(s.body);
        return;
      }
      if (s.type === 'EmptyStatement') return;
      wrap(s.start, s.end, '{', '}');
      statement(s);
    };

    const list = (body: Node[]): void => {
      for (const s of body) statement(s);
    };

    /** The parts of a statement that are not in a statement list of their own. */
    const inside = (s: Node): void => {
      const line = lineOf(s.start);
      switch (s.type) {
        case 'BlockStatement':
          list(s.body);
          return;
        case 'IfStatement':
          expressionProbes(s.test, line, s.start);
          nested(s.consequent);
          if (s.alternate) nested(s.alternate);
          return;
        case 'LabeledStatement':
          // The label must stay right before its loop (`continue label`), through other labels: no braces, no probe
          // between them.
          if (LOOP_TYPES.has(s.body.type) || s.body.type === 'BlockStatement' || s.body.type === 'LabeledStatement') inside(s.body);
          else nested(s.body);
          return;
        case 'ForStatement': {
          if (s.init) expressionProbes(s.init, line, s.start);
          const headerLine = line;
          if (s.test) {
            point(s.test.start, `${G}.s(${T},${probe(s.test.start, headerLine, ProbeKind.Statement)}),`);
            expressionProbes(s.test, headerLine, s.start);
          }
          if (s.update) {
            point(s.update.start, `${G}.s(${T},${probe(s.update.start, headerLine, ProbeKind.Statement)}),`);
            expressionProbes(s.update, headerLine, s.start);
          }
          nested(s.body);
          return;
        }
        case 'WhileStatement':
        case 'DoWhileStatement': {
          const testLine = lineOf(s.test.start);
          point(s.test.start, `${G}.s(${T},${probe(s.test.start, testLine, ProbeKind.Statement)}),`);
          expressionProbes(s.test, testLine, s.test.start);
          nested(s.body);
          return;
        }
        case 'ForInStatement':
        case 'ForOfStatement': {
          expressionProbes(s.right, line, s.start);
          // Each iteration's step (the iterator's next(), awaited in `for await`) is charged to the header: a reading
          // at the body's end starts it, the body's first reading ends it. (A `continue` skips that reading: the step
          // then goes to the line of the `continue`.)
          const body = s.body as Node;
          const isAwait = s.type === 'ForOfStatement' && s.await === true;
          // `;`: the last statement may end without one on this line.
          const end = `;${statementProbe(s.start, line, isAwait)}`;
          if (body.type === 'BlockStatement') {
            list(body.body);
            point(body.end - 1, end);
          } else {
            edits.push({ at: body.start, text: '{', order: 1, partner: body.end, fn: fnIndex });
            edits.push({ at: body.end, text: `${end}}`, order: 0, partner: body.start, fn: fnIndex });
            statement(body);
          }
          return;
        }
        case 'SwitchStatement':
          expressionProbes(s.discriminant, line, s.start);
          for (const c of s.cases) list(c.consequent);
          return;
        case 'TryStatement': {
          // A `return` in the block or the handler of a try with a finally ends the call only after the finally.
          const outermost = s.finalizer && finallyDepth === 0;
          if (s.finalizer) finallyDepth++;
          list(s.block.body);
          if (s.handler) list(s.handler.body.body);
          if (s.finalizer) {
            finallyDepth--;
            list(s.finalizer.body);
            if (outermost) {
              const end = s.finalizer.end - 1;
              point(end, `;${G}.s(${T},${probe(end, lineOf(end), ProbeKind.FinallyEnd)});`);
            }
          }
          return;
        }
        case 'WithStatement':
          expressionProbes(s.object, line, s.start);
          nested(s.body);
          return;
        case 'ReturnStatement': {
          if (s.argument) {
            const mark = edits.length;
            expressionProbes(s.argument, line, s.start);
            const exit = probe(s.start, line, finallyDepth > 0 ? ProbeKind.Returning : ProbeKind.Exit);
            wrapOutside(mark, s.argument.start, s.argument.end, ...passValue(s.argument, exit));
          } else {
            const exit = probe(s.start + 6, line, finallyDepth > 0 ? ProbeKind.Returning : ProbeKind.Exit);
            point(s.start + 6, ` ${G}.v(${T},${exit},void 0)`);
          }
          return;
        }
        default:
          expressionProbes(s, line, s.start);
      }
    };

    const body = node.body as Node;
    // A throw out of the call is seen where it happens: `try{…}catch(e){G.t(T);throw e}` around the body. (A catch
    // that rethrows keeps the error, its stack and the rejection of an async call as they were; measured, it does not
    // change what V8 allocates, unlike a `finally` that the return value must pass through.)
    const throws = options.throws && (body.type !== 'BlockStatement' || blockKeepsDeclarations(body));
    const tryOpen = throws ? 'try{' : '';
    const tryClose = throws ? `}catch(${TOKEN_VARIABLE}e){${G}.t(${T});throw ${TOKEN_VARIABLE}e}` : '';
    if (body.type === 'BlockStatement') {
      const statements = body.body as Node[];
      let first = 0;
      while (first < statements.length && statements[first]!.directive !== undefined) first++;
      const entryAt = first > 0 ? statements[first - 1]!.end : body.start + 1;
      const firstStatement = statements.slice(first).find((st) => st.type !== 'FunctionDeclaration' && st.type !== 'EmptyStatement');
      entryStatement = firstStatement;
      const entryLine = firstStatement ? lineOf(firstStatement.start) : lineOf(body.end - 1);
      const entryOffset = firstStatement ? firstStatement.start : body.end - 1;
      // A directive may end without a semicolon (`'use strict'` then a line break): the entry must not continue it.
      const after = first > 0 && source[entryAt - 1] !== ';' ? ';' : '';
      point(entryAt, `${after}var ${T}=${G}.e(${probe(entryOffset, entryLine, ProbeKind.Entry)});${tryOpen}`);
      edits[edits.length - 1]!.entry = true;
      list(statements.slice(first));
      const closeLine = lineOf(body.end - 1);
      point(body.end - 1, `;${G}.s(${T},${probe(body.end - 1, closeLine, ProbeKind.Exit)});${tryClose}`);
      if (throws) {
        // The try opened with the entry and its catch here go in together (LiveEdit makes its edits by line).
        const entry = edits.find((e) => e.entry && e.fn === fnIndex)!;
        entry.partner = body.end - 1;
        edits[edits.length - 1]!.partner = entry.at;
      }
    } else if (options.expressionArrowsInPlace) {
      // Nothing after E: the entry's token waits on the runtime's stack of such calls until the setter takes it.
      probe(body.start, lineOf(body.start), ProbeKind.Entry);
      probe(node.end - 1, lineOf(node.end - 1), ProbeKind.Exit);
      point(body.start, `${G}.a(${ID}${probes.length - 2}${ID})<0?0:${G}.x=`);
    } else {
      // An arrow's expression body: `=> E` becomes `=> {var T=G.e(k);return G.v(T,x,E)}` on the same lines.
      const arrow = arrowOf(source, node);
      const line = lineOf(body.start);
      const entry = probe(body.start, line, ProbeKind.Entry);
      const mark = edits.length;
      expressionProbes(body, line, body.start);
      const exit = probe(node.end - 1, lineOf(node.end - 1), ProbeKind.Exit);
      wrapOutside(mark, arrow, node.end, `{var ${T}=${G}.e(${entry});${tryOpen}return ${G}.v(${T},${exit},`, `)${tryClose}}`);
    }
  });

  // Outer wrappers are made first: at the same range, openers in the order made and closers in the reverse order.
  const ordered = edits
    .map((edit, made) => ({ edit, made }))
    .sort(
      ({ edit: a, made: ma }, { edit: b, made: mb }) =>
        a.at - b.at ||
        a.order - b.order ||
        (a.order === 2 ? ma - mb : b.partner - a.partner || (a.order === 0 ? mb - ma : ma - mb)),
    )
    .map(({ edit }) => edit);
  return {
    probes,
    render: (firstId, lines) => render(source, lineStarts, lines ? ordered.filter((e) => lines.has(lineOf(e.at))) : ordered, firstId),
    lineGroups: () => lineGroupsOf(ordered, lineOf),
  };
}

function lineGroupsOf(edits: Edit[], lineOf: (offset: number) => number): LineGroup[] {
  const parent = new Map<number, number>();
  const find = (l: number): number => {
    let root = l;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root)!;
    parent.set(l, root);
    return root;
  };
  for (const e of edits) {
    const a = lineOf(e.at);
    const b = lineOf(e.partner);
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    parent.set(find(a), find(b));
  }
  const groups = new Map<number, LineGroup>();
  const groupOf = (line: number): LineGroup => {
    const root = find(line);
    let group = groups.get(root);
    if (!group) groups.set(root, (group = { lines: [], functions: [], entries: [] }));
    return group;
  };
  for (const l of parent.keys()) groupOf(l).lines.push(l);
  for (const e of edits) {
    const group = groupOf(lineOf(e.at));
    if (!group.functions.includes(e.fn)) group.functions.push(e.fn);
    if (e.entry && !group.entries.includes(e.fn)) group.entries.push(e.fn);
  }
  for (const g of groups.values()) g.lines.sort((x, y) => x - y);
  return [...groups.values()].sort((x, y) => x.lines[0]! - y.lines[0]!);
}

/**
 * Whether the body's declarations mean the same inside a block: a function declared at the top of a body may share
 * its name with a `var` (or another such function), which a block does not allow.
 */
function blockKeepsDeclarations(body: Node): boolean {
  const functions = new Set<string>();
  for (const s of body.body as Node[]) {
    if (s.type !== 'FunctionDeclaration') continue;
    if (functions.has(s.id.name)) return false;
    functions.add(s.id.name);
  }
  if (functions.size === 0) return true;
  let clash = false;
  const visit = (n: Node): void => {
    if (clash || FUNCTION_TYPES.has(n.type) || n.type === 'ClassBody') return;
    if (n.type === 'VariableDeclaration' && n.kind === 'var') {
      for (const d of n.declarations) for (const name of boundNames(d.id)) if (functions.has(name)) clash = true;
    }
    for (const child of children(n)) visit(child);
  };
  for (const s of body.body as Node[]) visit(s);
  return !clash;
}

function boundNames(pattern: Node): string[] {
  switch (pattern.type) {
    case 'Identifier':
      return [pattern.name];
    case 'ObjectPattern':
      return pattern.properties.flatMap((p: Node) => boundNames(p.type === 'RestElement' ? p.argument : p.value));
    case 'ArrayPattern':
      return pattern.elements.filter(Boolean).flatMap((e: Node) => boundNames(e));
    case 'RestElement':
      return boundNames(pattern.argument);
    case 'AssignmentPattern':
      return boundNames(pattern.left);
    default:
      return [];
  }
}

/** The offset right after an arrow's `=>` (a parenthesised body's `(` comes after it). */
function arrowOf(source: string, node: Node): number {
  const paramsEnd = node.params.length > 0 ? node.params[node.params.length - 1].end : node.start;
  // Between the parameters and the body stand only `async`, parentheses, a comma, white space and comments (which
  // may hold a `=>`): no string literal.
  for (let i = paramsEnd; i < node.body.start; i++) {
    if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) break;
      i = end + 1;
    } else if (source.startsWith('//', i)) {
      while (i < node.body.start && !/[\n\r\u2028\u2029]/.test(source[i]!)) i++;
    } else if (source.startsWith('=>', i)) {
      return i + 2;
    }
  }
  throw new InstrumentError('arrow function without =>');
}

/** A function not found by its start (a method whose SourceFunction starts at its key): the innermost containing it. */
function findFunctionAt(program: acorn.Program, fn: SourceFunction): Node | undefined {
  let found: Node | undefined;
  const visit = (node: Node): void => {
    if (node.end < fn.start || node.start > fn.end) return;
    if (FUNCTION_TYPES.has(node.type) && node.start >= fn.start && node.end <= fn.end) {
      if (!found || node.end - node.start > found.end - found.start) found = node;
      return;
    }
    for (const child of children(node)) visit(child);
  };
  visit(program as unknown as Node);
  return found;
}

/** Whether only whitespace stands between the start of the offset's line and the offset. */
function startsLine(source: string, lineStarts: number[], offset: number): boolean {
  const line = lineOfOffset(lineStarts, offset);
  return source.slice(lineStarts[line - 1], offset).trim() === '';
}

/** Whether the `.` (or `[`) between an object and its property begins a line after the object's end. */
function dotStartsLine(source: string, lineStarts: number[], objectEnd: number, propertyStart: number): boolean {
  const between = source.slice(objectEnd, propertyStart);
  const dot = between.search(/[.[]/);
  if (dot < 0) return false;
  const at = objectEnd + dot;
  return lineOfOffset(lineStarts, at) > lineOfOffset(lineStarts, objectEnd) && startsLine(source, lineStarts, at);
}

const PLACEHOLDER = new RegExp(`${ID}(\\d+)${ID}`, 'g');

/** A character that would run into a neighbouring word (`return!0` must not become `return__lineprof…`). */
const WORD_CHAR = /[\w$\u0080-\uffff]/;

function render(source: string, lineStarts: number[], edits: Edit[], firstId: number): RenderedSource {
  const parts: string[] = [];
  const insertions: Array<[number, number]> = [];
  let tail = '';
  const insert = (at: number, length: number): void => {
    const previous = insertions[insertions.length - 1];
    if (previous && previous[0] === at) previous[1] += length;
    else insertions.push([at, length]);
  };
  /** Appends a piece; a space goes first where it would otherwise join two words (the space is an insertion). */
  const emit = (piece: string, at: number, inserted: boolean): void => {
    if (piece.length === 0) return;
    if (WORD_CHAR.test(tail) && WORD_CHAR.test(piece[0]!)) {
      parts.push(' ');
      insert(at, 1);
    }
    parts.push(piece);
    tail = piece[piece.length - 1]!;
    if (inserted) insert(at, piece.length);
  };
  let last = 0;
  for (const edit of edits) {
    emit(source.slice(last, edit.at), last, false);
    emit(edit.text.replace(PLACEHOLDER, (_, k: string) => String(firstId + Number(k))), edit.at, true);
    last = edit.at;
  }
  emit(source.slice(last), last, false);
  const code = parts.join('');
  assertSameLines(source, code, lineStarts.length);
  return { code, insertions };
}

/** Instrumentation must never move a line: every probe's line, and every stack trace's, depends on it. */
function assertSameLines(source: string, code: string, lines: number): void {
  let count = 1;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029 || (c === 13 && code.charCodeAt(i + 1) !== 10)) count++;
  }
  if (count !== lines) throw new InstrumentError(`instrumentation moved lines (${lines} → ${count}) in a ${source.length}-character source`);
}
