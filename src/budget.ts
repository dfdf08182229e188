/**
 * Memory budgets for CI: pure verdicts on a result, one line each, or undefined when within budget.
 *
 * - `--max-increment` (run, attach): per call. A call's increment is the net change of the JS heap from its entry to
 *   its exit (what it allocated minus what garbage collections during it freed): what one call leaves behind. Per
 *   call rather than per line because a budget is about a unit of work (a request, a job), and a line in a loop sums
 *   over every iteration.
 * - `--max-peak` (usage): the largest RSS sampled (with the children's, when sampled), the figure the operating
 *   system and container limits see.
 */
import type { ProfileResult } from './model/types';
import { formatBytes } from './report/format';
import type { UsageResult } from './usage/model';

const FORMAT = { unit: 'auto' as const, precision: 2 };

/** Exit status when a budget is exceeded and the script itself succeeded. */
export const OVER_BUDGET_EXIT = 3;

export function incrementVerdict(result: ProfileResult, limitBytes: number): string | undefined {
  const over = result.functions
    .filter((f) => f.maxCallNetBytes !== null && f.maxCallNetBytes > limitBytes)
    .sort((a, b) => b.maxCallNetBytes! - a.maxCallNetBytes!);
  const worst = over[0];
  if (!worst) return undefined;
  const others = over.length > 1 ? ` (${over.length - 1} more function${over.length > 2 ? 's' : ''} over)` : '';
  return (
    `over budget: one call of ${worst.name} grew the JS heap by ${formatBytes(worst.maxCallNetBytes!, FORMAT)}, ` +
    `more than --max-increment ${formatBytes(limitBytes, FORMAT)}${others}`
  );
}

export function peakVerdict(result: UsageResult, limitBytes: number): string | undefined {
  if (result.peak.rss <= limitBytes) return undefined;
  return (
    `over budget: peak RSS ${formatBytes(result.peak.rss, FORMAT)} at ${result.peak.rssAt.toFixed(3)} s ` +
    `exceeds --max-peak ${formatBytes(limitBytes, FORMAT)}`
  );
}
