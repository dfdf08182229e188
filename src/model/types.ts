/**
 * The result model: the versioned result users and tools read (ProfileResult, see docs/output-schema.md), made from
 * the agent's report (wire/agent-report.ts) by model/result.ts.
 */
import type { MarkReason } from '../selection/selectors';
import type { AgentReport } from '../wire/agent-report';

export const SCHEMA_VERSION = 1;

export interface LineProfile {
  line: number;
  content: string;
  occurrences: number;
  /** Bytes the line allocated on the JS heap (gross; garbage collection does not change it). */
  allocatedBytes: number;
  /** Change of the JS heap over the line: allocated minus what GCs that ran during the line freed. */
  netBytes: number;
  /** Change of external memory (ArrayBuffer and Buffer backing stores), which lives outside the JS heap. */
  externalBytes: number;
  /** JS heap in use right after the line (the largest over its occurrences); null when the line never ran. */
  memUsageBytes: number | null;
  /** Occurrences during which a garbage collection ran (their net figure includes what it freed). */
  gcAffected: number;
  /** Occurrences ended by a throw, charged up to the next reading. */
  thrownIntervals: number;
  /** Times a call was suspended on this line (`await`, `yield`). */
  suspensions: number;
  /**
   * Bytes allocated by any code from the start of the line until the call resumed, over its suspensions: what ran
   * while the call was suspended. Not in allocatedBytes or netBytes, nor in the function's totals.
   */
  suspendedBytes: number;
}

export interface FunctionProfile {
  name: string;
  file: string;
  url: string;
  startLine: number;
  endLine: number;
  markedBy: MarkReason[];
  calls: number;
  openCalls: number;
  allocatedBytes: number;
  netBytes: number;
  externalBytes: number;
  /** The largest net heap change of one call (what `--max-increment` checks); null when no call ended. */
  maxCallNetBytes: number | null;
  lines: LineProfile[];
  /** Attach: which engine read it, when one function's figures come from both (see AgentFunctionReport). */
  engine?: 'probes' | 'breakpoints' | 'breakpoints, then probes';
  /** The worker thread it ran in (its `worker_threads` threadId), with a table of its own; absent: the main thread. */
  thread?: number;
}

export interface ProfileResult {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'lineprof'; version: string };
  command: string;
  script: string | null;
  argv: string[];
  node: string;
  startedAt: string;
  durationMs: number;
  exit: { code: number | null; signal: string | null };
  functions: FunctionProfile[];
  unmatched: { functions: string[]; lines: string[] };
  stats: AgentReport['stats'];
  warnings: string[];
  /** The JS heap in use over the session (seconds since it began, bytes), for `lineprof plot`. */
  timeline?: Array<[t: number, heapInUse: number]>;
  /** The program died without its exit handlers (out of memory, abort, SIGKILL): the figures of its last report. */
  cutShort?: boolean;
}
