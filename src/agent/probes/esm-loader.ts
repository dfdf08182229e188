/**
 * The ES module hook of the probe engine. On Node with `module.registerHooks` (22.15 on, 24, 26) it runs in the
 * program's thread (src/agent/probes/probe-agent.ts registers it); on Node 20 on Node's loader thread
 * (`module.register`, whose module this file also is), registered by the `--import` that lineprof puts after every
 * user loader, so that it receives the final JavaScript of a TypeScript module. Each ES module that holds a marked
 * function is instrumented here; on the loader thread its plan (probe table, function descriptions) goes to the
 * main thread on a message port, which drains it synchronously before replaying any probe log.
 */
import { planModule } from './module-plan';
import type { ModulePlan } from './module-plan';
import type { EsmLoaderData } from './probe-agent';
import { isProgramScript } from '../scripts';
import type { AgentConfig } from '../../wire/agent-report';

export interface LoadContext {
  format?: string;
}

export interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

/**
 * The instrumented result of an ES module's load, or the result as it was. `register` receives the module's plan
 * when it holds anything lineprof must know (marked functions, matched selectors, warnings).
 */
export function instrumentEsm(
  url: string,
  result: LoadResult,
  config: AgentConfig,
  reserveIds: (count: number) => number,
  register: (plan: Omit<ModulePlan, 'code'>) => void,
  shownText?: string,
): LoadResult {
  if (result.format !== 'module' || result.source == null || !url.startsWith('file:')) return result;
  const source =
    typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  if (!isProgramScript(url, config.includeNodeModules)) {
    // In node_modules: only whether a --function would match there (the hint to add --include-node-modules).
    // Only noted here: reading it comes with the report (this may run inside a profiled line's import()).
    if (isProgramScript(url, true) && config.selection.functions.length > 0) register({ ...emptyPlan(url), nodeModulesScript: true });
    return result;
  }
  try {
    const { code, ...table } = planModule({ source, url, isModule: true, selection: config.selection, reserveIds, shownText });
    if (table.functions.length > 0 || table.warnings.length > 0 || table.matchedLines.length > 0 || table.mappedFiles.length > 0) {
      register(table);
    }
    return code === undefined ? result : { ...result, source: code };
  } catch (err) {
    register({ ...emptyPlan(url), warnings: [`could not instrument ${url}: ${(err as Error).message}`] });
    return result;
  }
}

function emptyPlan(url: string): Omit<ModulePlan, 'code'> {
  return { url, functions: [], matchedFunctions: [], matchedLines: [], mappedFiles: [], columnShifts: [], warnings: [] };
}

// The loader thread (module.register, Node 20).
let state: { data: EsmLoaderData; ids: Int32Array } | undefined;

export function initialize(data: EsmLoaderData): void {
  state = { data, ids: new Int32Array(data.ids) };
}

export async function load(url: string, context: LoadContext, nextLoad: (url: string, context: LoadContext) => Promise<LoadResult>): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!state) return result;
  const { data, ids } = state;
  return instrumentEsm(url, result, data.config, (count) => Atomics.add(ids, 0, count), (plan) => data.port.postMessage(plan));
}
