/** Round axis bounds and ticks, shared by the SVG plot and the terminal chart. Pure. */
import { formatBytes } from '../report/format';
import type { ByteUnit } from '../report/format';

/** A byte axis: ticks every `step` from 0 to `top`, the smallest round top at or above the peak. */
export interface ByteScale {
  top: number;
  step: number;
  /** 0, step, 2·step … top. */
  ticks: number[];
}

/**
 * Steps of 1, 2, 2.5 or 5 times a power of ten of the unit the peak is printed in (B, KiB, MiB, GiB), and the
 * smallest step that reaches the peak in at most `maxTicks` of them: 257 MiB gets 0–300 MiB by 50 MiB, not 500.
 */
export function byteScale(peak: number, maxTicks = 6): ByteScale {
  const bytes = Math.max(peak, 1);
  const base = bytes >= 1024 ** 3 ? 1024 ** 3 : bytes >= 1024 ** 2 ? 1024 ** 2 : bytes >= 1024 ? 1024 : 1;
  const v = bytes / base;
  let magnitude = 10 ** Math.floor(Math.log10(v / maxTicks));
  let step = 0;
  for (;;) {
    const m = [1, 2, 2.5, 5].find((k) => Math.ceil(v / (k * magnitude) - 1e-9) <= maxTicks);
    if (m !== undefined) {
      step = m * magnitude;
      break;
    }
    magnitude *= 10;
  }
  // Whole bytes have no fractions of a byte to show.
  if (base === 1) step = Math.max(1, Math.ceil(step));
  const n = Math.max(1, Math.ceil(v / step - 1e-9));
  const ticks = Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12)) * base);
  return { top: ticks[n]!, step: step * base, ticks };
}

/** Time ticks of 1, 2 or 5 times a power of ten seconds, about `count` of them, from 0 to `end`. */
export function timeTicks(end: number, count = 8): number[] {
  const raw = Math.max(end, 1e-6) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= raw)! * magnitude;
  const ticks: number[] = [];
  for (let i = 0; i * step <= end + 1e-9; i++) ticks.push(Number((i * step).toFixed(6)));
  return ticks;
}

const UNITS: Array<[number, ByteUnit]> = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/**
 * A tick's label: in the unit of the axis's top and with as many decimals as the step needs (0, 50, … 300 MiB;
 * 0, 2.5, 5 MiB), so the labels of one axis line up and none rounds to its neighbour.
 */
export function tickLabel(bytes: number, ticks: number[]): string {
  const top = ticks[ticks.length - 1] ?? bytes;
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : top;
  const [scale, unit] = UNITS.find(([s]) => top >= s) ?? [1, 'B'];
  const stepInUnit = step / scale;
  const decimals = scale === 1 ? 0 : [0, 1, 2, 3].find((d) => Math.abs(Number(stepInUnit.toFixed(d)) - stepInUnit) < 1e-9) ?? 3;
  return formatBytes(bytes, { unit, precision: decimals });
}
