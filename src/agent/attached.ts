/**
 * The agent's entry points for `lineprof attach`: the controller loads this file into a running process with
 * `Runtime.evaluate` (`require` of its absolute path, through the inspector's command-line API) and calls these
 * functions by name. The agent lives under a global symbol between calls; `finish` removes everything it added.
 */
import type { AgentConfig, AgentReport } from '../model/types';
import { Agent } from './agent';

const KEY = Symbol.for('lineprof.attachedAgent');

type Holder = { [KEY]?: Agent };

function current(): Agent {
  const agent = (globalThis as Holder)[KEY];
  if (!agent) throw new Error('lineprof is not attached to this process');
  return agent;
}

/** Starts profiling: instruments the scripts already loaded and every script loaded from now on. */
export function start(config: AgentConfig): { functions: number; warnings: string[] } {
  const holder = globalThis as Holder;
  if (holder[KEY]) throw new Error('another lineprof is already attached to this process');
  const agent = new Agent(config);
  holder[KEY] = agent;
  try {
    agent.start();
  } catch (err) {
    agent.stop();
    delete holder[KEY];
    throw err;
  }
  const report = agent.report(false);
  return { functions: report.functions.length, warnings: report.warnings };
}

/** Completed and open calls of the marked functions so far (cheap: no report is built). */
export function calls(): number {
  return current().callCount();
}

/** The figures so far, without disturbing open calls. */
export function snapshot(): AgentReport {
  return current().report(false);
}

/** The final figures; removes every breakpoint and the agent. The process runs on as it was. */
export function finish(): AgentReport {
  const agent = current();
  try {
    return agent.report(true);
  } finally {
    agent.stop();
    delete (globalThis as Holder)[KEY];
  }
}

/** Removes everything without a report (the controller gave up). Safe to call when nothing is attached. */
export function abort(): void {
  const agent = (globalThis as Holder)[KEY];
  agent?.stop();
  delete (globalThis as Holder)[KEY];
}
