/**
 * The agent's entry points for `lineprof attach`: the controller sends this file's bundle into a running process
 * (src/inspector/remote-agent.ts) and calls these functions by name. The agent lives under a global symbol between calls; `finish` removes everything it added.
 */
import type { AgentConfig, AgentReport } from '../wire/agent-report';
import { PROBE_GLOBAL } from '../instrument/instrument';
import { AGENT_MODULE_KEY } from '../wire/attach-protocol';
import type { LeaseTerms, ProgressChannel, ProgressMessage } from '../wire/attach-protocol';
import * as inspector from 'node:inspector';
import { takeLease } from './lease';
import type { Lease } from './lease';
import { Agent, listScripts, RECORDER_GLOBAL } from './agent';
import { LiveEditAgent, NoLiveEditError } from './probes/live-edit';
import type { ScriptListing } from './agent';

const KEY = Symbol.for('lineprof.attachedAgent');
const MODULE_KEY = Symbol.for(AGENT_MODULE_KEY);

/** What either engine gives the attached agent. */
interface Engine {
  start(): void;
  stop(): void;
  report(final: boolean): AgentReport;
  callCount(): number;
  hitCount(): number;
  /** The controller's first request after the start (the probe engine settles an edit that waited for it). */
  onControllerRequest?(): void;
}

interface Attached {
  agent: Engine;
  lease?: Lease;
  timer?: NodeJS.Timeout;
  binding?: string;
  onExit?: () => void;
}

type Holder = { [KEY]?: Attached };

function current(): Engine {
  const attached = (globalThis as Holder)[KEY];
  if (!attached) throw new Error('lineprof is not attached to this process');
  return attached.agent;
}

/**
 * Starts profiling: instruments the scripts already loaded and every script loaded from now on. Progress goes out
 * from a timer, between the program's tasks, never in the middle of a profiled line (an evaluation sent by the
 * controller could run there and its allocations would land in that line).
 */
export function start(config: AgentConfig, progress?: ProgressChannel, lease?: LeaseTerms): { functions: number; warnings: string[]; leaseless?: boolean } {
  const holder = globalThis as Holder;
  if (holder[KEY]) throw new Error('another lineprof is already attached to this process');
  // Two profilers in one process would each see the other's readings in the program's lines.
  if (PROBE_GLOBAL in globalThis || RECORDER_GLOBAL in globalThis) throw new Error('this process is being profiled by lineprof run already attached');
  const probes = (config.engine === 'probes' || config.engine === 'auto') && config.mode !== 'spans';
  let agent: Engine = probes ? new LiveEditAgent(config) : new Agent(config);
  const attached: Attached = { agent };
  holder[KEY] = attached;
  try {
    try {
      agent.start();
    } catch (err) {
      // auto: a Node without LiveEdit (26) is read by breakpoints; nothing was edited.
      if (!(err instanceof NoLiveEditError) || config.engine !== 'auto') throw err;
      agent.stop();
      agent = attached.agent = new Agent(config);
      agent.start();
    }
  } catch (err) {
    remove();
    // The controller's progress binding (Runtime.removeBinding leaves the function in place).
    if (progress) delete (globalThis as Record<string, unknown>)[progress.binding];
    throw err;
  }
  if (progress) {
    attached.binding = progress.binding;
    const send = (extra: Partial<ProgressMessage>): void => {
      const binding = (globalThis as Record<string, unknown>)[progress.binding];
      if (typeof binding !== 'function') return;
      const message: ProgressMessage = {
        calls: agent.callCount(),
        hits: agent.hitCount(),
        heapUsed: process.memoryUsage().heapUsed,
        ...extra,
      };
      (binding as (payload: string) => void)(JSON.stringify(message));
    };
    let tick = 0;
    attached.timer = setInterval(
      () => send(++tick % progress.reportEvery === 0 ? { report: agent.report(false) } : {}),
      progress.everyMs,
    );
    attached.timer.unref();
    // A process that exits while a debugger is connected waits for it to disconnect (measured on Node 20: a
    // `process.exit()` neither exits nor prints while a session is attached): tell the controller, with the final
    // figures, so that it disconnects and the exit goes on.
    attached.onExit = () => {
      try {
        send({ report: agent.report(true), exiting: true });
      } catch {
        // The exit goes on as the program meant it.
      }
    };
    process.on('exit', attached.onExit);
  }
  if (lease) {
    // The controller died: put everything back, and close the inspector if lineprof opened it.
    attached.lease = takeLease(() => {
      remove();
      if (lease.closeInspector) inspector.close();
    });
  }
  const report = agent.report(false);
  return { functions: report.functions.length, warnings: report.warnings, ...(lease && !attached.lease ? { leaseless: true } : {}) };
}

/** Takes out everything `start` put in: breakpoints, the recorder global, the timer, the progress binding. */
function remove(): void {
  const holder = globalThis as Holder;
  const attached = holder[KEY];
  if (!attached) return;
  attached.agent.stop();
  attached.lease?.stop();
  if (attached.timer) clearInterval(attached.timer);
  if (attached.onExit) process.removeListener('exit', attached.onExit);
  if (attached.binding) delete (globalThis as Record<string, unknown>)[attached.binding];
  delete holder[KEY];
  unload();
}

/** Takes the agent's module out of the process when no agent is attached (after `list`, or on detach). */
export function unload(): void {
  if (!(globalThis as Holder)[KEY]) delete (globalThis as Record<symbol, unknown>)[MODULE_KEY];
}

/** The figures so far, without disturbing open calls. */
export function snapshot(): AgentReport {
  const agent = current();
  agent.onControllerRequest?.();
  return agent.report(false);
}

/** The final figures; removes every breakpoint and the agent. The process runs on as it was. */
export function finish(): AgentReport {
  const agent = current();
  try {
    return agent.report(true);
  } finally {
    remove();
  }
}

/** Removes everything without a report (the controller gave up). Safe to call when nothing is attached. */
export function abort(): void {
  remove();
}

/** The program's scripts (not node internals, nor node_modules unless asked) and their functions, marked or not. */
export function list(config: AgentConfig): ScriptListing[] {
  return listScripts(config);
}
