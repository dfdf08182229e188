/**
 * From the agent's report to the user-facing model: every source line of each function, lines that never ran
 * included (blank in the table), and functions parsed more than once (the same file loaded twice) merged. Pure.
 */
import { SCHEMA_VERSION } from './types';
import type { FunctionProfile, LineProfile, ProfileResult } from './types';
import type { AgentFunctionReport, AgentReport, LineStats } from '../wire/agent-report';

export function buildFunctionProfiles(report: AgentReport): FunctionProfile[] {
  const merged = new Map<string, FunctionProfile>();
  for (const fn of report.functions) {
    // The same function parsed twice (a file loaded again) has the same place and the same source.
    // Each thread's calls are its own table.
    const key = `${fn.thread ?? 0}\0${fn.file}\0${fn.startLine}:${fn.startColumn}\0${fn.name}\0${fn.source.join('\n')}`;
    const profile = toProfile(fn);
    const existing = merged.get(key);
    merged.set(key, existing ? mergeProfiles(existing, profile) : profile);
  }
  return withoutIdleCopies([...merged.values()]).sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine || (a.thread ?? 0) - (b.thread ?? 0));
}

/**
 * Each thread that loads a module instruments its marked functions: a function called in some threads only has a
 * table for those (one with no call in any thread keeps one table, the first thread's, saying "0 calls").
 */
function withoutIdleCopies(profiles: FunctionProfile[]): FunctionProfile[] {
  const place = (p: FunctionProfile): string => `${p.file}\0${p.startLine}\0${p.name}`;
  const groups = new Map<string, FunctionProfile[]>();
  for (const p of profiles) (groups.get(place(p)) ?? groups.set(place(p), []).get(place(p))!).push(p);
  return profiles.filter((p) => {
    const group = groups.get(place(p))!;
    // Only copies from other threads (two functions of one name on one line are two tables, as ever).
    if (p.calls + p.openCalls > 0 || group.every((o) => o.thread === p.thread)) return true;
    const called = group.some((o) => o.calls + o.openCalls > 0);
    return !called && group[0] === p;
  });
}

function toProfile(fn: AgentFunctionReport): FunctionProfile {
  const stats = new Map<number, LineStats>(fn.lines);
  const lines: LineProfile[] = fn.source.map((content, i) => {
    const line = fn.startLine + i;
    const s = stats.get(line);
    return {
      line,
      content,
      occurrences: s?.occurrences ?? 0,
      allocatedBytes: s?.allocatedBytes ?? 0,
      netBytes: s?.netBytes ?? 0,
      externalBytes: s?.externalBytes ?? 0,
      memUsageBytes: s && s.peakHeapInUse > 0 ? s.peakHeapInUse : null,
      gcAffected: s?.gcIntervals ?? 0,
      thrownIntervals: s?.thrownIntervals ?? 0,
      suspensions: s?.suspensions ?? 0,
      suspendedBytes: s?.suspendedBytes ?? 0,
    };
  });
  return {
    name: fn.name,
    file: fn.file,
    url: fn.url,
    startLine: fn.startLine,
    endLine: fn.endLine,
    markedBy: fn.reasons,
    calls: fn.calls,
    openCalls: fn.openCalls,
    allocatedBytes: fn.allocatedBytes,
    netBytes: fn.netBytes,
    externalBytes: fn.externalBytes,
    maxCallNetBytes: fn.maxCallNetBytes ?? null,
    lines,
    ...(fn.engine ? { engine: fn.engine } : {}),
    ...(fn.thread !== undefined ? { thread: fn.thread } : {}),
  };
}

