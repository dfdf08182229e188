/** Byte formatting for the tables. Pure. */

export type ByteUnit = 'B' | 'KiB' | 'MiB' | 'GiB' | 'auto';

export const BYTE_UNITS: readonly ByteUnit[] = ['auto', 'B', 'KiB', 'MiB', 'GiB'];

const SCALE: Record<Exclude<ByteUnit, 'auto'>, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export interface ByteFormat {
  unit: ByteUnit;
  /** Digits after the decimal point for KiB and larger units (bytes are always whole). */
  precision: number;
}

/** `auto` picks, per value, the largest unit in which the magnitude is at least 1. */
export function formatBytes(bytes: number, format: ByteFormat): string {
  const unit = format.unit === 'auto' ? autoUnit(bytes) : format.unit;
  if (unit === 'B') return `${Math.round(bytes)} B`;
  return `${(bytes / SCALE[unit]).toFixed(format.precision)} ${unit}`;
}

function autoUnit(bytes: number): Exclude<ByteUnit, 'auto'> {
  const abs = Math.abs(bytes);
  if (abs >= SCALE.GiB) return 'GiB';
  if (abs >= SCALE.MiB) return 'MiB';
  if (abs >= SCALE.KiB) return 'KiB';
  return 'B';
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
};

/**
 * A size as people write it: `10MiB`, `10 MiB`, `200MB` (SI, 1000s), `1.5G` (a bare letter is binary), `4096`
 * (bytes). Throws on anything else, with the accepted forms.
 */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const scale = m ? (m[2] === '' ? 1 : SIZE_UNITS[m[2]!.toLowerCase()]) : undefined;
  if (!m || scale === undefined) {
    throw new Error(`not a size: "${text}" (write e.g. 10MiB, 200MB, 1.5GiB or a number of bytes)`);
  }
  return Math.round(Number(m[1]) * scale);
}
