/**
 * The wire between the controller and the agent in the target: what the controller asks (AgentConfig, and for a
 * launched script PreloadConfig), and what the agent answers (AgentReport, and run's channel messages). Types only:
 * both sides import this, and the agent's bundle carries it. The result model (model/) is made from these.
 */
import type { MarkReason, SelectionSpec } from '../selection/selectors';

/** What the agent needs to know, whether it is preloaded (`run`) or injected into a running process (`attach`). */
export interface AgentConfig {
  selection: SelectionSpec;
  /** Profile functions in node_modules too (they are skipped otherwise, for speed). */
  includeNodeModules: boolean;
  gcEvery: number;
  calibrationSamples: number;
  /**
   * `lines` (default): every line of the marked functions. `spans`: only their entries and exits, with the time and
   * the heap at each (`lineprof usage`), cheap enough to leave on.
   */
  mode?: 'lines' | 'spans';
  /**
   * `probes` (run's default): the marked functions are instrumented as their modules load (run) or their scripts
   * edited in place (attach). `breakpoints`: never-pausing conditional breakpoints set through a same-thread
   * inspector session (spans, and code the hooks cannot reach). `auto` (attach's default): probes where the Node has
   * LiveEdit, breakpoints where it has not.
   */
  engine?: 'probes' | 'breakpoints' | 'auto';
  /** Attach with probes: a script whose edit is expected to stop the process longer than this keeps breakpoints. */
  maxEditPauseMs?: number;
}

/** What `lineprof run` tells the preloaded agent, through the LINEPROF_AGENT environment variable. */
export interface PreloadConfig extends AgentConfig {
  /** `lineprof usage`: start the memory sampler, at this interval (ms). */
  samplerIntervalMs?: number;
  /** File descriptor the agent writes its messages to (one JSON object per line). */
  channelFd: number;
  /** Where the agent saves its report (the latest snapshot, then the final one), in a private directory. */
  reportFile: string;
  /** File descriptor whose closing means the controller is gone. */
  lifelineFd: number;
}

export interface AgentFunctionReport {
  name: string;
  /** Script URL as V8 knows it (file:// for files). */
  url: string;
  /** File path when the URL is a file URL, else the URL. */
  file: string;
  startLine: number;
  /** 0-based column of the function's start, which tells apart two functions starting on one line. */
  startColumn: number;
  endLine: number;
  /** Source text of lines startLine..endLine. */
  source: string[];
  reasons: MarkReason[];
  isAsync: boolean;
  isGenerator: boolean;
  calls: number;
  openCalls: number;
  allocatedBytes: number;
  netBytes: number;
  externalBytes: number;
  /** The largest net heap change of one call; null when no call ended. */
  maxCallNetBytes: number | null;
  lines: Array<[number, LineStats]>;
  /** Attach: which engine read this function (an edit refused at first is read by breakpoints until it is taken). */
  engine?: 'probes' | 'breakpoints' | 'breakpoints, then probes';
  /** The `worker_threads` threadId of the worker the function ran in (set by the controller); absent: the main thread. */
  thread?: number;
  /** Lines that carry at least one recording breakpoint (lines that can show figures). */
  instrumentedLines: number[];
  /**
   * For a function of a source-mapped script: the generated code it was compiled to. Its figures are kept per
   * original line; locations that map nowhere in the original file are kept under the negated generated line.
   */
  generated?: GeneratedCode;
}

export interface GeneratedCode {
  url: string;
  file: string;
  startLine: number;
  endLine: number;
  /** Source text of the generated lines startLine..endLine. */
  source: string[];
}

