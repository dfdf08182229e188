/**
 * `lineprof run`: the request checked, the script launched with the agent (core/launch-session.ts), its end awaited,
 * and the agent's report turned into a ProfileResult.
 */
import { TargetError, UsageError } from '../errors';
import { debug } from '../debug';
import { profileResultOf, warningsOf } from '../model/result';
import type { ProfileResult } from '../model/types';
import { separateUnmappedLines } from '../sourcemap/apply';
import { checkLaunch, LaunchSession } from '../core/launch-session';
import type { LaunchRequest } from '../core/launch-session';
import { checkProfileOptions, DEFAULT_GC_EVERY, NOTHING_MARKED } from '../core/options';
import type { ProfileOptions } from '../core/options';
import { describeExit, exitStatus } from '../core/exit-status';
import type { TargetExit } from '../core/exit-status';
import type { SessionControls } from '../core/signal-policy';
import { displayPath, lastLine } from '../core/script-checks';
import { VERSION } from '../version';

export interface RunOptions extends ProfileOptions, LaunchRequest {
  /** Where the script's stderr goes (default: this process's). */
  stderr?: NodeJS.WritableStream;
  /** Where the script's stdout goes (default: inherited). */
  stdout?: NodeJS.WritableStream;
}

export interface RunOutcome {
  result: ProfileResult;
  exit: TargetExit;
}

/** A running profile: its one outcome, and the controls the signal policy uses (core/signal-policy.ts). */
export interface RunHandle extends SessionControls {
  /** Resolves when the script has ended and its figures are in. */
  done: Promise<RunOutcome>;
}

/** Runs the script to its end under the profiler. */
export async function runProfile(options: RunOptions): Promise<RunOutcome> {
  return startRun(options).done;
}

/** Checks the whole request (throwing a UsageError before anything runs), then launches the script. */
export function startRun(options: RunOptions): RunHandle {
  checkProfileOptions(options);
  const checked = checkLaunch(options, true);
  const startedAt = new Date();
  const session = new LaunchSession(
    checked,
    {
      selection: checked.selection,
      includeNodeModules: options.includeNodeModules ?? false,
      gcEvery: options.gcEvery ?? DEFAULT_GC_EVERY,
      calibrationSamples: options.calibrationSamples ?? 5,
      engine: options.engine ?? 'probes',
    },
    { stdout: options.stdout, stderr: options.stderr },
  );
  const done = (async (): Promise<RunOutcome> => {
    await session.ready;
    const { exit, report: agentReport } = await session.ended;
    const report = agentReport && separateUnmappedLines(agentReport);
    debug('target exit %o, report %s', exit, report ? 'received' : 'missing');
    if (!report) {
      throw new TargetError(
        `the script ended (${describeExit(exit)}) without lineprof's report: it was killed before its exit handlers ran`,
        'no-report',
        exitStatus(exit),
      );
    }
    if (report.functions.length === 0) {
      if (exit.code !== 0 || exit.signal) {
        // A script that failed before loading what was marked (a missing loader, an exception at startup).
        throw new TargetError(
          `${displayPath(checked.script, checked.cwd)} ended (${describeExit(exit)}) before any marked function was loaded` +
            lastLine(session.stderrTail()),
          'target-failed',
          exitStatus(exit),
        );
      }
      // A selector that found nothing says why better than the general advice.
      const unmatched = warningsOf(report).find((w) => w.startsWith('--line ') || w.startsWith('--function '));
      if (unmatched) throw new UsageError(unmatched, 'nothing-marked');
      throw new UsageError(`no marked function was found in the scripts the program loaded: ${NOTHING_MARKED}`, 'nothing-marked');
    }
    // The program died without its exit handlers (out of memory, abort, SIGKILL): the last report it saved stands.
    const cutShort = !report.final;
    const result = profileResultOf(report, {
      command: 'run',
      script: checked.script,
      argv: checked.args,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      node: process.version,
      tool: { name: 'lineprof', version: VERSION },
      exit: { code: exit.code, signal: exit.signal },
      cutShort,
      warnings: cutShort
        ? [
            `the script ended (${describeExit(exit)}) before lineprof's final report: the figures are those of its last ` +
              'report, at most a second before the end',
          ]
        : [],
    });
    return { result, exit };
  })();
  return {
    done,
    stop: (signal) => session.stop(signal),
    end: () => session.end(),
    kill: () => session.kill(),
  };
}
