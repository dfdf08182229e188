/**
 * Finding and reading a script's source map: the `sourceMappingURL` V8 reported (a data: URL, or a path relative
 * to the script), read from disk as c8 does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RawSourceMap {
  version: number;
  sources: string[];
  sourcesContent?: Array<string | null>;
  sourceRoot?: string;
  mappings: string;
  names?: string[];
  file?: string;
}

export interface LoadedSourceMap {
  map: RawSourceMap;
  /** Where relative `sources` are resolved from: the map's own directory. */
  directory: string;
}

/** Reads the map of `scriptFile`; throws with a message fit for a warning when it cannot. */
export function loadSourceMap(scriptFile: string, sourceMapURL: string): LoadedSourceMap {
  if (sourceMapURL.startsWith('data:')) {
    const comma = sourceMapURL.indexOf(',');
    const meta = sourceMapURL.slice(5, comma);
    const data = sourceMapURL.slice(comma + 1);
    const text = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    return { map: parseMap(text), directory: path.dirname(scriptFile) };
  }
  const file = sourceMapURL.startsWith('file:')
    ? fileURLToPath(sourceMapURL)
    : path.resolve(path.dirname(scriptFile), decodeURIComponent(sourceMapURL));
  return { map: parseMap(fs.readFileSync(file, 'utf8')), directory: path.dirname(file) };
}

function parseMap(text: string): RawSourceMap {
  const map = JSON.parse(text) as RawSourceMap;
  if (map.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== 'string') {
    throw new Error('not a version 3 source map');
  }
  return map;
}