export interface AgentReport {
  functions: AgentFunctionReport[];
  /** Selectors that matched no function in any script the target loaded. */
  /** `linesOutsideFunctions`: --line selectors in an original (source-mapped) file that was loaded. */
  /** `inNodeModules`: unmatched --function names that a function in a loaded node_modules script matches. */
  unmatched: { functions: string[]; lines: string[]; linesOutsideFunctions?: string[]; inNodeModules?: string[] };
  stats: RecorderStats & {
    locations: number;
    durationMs: number;
    /** Which engine took the figures (absent: breakpoints, before there were two). */
    engine?: 'probes' | 'breakpoints';
    /** Probe engine: readings that did more than record (a long interval's GC check, a full log). */
    slowProbes?: number;
    flushes?: number;
    orphanReadings?: number;
    unseenExits?: number;
    sweptBytes?: number;
    unexplainedDrops?: number;
    /**
     * Collections outside every line (lineprof's own work between two lines; breakpoints: its forced GCs are
     * `forcedGcs`), and the program's bytes they freed: Mem usage falls there with no Increment.
     */
    collectionsBetweenLines?: number;
    freedBetweenLines?: number;
    /** Attach with probes: how long each LiveEdit of a script stopped the target, in ms. */
    editPausesMs?: number[];
    /** Attach with probes: scripts whose edit waits for the task lineprof's start interrupted to end (ask again). */
    editsAwaitingTask?: number;
  };
  warnings: string[];
  /** True for the report taken when the target exits; false for a snapshot while it runs. */
  final: boolean;
  /** Spans mode: the calls seen, in the order they began (at most SPAN_LIMIT; `spansDropped` more). */
  spans?: SpanEvent[];
  spansDropped?: number;
  /** Lines mode: the JS heap in use over time, one point at most every few milliseconds of hits. */
  timeline?: Array<[t: number, heapInUse: number]>;
  /** The program died without its exit handlers (out of memory, abort, SIGKILL): the figures of its last report. */
  cutShort?: boolean;
}

export type AgentMessage =
  /** `t`: when the preload handed over to the script (epoch ms). */
  | { type: 'ready'; pid: number; t?: number }
  | { type: 'sample'; sample: HeapSample }
  /** `lineprof usage`: the main CommonJS module's code is about to run (epoch ms): its first line. */
  | { type: 'script-start'; t: number }
  /** A worker thread's agent has started; its report goes to `report-<threadId>.json` beside the main one. */
  | { type: 'thread'; threadId: number };

/** One call of a marked function seen by its entry and exit (`lineprof usage`); times are epoch milliseconds. */
export interface SpanEvent {
  /** Index into AgentReport.functions. */
  fn: number;
  start: number;
  /** Undefined while the call is open, or when it was left by a throw (no exit location fires then). */
  end?: number;
  heapStart: number;
  heapEnd?: number;
}


export interface LineStats {
  occurrences: number;
  allocatedBytes: number;
  netBytes: number;
  externalBytes: number;
  /** Largest heap in use seen right after the line (its Mem usage). */
  peakHeapInUse: number;
  /** Intervals of this line during which a garbage collection ran: their net figure includes what it freed. */
  gcIntervals: number;
  /** Intervals closed because the call was left by a throw (charged up to the next reading). */
  thrownIntervals: number;
  /** Times a call was suspended on this line (an `await` or `yield`): resumed later, or still suspended at the end. */
  suspensions: number;
  /**
   * Bytes allocated on the JS heap, by any code, from the start of the line until the call resumed: what ran while
   * it was suspended, with the line's own part before and after the suspension. Not in allocatedBytes/netBytes.
   */
  suspendedBytes: number;
}

export interface RecorderStats {
  hits: number;
  /** Hits the recorder failed on (they show in no figure). */
  lostHits: number;
  /** Machine code the JIT installed during profiled lines, taken out of their figures. */
  jitCodeBytes: number;
  calibrationHits: number;
  calibratedLocations: number;
  forcedGcs: number;
  userGcs: number;
  /** Collections that ran inside the recorder's own work (in no line's interval). */
  ownGcs?: number;
  /** Median, over calibrated locations, of the per-hit footprint removed (bytes). */
  medianOverheadBytes: number;
  /** Per-hit cost outside the condition, measured at start (bytes). */
  breakCostBytes?: number;
  /** Extra per-hit cost while a location is being calibrated, measured at start. */
  calibratingCostBytes?: number;
  /** Old-space bytes one condition evaluation takes, measured at start. */
  oldSpacePerEvaluationBytes?: number;
}

/** One reading; `t` is epoch milliseconds with sub-millisecond precision (the same clock as spans). */
export interface HeapSample {
  t: number;
  rss: number;
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
}
