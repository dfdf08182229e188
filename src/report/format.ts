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
