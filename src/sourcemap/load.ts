/**
 * Finding and reading a script's source map: the `sourceMappingURL` V8 reported (a data: URL, or a path relative
 * to the script), read from disk as c8 does.
 */
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OriginalPosition, OriginalView } from './original';

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

/** The absolute path of one of the map's sources. */
export function resolveSource(source: string, loaded: LoadedSourceMap): string {
  if (source.startsWith('file:')) return fileURLToPath(source);
  return path.resolve(loaded.directory, loaded.map.sourceRoot ?? '', source);
}

/**
 * A synchronous view of the original sources through the map (the agent must decide what to instrument while V8
 * reports the script, before it runs): Node's own SourceMap for the lookups, sourcesContent or the disk for the text.
 */
export function originalViewOf(loaded: LoadedSourceMap): OriginalView {
  // Decoded on the first lookup: a script may need only the text (the text search before parsing).
  let decoded: SourceMap | undefined;
  const lookup = { findEntry: (line: number, column: number) => (decoded ??= new SourceMap(loaded.map as never)).findEntry(line, column) };
  const files = loaded.map.sources.map((source) => resolveSource(source, loaded));
  const byRaw = new Map(loaded.map.sources.map((source, i) => [source, files[i]!]));
  const contents = new Map<string, string | undefined>();
  return {
    files,
    originalOf(line: number, column: number): OriginalPosition | undefined {
      // findEntry gives the mapping at or before the position, possibly on an earlier line: code before the first
      // mapping of its line (a bundler's helpers) maps nowhere.
      const entry = lookup.findEntry(line - 1, column) as Partial<NodeSourceMapEntry>;
      if (entry.generatedLine !== line - 1 || entry.originalSource === undefined || entry.originalLine === undefined) {
        return undefined;
      }
      const file = byRaw.get(entry.originalSource) ?? resolveSource(entry.originalSource, loaded);
      return { file, line: entry.originalLine + 1, column: entry.originalColumn ?? 0 };
    },
    contentOf(file: string): string | undefined {
      if (!contents.has(file)) {
        const i = files.indexOf(file);
        let text = i >= 0 ? loaded.map.sourcesContent?.[i] ?? undefined : undefined;
        if (text === undefined) {
          try {
            text = fs.readFileSync(file, 'utf8');
          } catch {
            text = undefined;
          }
        }
        contents.set(file, text);
      }
      return contents.get(file);
    },
  };
}

interface NodeSourceMapEntry {
  generatedLine: number;
  generatedColumn: number;
  originalSource: string;
  originalLine: number;
  originalColumn: number;
}
