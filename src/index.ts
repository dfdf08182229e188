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
export { runProfile, startRun } from './commands/run';
export type { RunOptions, RunOutcome, RunHandle } from './commands/run';
export { NOTHING_MARKED } from './core/options';
export type { ProfileOptions } from './core/options';
export type { SessionControls } from './core/signal-policy';
export { attachProfile, startAttach, listTarget } from './commands/attach';
export type { AttachOptions, AttachOutcome, AttachEnd, AttachProgress, AttachHandle } from './commands/attach';
export { renderText } from './report/text';
export { renderJson, parseResultJson } from './report/json';
export { formatBytes, BYTE_UNITS } from './report/format';
export type { ByteFormat, ByteUnit } from './report/format';
export { COLUMNS, MARKS } from './report/columns';
export type { ColumnDefinition, MarkDefinition } from './report/columns';
export { SCHEMA_VERSION } from './model/types';
export type { ProfileResult, FunctionProfile, LineProfile } from './model/types';
export { LineprofError, UsageError, TargetError, ResultFileError } from './errors';
export { memoryUsage, profileLines, expectMemory } from './api';
export type { MemoryUsage, MemoryUsageOptions, LineTable, MemoryExpectation } from './api';
export { sampleUsage } from './commands/usage';
export type { UsageOptions, UsageHandle } from './commands/usage';
export { renderCsv, summaryLine, parseUsageJson, USAGE_SCHEMA_VERSION } from './usage/model';
export { renderChart } from './usage/chart';
export type { UsageResult, UsageSample, UsageSpan, UsagePeak } from './usage/model';
export { plotDataOf, overlayPlotData } from './plot/data';
export { saveResult, listSaved, latestSaved, readResultFile, STORE_DIR } from './results/store';
export type { SavedEntry } from './results/store';
export { renderSvg } from './plot/svg';
export { renderHtml } from './plot/html';
export { incrementVerdict, peakVerdict, OVER_BUDGET_EXIT } from './budget';
export { parseBytes } from './report/format';
