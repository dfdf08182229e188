/**
 * lineprof's library API. The CLI is a thin layer over these.
 *
 * @example
 * ```ts
 * import { runProfile, renderText } from 'lineprof';
 * const { result } = await runProfile({ script: 'fixtures/allocate.js' });
 * process.stdout.write(renderText(result, { unit: 'auto', precision: 2 }));
 * ```
 */
export { runProfile, startRun, NOTHING_MARKED } from './run';
export type { RunOptions, RunOutcome, RunHandle, ProfileOptions } from './run';
export { attachProfile, listTarget } from './attach';
export type { AttachOptions, AttachOutcome, AttachEnd, AttachProgress } from './attach';
export { renderText } from './report/text';
export { renderJson, parseResultJson } from './report/json';
export { formatBytes, BYTE_UNITS } from './report/format';
export type { ByteFormat, ByteUnit } from './report/format';
export { COLUMNS } from './report/columns';
export { SCHEMA_VERSION } from './model/types';
export type { ProfileResult, FunctionProfile, LineProfile } from './model/types';
export { LineprofError, UsageError, TargetError, ResultFileError } from './errors';
export { memoryUsage, profileLines, expectMemory } from './api';
export type { MemoryUsage, MemoryUsageOptions, LineTable, MemoryExpectation } from './api';
export { sampleUsage } from './usage/sample-usage';
export type { UsageOptions, UsageHandle } from './usage/sample-usage';
export { renderChart, renderCsv, summaryLine, parseUsageJson, USAGE_SCHEMA_VERSION } from './usage/model';
export type { UsageResult, UsageSample, UsageSpan, UsagePeak } from './usage/model';
export { plotDataOf } from './plot/data';
export { renderSvg } from './plot/svg';
export { renderHtml } from './plot/html';
export { incrementVerdict, peakVerdict, OVER_BUDGET_EXIT } from './budget';
export { parseBytes } from './report/format';
