/**
 * lineprof's agent in a process it did not launch. The agent travels over the connection: one bundled script
 * (dist/src/agent/attached.bundle.js, made from attached.ts by the build) is evaluated in the target, so attach needs
 * nothing of lineprof's on the target's disk (a container, another machine behind a tunnel, an `npx` cache gone
 * since). Its entry points are then called by name; the agent takes its module out again when it detaches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TargetError } from '../errors';
import { AGENT_MODULE_KEY, AGENT_SCRIPT_URL } from '../wire/attach-protocol';
import { FIRST_ANSWER_MS } from './session';
import type { InspectorSession } from './session';

/** The bundle the build makes of src/agent/attached.ts (acorn and the rest inside it; node's built-ins are `require`d). */
export const AGENT_BUNDLE = path.join(__dirname, '..', 'agent', 'attached.bundle.js');

const AGENT_GONE = "lineprof's agent is no longer in the process";

let bundleText: string | undefined;

function bundle(): string {
  if (bundleText === undefined) {
    try {
      bundleText = fs.readFileSync(AGENT_BUNDLE, 'utf8');
    } catch (err) {
      throw new TargetError(`lineprof's agent bundle is missing (${(err as Error).message}): rebuild lineprof (npm run build)`);
    }
  }
  return bundleText;
}

export class RemoteAgent {
  private constructor(private readonly session: InspectorSession) {}

  /**
   * Puts the agent's module into the target unless one is there already (another lineprof's, or one left by a
   * lineprof that died: its own `start` then says whether an agent is attached). The inspector's command-line API
   * gives the evaluated script `require`, for node's built-in modules only.
   */
  static async load(session: InspectorSession): Promise<RemoteAgent> {
    const key = JSON.stringify(AGENT_MODULE_KEY);
    // The first question: a target that does not answer it quickly is not going to (see EVALUATE_TIMEOUT_MS).
    const present = await session.evaluate<boolean>(`Symbol.for(${key}) in globalThis`, FIRST_ANSWER_MS);
    if (!present) {
      await session.evaluate(
        `(function (require) { const module = { exports: {} }; const exports = module.exports;\n${bundle()}\n` +
          `Object.defineProperty(globalThis, Symbol.for(${key}), { value: module.exports, configurable: true, writable: true }); })(require);\n` +
          `//# sourceURL=${AGENT_SCRIPT_URL}`,
      );
    }
    return new RemoteAgent(session);
  }

  /**
   * Calls one of the agent's entry points with JSON arguments; its value comes back as JSON. The module can be gone
   * since `load`: the agent of a lineprof that was leaving takes it out once it has put the process back. That is a
   * TargetError with the code 'agent-gone' (load again).
   */
  async call<T>(fn: string, ...args: unknown[]): Promise<T> {
    const list = args.map((a) => JSON.stringify(a)).join(', ');
    const module = `globalThis[Symbol.for(${JSON.stringify(AGENT_MODULE_KEY)})]`;
    try {
      return await this.session.evaluate<T>(`(${module} ?? (() => { throw new Error(${JSON.stringify(AGENT_GONE)}); })()).${fn}(${list})`);
    } catch (err) {
      if (err instanceof TargetError && err.message === AGENT_GONE) throw new TargetError(AGENT_GONE, 'agent-gone');
      throw err;
    }
  }
}
