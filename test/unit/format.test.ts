import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTE_UNITS, formatBytes } from '../../src/report/format';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('formatBytes', () => {
  test('B: whole bytes, whatever the precision', () => {
    assert.equal(formatBytes(0, { unit: 'B', precision: 2 }), '0 B');
    assert.equal(formatBytes(1536, { unit: 'B', precision: 2 }), '1536 B');
    assert.equal(formatBytes(10.6, { unit: 'B', precision: 3 }), '11 B');
  });

  test('KiB, MiB and GiB divide by powers of 1024', () => {
    assert.equal(formatBytes(1536, { unit: 'KiB', precision: 2 }), '1.50 KiB');
    assert.equal(formatBytes(3 * MiB + MiB / 4, { unit: 'MiB', precision: 2 }), '3.25 MiB');
    assert.equal(formatBytes(GiB / 2, { unit: 'GiB', precision: 1 }), '0.5 GiB');
    // A fixed unit is kept even when the value is small or large for it
    assert.equal(formatBytes(512, { unit: 'MiB', precision: 3 }), '0.000 MiB');
    assert.equal(formatBytes(5 * GiB, { unit: 'KiB', precision: 0 }), '5242880 KiB');
  });

  test('auto picks the largest unit in which the magnitude is at least 1', () => {
    const auto = (n: number): string => formatBytes(n, { unit: 'auto', precision: 2 });
    assert.equal(auto(0), '0 B');
    assert.equal(auto(1023), '1023 B');
    assert.equal(auto(KiB), '1.00 KiB');
    assert.equal(auto(MiB - KiB), '1023.00 KiB');
    assert.equal(auto(MiB), '1.00 MiB');
    assert.equal(auto(1.5 * GiB), '1.50 GiB');
    assert.equal(auto(2048 * GiB), '2048.00 GiB');
  });

  test('negative numbers keep their sign, and auto chooses by magnitude', () => {
    const auto = (n: number): string => formatBytes(n, { unit: 'auto', precision: 2 });
    assert.equal(auto(-100), '-100 B');
    assert.equal(auto(-1536), '-1.50 KiB');
    assert.equal(auto(-3 * MiB), '-3.00 MiB');
    assert.equal(formatBytes(-2 * GiB, { unit: 'GiB', precision: 0 }), '-2 GiB');
    assert.equal(formatBytes(-1536, { unit: 'B', precision: 2 }), '-1536 B');
  });

  test('precision sets the digits after the decimal point, rounding', () => {
    const kib = (precision: number): string => formatBytes(1234567, { unit: 'KiB', precision });
    assert.equal(kib(0), '1206 KiB');
    assert.equal(kib(1), '1205.6 KiB');
    assert.equal(kib(3), '1205.632 KiB');
    assert.equal(formatBytes(1.999 * MiB, { unit: 'auto', precision: 1 }), '2.0 MiB');
  });

  test('BYTE_UNITS lists auto and every unit', () => {
    assert.deepEqual([...BYTE_UNITS], ['auto', 'B', 'KiB', 'MiB', 'GiB']);
  });
});
