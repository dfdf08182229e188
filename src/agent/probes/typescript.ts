/**
 * TypeScript that node strips itself (Node 22.18+, 23.6+: `process.features.typescript`): the hooks receive it
 * before stripping, so the probe engine strips it first, as node would (whitespace in place of the types: lines and
 * columns stay), and instruments the JavaScript.
 */
import Module from 'node:module';

type Strip = (code: string, options?: { mode?: 'strip' }) => string;

/** The module's JavaScript, or undefined where node has no type stripping. Throws on syntax stripping cannot erase. */
export function stripTypes(source: string): string | undefined {
  const strip = (Module as unknown as { stripTypeScriptTypes?: Strip }).stripTypeScriptTypes;
  if (!strip) return undefined;
  // It warns that it is experimental, on the program's stderr: not lineprof's to say.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!/stripTypeScriptTypes/.test(text)) (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return strip(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Whether this node runs TypeScript by itself. */
export function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: string | false }).typescript);
}
