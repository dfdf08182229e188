/**
 * The ES module hook of the probe engine, on Node's loader thread (`module.register`, registered by the `--import`
 * that lineprof puts after every user loader, so that it receives the final JavaScript of a TypeScript module). Each
 * ES module that holds a marked function is instrumented here; its plan (probe table, function descriptions) goes
 * to the main thread on a message port, which drains it synchronously before replaying any probe log.
 */
import { planModule } from './module-plan';
import type { EsmLoaderData } from './probe-agent';
import { isProgramScript } from '../scripts';

interface LoadContext {
  format?: string;
}

interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}

type NextLoad = (url: string, context: LoadContext) => Promise<LoadResult>;

let state: { data: EsmLoaderData; ids: Int32Array } | undefined;

export function initialize(data: EsmLoaderData): void {
  state = { data, ids: new Int32Array(data.ids) };
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!state || result.format !== 'module' || result.source == null || !url.startsWith('file:')) return result;
  if (!isProgramScript(url, state.data.config.includeNodeModules)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  const ids = state.ids;
  try {
    const plan = planModule({
      source,
      url,
      isModule: true,
      selection: state.data.config.selection,
      reserveIds: (count) => Atomics.add(ids, 0, count),
    });
    if (plan.functions.length === 0 && plan.warnings.length === 0 && plan.matchedLines.length === 0 && plan.mappedFiles.length === 0) {
      return result;
    }
    const { code, ...table } = plan;
    state.data.port.postMessage(table);
    return code === undefined ? result : { ...result, source: code };
  } catch (err) {
    state.data.port.postMessage({ ...emptyPlan(url), warnings: [`could not instrument ${url}: ${(err as Error).message}`] });
    return result;
  }
}

function emptyPlan(url: string) {
  return { url, code: undefined, functions: [], matchedFunctions: [], matchedLines: [], mappedFiles: [], columnShifts: [], warnings: [] };
}
