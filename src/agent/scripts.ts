/**
 * Which scripts are the program's, and their file paths: shared by both engines.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_SCRIPT_URL } from '../wire/attach-protocol';
import type { OriginalLayout, OriginalView } from '../sourcemap/original';

/**
 * lineprof's own code (compiled and dependencies) is never profiled. The bundle sent to an attached process has no
 * install folder (no __dirname): its one script is known by its URL.
 */
const OWN_ROOT = typeof __dirname === 'string' ? path.resolve(__dirname, '..', '..', '..') : undefined;
const OWN_DIRS = OWN_ROOT ? [path.join(OWN_ROOT, 'dist') + path.sep, path.join(OWN_ROOT, 'node_modules') + path.sep] : [];

/** A script of the program's own: not node's internals, not lineprof's, not node_modules unless asked. */
export function isProgramScript(url: string, includeNodeModules: boolean, excluded: readonly string[] = []): boolean {
  if (url.startsWith('node:') || url.startsWith('internal/') || url === AGENT_SCRIPT_URL || excluded.includes(url)) return false;
  const file = fileOf(url);
  if (OWN_DIRS.some((dir) => file.startsWith(dir))) return false;
  return includeNodeModules || !/[\\/]node_modules[\\/]/.test(file);
}

export function fileOf(url: string): string {
  if (url.startsWith('file:')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

/** The original text of the function's lines (blank where the original source is not available). */
export function originalLines(view: OriginalView, layout: OriginalLayout): string[] {
  const text = view.contentOf(layout.file)?.split(/\r?\n/) ?? [];
  return Array.from({ length: layout.endLine - layout.startLine + 1 }, (_, i) => text[layout.startLine - 1 + i] ?? '');
}
