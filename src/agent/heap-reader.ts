/**
 * The heap counters and the clock, read with zero allocation on every supported Node (20, 22, 24, 26).
 *
 * `process.binding('v8')` is gone on Node 24 and 26, and the public `v8.getHeapStatistics()` allocates its result
 * object (0–600 B a call depending on the JIT tier: not a constant that could be removed). The internal binding behind
 * it is still there, held in the closure of `v8.getHeapStatistics` (the variable `binding`): a same-thread inspector
 * session reaches it once through the function's `[[Scopes]]` and hands it out. After that a reading is a native call
 * that fills a Float64Array. The clock is the same: `process.hrtime`'s closure holds its binding (whose `hrtime()`
 * fills a Uint32Array, `hrValues`) — a reading allocates nothing, unlike `performance.now()` when not optimised.
 *
 * The one-time lookup costs a few milliseconds and ~100 KB of young garbage; callers do it before anything is measured.
 */
import * as inspector from 'node:inspector';
import * as v8 from 'node:v8';

export interface HeapBinding {
  heapStatisticsBuffer: Float64Array;
  updateHeapStatisticsBuffer(): void;
  heapSpaceStatisticsBuffer: Float64Array;
  updateHeapSpaceStatisticsBuffer(space: number): void;
  kUsedHeapSizeIndex: number;
  kExternalMemoryIndex: number;
  kSpaceUsedSizeIndex: number;
  /** Node 26 (V8 14.6) on: everything ever allocated, updated per allocation buffer. */
  kTotalAllocatedBytes?: number;
}

export interface ClockBinding {
  /** Fills `values` with [seconds high 32 bits, seconds low 32 bits, nanoseconds]. */
  hrtime(): void;
  values: Uint32Array;
}

export class HeapReaderError extends Error {
  constructor(message: string) {
    super(`cannot read V8's heap counters on Node ${process.version}: ${message}`);
    this.name = 'HeapReaderError';
  }
}

interface RemoteObject {
  objectId?: string;
  description?: string;
}

interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
}

interface GetPropertiesResult {
  result: PropertyDescriptor[];
  internalProperties?: PropertyDescriptor[];
}

const HANDOFF = '__lineprofHandoff';

/** Same-thread sessions answer synchronously, inside `post`: the callback has run when `post` returns. */
function postSync<T>(session: inspector.Session, method: string, params: object): T {
  let result: T | undefined;
  let error: Error | null = null;
  session.post(method, params, (err: Error | null, res?: object) => {
    error = err;
    result = res as T;
  });
  if (error) throw new HeapReaderError(`${method}: ${(error as Error).message}`);
  if (result === undefined) throw new HeapReaderError(`${method} gave no synchronous answer`);
  return result;
}

/** The values of the named variables in a function's closure scope. */
export function closureVariables(fn: Function, names: string[]): Map<string, unknown> {
  const session = new inspector.Session();
  session.connect();
  const found = new Map<string, unknown>();
  const global = globalThis as Record<string, unknown>;
  try {
    global[HANDOFF] = fn;
    const { result } = postSync<{ result: RemoteObject }>(session, 'Runtime.evaluate', { expression: `globalThis.${HANDOFF}` });
    const own = postSync<GetPropertiesResult>(session, 'Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    const scopes = own.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (!scopes) throw new HeapReaderError('the function has no [[Scopes]]');
    const list = postSync<GetPropertiesResult>(session, 'Runtime.getProperties', { objectId: scopes, ownProperties: true });
    for (const scope of list.result) {
      if (!scope.value?.objectId || !scope.value.description?.startsWith('Closure')) continue;
      const vars = postSync<GetPropertiesResult>(session, 'Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true });
      for (const v of vars.result) {
        if (!names.includes(v.name) || found.has(v.name) || !v.value?.objectId) continue;
        postSync(session, 'Runtime.callFunctionOn', {
          objectId: v.value.objectId,
          functionDeclaration: `function () { globalThis.${HANDOFF} = this; }`,
        });
        found.set(v.name, global[HANDOFF]);
      }
    }
  } finally {
    delete global[HANDOFF];
    session.disconnect();
  }
  return found;
}

let heap: HeapBinding | undefined;
let clock: ClockBinding | undefined;

/** V8's heap statistics binding. Cached: looked up once per process. */
export function heapBinding(): HeapBinding {
  if (heap) return heap;
  const binding = closureVariables(v8.getHeapStatistics, ['binding']).get('binding') as HeapBinding | undefined;
  if (!binding || typeof binding.updateHeapStatisticsBuffer !== 'function' || !(binding.heapStatisticsBuffer instanceof Float64Array)) {
    throw new HeapReaderError('v8.getHeapStatistics no longer holds its binding');
  }
  heap = binding;
  return heap;
}

/** The process clock's binding. Cached. */
export function clockBinding(): ClockBinding {
  if (clock) return clock;
  const vars = closureVariables(process.hrtime, ['binding', 'hrValues']);
  const binding = vars.get('binding') as { hrtime?: () => void } | undefined;
  const values = vars.get('hrValues');
  if (typeof binding?.hrtime !== 'function' || !(values instanceof Uint32Array)) {
    throw new HeapReaderError('process.hrtime no longer holds its binding');
  }
  const hrtime = binding.hrtime.bind(binding);
  clock = { hrtime, values };
  return clock;
}

/** Index of each heap space by name (the order `updateHeapSpaceStatisticsBuffer` takes), -1 for a missing one. */
export function spaceIndex(name: string): number {
  return v8.getHeapSpaceStatistics().findIndex((space) => space.space_name === name);
}
