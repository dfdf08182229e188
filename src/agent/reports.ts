/** The functions of an AgentReport: each marked function's description with its figures so far. */
import type { FunctionStats } from '../attribution/attributor';
import type { AgentFunctionInfo, AgentFunctionReport } from '../model/types';

export function functionReports(functions: Array<AgentFunctionInfo & { index: number }>, stats: FunctionStats[]): AgentFunctionReport[] {
  return functions.map(({ index, ...info }) => {
    const s = stats[index]!;
    return {
      ...info,
      calls: s.calls,
      openCalls: s.openCalls,
      allocatedBytes: s.allocatedBytes,
      netBytes: s.netBytes,
      externalBytes: s.externalBytes,
      maxCallNetBytes: s.maxCallNetBytes,
      lines: [...s.lines].sort((a, b) => a[0] - b[0]),
    };
  });
}
