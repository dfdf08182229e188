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
  return v as ProfileResult;
}
