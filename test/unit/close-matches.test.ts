import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeMatches } from '../../src/selection/close-matches';

test('close matches: typos within two edits, qualified names by their last segment, substrings', () => {
  const names = ['handle', 'Store.load', 'Store.save', 'loadAll', '(anonymous)', 'unrelated'];
  assert.deepEqual(closeMatches('handel', names), ['handle']);
  assert.deepEqual(closeMatches('lod', names), ['Store.load']);
  assert.deepEqual(closeMatches('load', names).sort(), ['Store.load', 'loadAll']);
  assert.deepEqual(closeMatches('zzz', names), []);
});
