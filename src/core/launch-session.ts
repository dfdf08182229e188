/**
 * The session of a script lineprof launches (`run`, `usage`): the request checked in full, the script started with
 * the agent, and one end — the script's exit, with the agent's latest report and the first reason lineprof had to
 * end it (a signal, a timeout), if any.
 */
import * as fs from 'node:fs';
import { TargetError, UsageError } from '../errors';
import type { SelectionSpec } from '../selection/selectors';
import { launchTarget } from '../target/launch';
import type { LaunchedTarget, LaunchOptions } from '../target/launch';
import type { AgentConfig, AgentReport } from '../wire/agent-report';
import type { StopSignal } from '../wire/run-protocol';
import { describeExit, exitStatus } from './exit-status';
import type { TargetExit } from './exit-status';
import { Outcome } from './outcome';
import type { SessionControls } from './signal-policy';
import {
  checkLineSelector,
  checkNodeArgs,
  checkSyntax,
  displayPath,
  lastLine,
  requireSomeMarker,
  resolveScript,
  withTypeScriptLoader,
} from './script-checks';

export interface LaunchRequest {
  /** The script, as the user named it (resolved against `cwd`). */
  script: string;
  args?: string[];
  /** Extra flags for `node` itself. */
  nodeArgs?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  markers?: boolean;
  functions?: string[];
  lines?: string[];
}

/** A request that passed every check: what is launched. */
export interface CheckedLaunch {
  script: string;
  args: string[];
  nodeArgs: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  selection: SelectionSpec;
}

/**
 * Every check of a launch, before anything runs. `requireMarks`: refuse when nothing is marked anywhere (`run`; for
 * `usage` marks are optional, they only add spans).
 */
export function checkLaunch(request: LaunchRequest, requireMarks: boolean): CheckedLaunch {
  const cwd = request.cwd ?? process.cwd();
  if (!fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`the working directory ${cwd} does not exist or is not a directory`);
  }
  const env = request.env ?? process.env;
  const script = resolveScript(request.script, cwd);
  checkNodeArgs(request.nodeArgs ?? [], env);
  const nodeArgs = withTypeScriptLoader(script, cwd, request.nodeArgs ?? [], env);
  checkSyntax(script, cwd, nodeArgs, env);
  const selection: SelectionSpec = {
    markers: request.markers ?? true,
    functions: request.functions ?? [],
    lines: (request.lines ?? []).map((text) => checkLineSelector(text, cwd)),
  };
  if (requireMarks && selection.functions.length === 0 && selection.lines.length === 0) {
    requireSomeMarker(script, selection.markers);
  }
  return { script, args: request.args ?? [], nodeArgs, cwd, env: request.env, selection };
}

/** Why lineprof ended the script, when it did (else it ended by itself: 'exit'). */
export type LaunchStop = 'signal' | 'timeout';

export interface LaunchEnd {
  exit: TargetExit;
  /** The agent's latest report: its final one, or (killed, out of memory) its last periodic one; none if neither. */
  report: AgentReport | undefined;
  endedBy: LaunchStop | 'exit';
}

export type LaunchIo = Pick<LaunchOptions, 'stdout' | 'stderr' | 'sampler' | 'defaultNodeFlags'>;

export class LaunchSession implements SessionControls {
  /** Resolves once the agent is in place (the script runs from then on); rejects, the script ended, if it never is. */
  readonly ready: Promise<void>;
  /** The session's one end: the script's exit. */
  readonly ended: Promise<LaunchEnd>;
  private readonly target: LaunchedTarget;
  private readonly stopped = new Outcome<LaunchStop>();

  constructor(readonly request: CheckedLaunch, agent: AgentConfig, io: LaunchIo = {}) {
    this.target = launchTarget({
      script: request.script,
      scriptArgs: request.args,
      nodeArgs: request.nodeArgs,
      agent,
      cwd: request.cwd,
      env: request.env,
      ...io,
    });
    this.ready = this.awaitAgent();
    this.ended = this.target.exited.then((exit) => ({
      exit,
      report: this.target.latestReport(),
      endedBy: this.stopped.value ?? 'exit',
    }));
    this.ready.catch(() => undefined);
    // A spawn that failed rejects both: `ready` says why in one line, and `ended` is never awaited then.
    this.ended.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.target.child.pid;
  }

  stderrTail(): string {
    return this.target.stderrTail();
  }

  /** Stops the script as the signal would, after its final report, also while it is busy in synchronous code. */
  stop(signal: StopSignal, why: LaunchStop = 'signal'): void {
    this.stopped.settle(why);
    this.target.interrupt(signal);
    // The terminal's Ctrl-C reaches the script itself (same process group); any other signal only lineprof got.
    if (signal !== 'SIGINT') this.target.kill(signal);
  }

  /** Ends the script now, after its report (SIGKILL 5 s later if that cannot be made). */
  end(): void {
    this.stopped.settle('signal');
    this.target.interrupt('end');
  }

  kill(): void {
    this.stopped.settle('signal');
    this.target.kill('SIGKILL');
  }

  /** A script that ends before its agent is ready: one line with its status and the last thing it said. */
  private async awaitAgent(): Promise<void> {
    try {
      await this.target.ready;
    } catch (err) {
      this.target.kill('SIGKILL');
      // Node never started (the spawn itself failed): the error already says so.
      const exit = await this.target.exited.catch(() => undefined);
      if (!exit) throw err;
      if (err instanceof TargetError && err.code === 'target-exit') {
        throw new TargetError(
          `${displayPath(this.request.script, this.request.cwd)} exited (${describeExit(exit)}) before it could be profiled` +
            lastLine(this.target.stderrTail()),
          'target-exit',
          exitStatus(exit),
        );
      }
      throw err;
    }
  }
}