function mergeProfiles(a: FunctionProfile, b: FunctionProfile): FunctionProfile {
  return {
    ...a,
    markedBy: [...new Set([...a.markedBy, ...b.markedBy])],
    calls: a.calls + b.calls,
    openCalls: a.openCalls + b.openCalls,
    allocatedBytes: a.allocatedBytes + b.allocatedBytes,
    netBytes: a.netBytes + b.netBytes,
    externalBytes: a.externalBytes + b.externalBytes,
    maxCallNetBytes: maxOf(a.maxCallNetBytes, b.maxCallNetBytes),
    ...(a.engine || b.engine ? { engine: engineOf(a, b) } : {}),
    lines: a.lines.map((l, i) => {
      const o = b.lines[i]!;
      const peaks = [l.memUsageBytes, o.memUsageBytes].filter((v): v is number => v !== null);
      return {
        ...l,
        occurrences: l.occurrences + o.occurrences,
        allocatedBytes: l.allocatedBytes + o.allocatedBytes,
        netBytes: l.netBytes + o.netBytes,
        externalBytes: l.externalBytes + o.externalBytes,
        memUsageBytes: peaks.length > 0 ? Math.max(...peaks) : null,
        gcAffected: l.gcAffected + o.gcAffected,
        thrownIntervals: l.thrownIntervals + o.thrownIntervals,
        suspensions: l.suspensions + o.suspensions,
        suspendedBytes: l.suspendedBytes + o.suspendedBytes,
      };
    }),
  };
}

/** The agent's heap timeline (epoch milliseconds) as seconds since the session began. */
export function timelineOf(report: AgentReport, startedAt: Date): Array<[number, number]> | undefined {
  const origin = startedAt.getTime();
  return report.timeline?.map(([t, bytes]): [number, number] => [Math.max(0, (t - origin) / 1000), bytes]);
}

/**
 * Attach: a function read by breakpoints (while its script could not be edited) and then by probes. Its probe
 * report lists it even before a call ran under probes: then breakpoints read all of it.
 */
function engineOf(a: FunctionProfile, b: FunctionProfile): FunctionProfile['engine'] {
  if (!a.engine || !b.engine || a.engine === b.engine) return a.engine ?? b.engine;
  const probes = [a, b].find((f) => f.engine === 'probes');
  if (!probes) return 'breakpoints, then probes';
  return probes.calls > 0 ? 'breakpoints, then probes' : 'breakpoints';
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/** What a result says of its command and target, beyond the agent's report. */
export interface ResultContext {
  command: 'run' | 'attach';
  /** The script's path, or the attached process's label. */
  script: string;
  argv: string[];
  startedAt: Date;
  durationMs: number;
  /** The Node version of the controller (process.version). */
  node: string;
  exit: { code: number | null; signal: string | null };
  tool: ProfileResult['tool'];
  /** Said first, before the report's own warnings. */
  warnings?: string[];
  cutShort?: boolean;
}

/** The one place a ProfileResult is made, for every command. */
export function profileResultOf(report: AgentReport, context: ResultContext): ProfileResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: context.tool,
    command: context.command,
    script: context.script,
    argv: context.argv,
    node: context.node,
    startedAt: context.startedAt.toISOString(),
    durationMs: context.durationMs,
    exit: context.exit,
    functions: buildFunctionProfiles(report),
    unmatched: report.unmatched,
    stats: report.stats,
    warnings: [...(context.warnings ?? []), ...warningsOf(report)],
    timeline: timelineOf(report, context.startedAt),
    ...(context.cutShort ? { cutShort: true } : {}),
  };
}

/** What the user should know about the figures of a run, beyond the tables. */
export function warningsOf(report: AgentReport): string[] {
  return [
    ...report.warnings,
    ...report.unmatched.functions.map((f) =>
      report.unmatched.inNodeModules?.includes(f)
        ? `--function ${f} matched no function in the program's own scripts; one in node_modules matches: add --include-node-modules`
        : `--function ${f} matched no function in the scripts the program loaded` +
        // Probes reach only what require and import load.
        (report.stats.engine === 'probes'
          ? ' (probes do not reach code made by eval, new Function or vm; --engine breakpoints does when it has a //# sourceURL)'
          : ''),
    ),
    ...report.unmatched.lines.map((l) =>
      report.unmatched.linesOutsideFunctions?.includes(l)
        ? `--line ${l} matched no function: that line is not inside a function`
        : `--line ${l} matched no function: that file was not loaded`,
    ),
  ];
}
