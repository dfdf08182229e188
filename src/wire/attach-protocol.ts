/**
 * What the controller and the agent in an attached process agree on: where the agent's module lives in the target,
 * the URL its bundle is evaluated under, and the progress messages it sends. Types and constants only: both sides
 * import this, and it is in the bundle.
 */
import type { AgentReport } from './agent-report';

/** `globalThis[Symbol.for(AGENT_MODULE_KEY)]` holds the agent's module between calls; it is removed on detach. */
export const AGENT_MODULE_KEY = 'lineprof.agentModule';
/** The URL the bundle is evaluated under: the one script of lineprof's in the target, never profiled. */
export const AGENT_SCRIPT_URL = 'lineprof-agent.js';
/** Attach with probes: a script whose edit is expected to stop the process longer than this (ms) keeps breakpoints. */
export const DEFAULT_MAX_EDIT_PAUSE_MS = 500;

/** How the agent reports progress: a binding the controller added (Runtime.addBinding), called from a timer. */
export interface ProgressChannel {
  binding: string;
  everyMs: number;
  /** Every this many ticks, the whole report goes too (so a target that dies leaves recent figures behind). */
  reportEvery: number;
}

export interface ProgressMessage {
  calls: number;
  hits: number;
  /** The process's JS heap in use now (bytes). */
  heapUsed: number;
  report?: AgentReport;
  /** The process is exiting: this is the last message, with the final report. */
  exiting?: boolean;
}

/** What the agent does if the controller vanishes (src/agent/lease.ts): it always puts the process back. */
export interface LeaseTerms {
  /** lineprof opened the inspector (--pid): close it too. */
  closeInspector: boolean;
}
