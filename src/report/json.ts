/** The canonical output: the ProfileResult as JSON (docs/output-schema.md). */
import { ResultFileError } from '../errors';
import { SCHEMA_VERSION } from '../model/types';
import type { ProfileResult } from '../model/types';

export function renderJson(result: ProfileResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

/** Reads a saved result back, refusing anything that is not a lineprof result of this schema version. */
export function parseResultJson(text: string, origin: string): ProfileResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(`${origin} is not JSON: ${(err as Error).message}`);
  }
  const v = value as Partial<ProfileResult> | null;
  if (!v || typeof v !== 'object' || v.tool?.name !== 'lineprof' || !Array.isArray(v.functions)) {
    throw new ResultFileError(`${origin} is not a lineprof result (write one with lineprof run --json FILE)`);
  }
  if (v.schemaVersion !== SCHEMA_VERSION) {
    throw new ResultFileError(
      `${origin} has schema version ${String(v.schemaVersion)}; this lineprof reads version ${SCHEMA_VERSION}`,
    );
  }
  v.functions.forEach((fn, i) => checkFunction(fn, `${origin}: functions[${i}]`));
  (v.timeline ?? []).forEach((point, i) => {
    if (!Array.isArray(point) || !point.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw new ResultFileError(`${origin}: timeline[${i}] is not two finite numbers: not a lineprof result`);
    }
  });
  // Results saved before suspensions were reported have no such fields: nothing was suspended in them.
  for (const fn of v.functions) for (const line of fn.lines) {
    line.suspensions ??= 0;
    line.suspendedBytes ??= 0;
  }
  return v as ProfileResult;
}

const FUNCTION_FIELDS = { name: 'string', file: 'string', startLine: 'number', endLine: 'number', calls: 'number' };
const LINE_FIELDS = {
  line: 'number',
  content: 'string',
  occurrences: 'number',
  allocatedBytes: 'number',
  netBytes: 'number',
  externalBytes: 'number',
};

/** A result whose entries lack the fields the tables need is refused in one line, not half rendered. */
function checkFunction(fn: unknown, where: string): void {
  checkFields(fn, FUNCTION_FIELDS, where);
  const lines = (fn as { lines?: unknown }).lines;
  if (!Array.isArray(lines)) throw new ResultFileError(`${where} has no lines: not a lineprof result`);
  lines.forEach((line, i) => checkFields(line, LINE_FIELDS, `${where}.lines[${i}]`));
}

function checkFields(value: unknown, fields: Record<string, string>, where: string): void {
  if (!value || typeof value !== 'object') throw new ResultFileError(`${where} is not an object: not a lineprof result`);
  for (const [field, type] of Object.entries(fields)) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v !== type) throw new ResultFileError(`${where} has no ${type} ${field}: not a lineprof result`);
    // JSON reads 1e309 as Infinity.
    if (type === 'number' && !Number.isFinite(v)) throw new ResultFileError(`${where}.${field} is not a finite number: not a lineprof result`);
  }
}
