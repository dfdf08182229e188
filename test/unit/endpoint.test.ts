import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectorHostOf } from '../../src/target/endpoint';

test('the host a process would open its inspector on, from its node flags and NODE_OPTIONS (the last one wins)', () => {
  assert.equal(inspectorHostOf(['node', 'server.js'], ''), undefined);
  assert.equal(inspectorHostOf(['node', '--inspect-port=0.0.0.0:9230', 'server.js'], ''), '0.0.0.0');
  assert.equal(inspectorHostOf(['node', '--inspect=9230', 'server.js'], ''), undefined);
  assert.equal(inspectorHostOf(['node', '--inspect=[::]:9230', 'server.js'], ''), '::');
  assert.equal(inspectorHostOf(['node', 'server.js'], '--inspect-port=10.0.0.5:9229'), '10.0.0.5');
  // The command line comes after NODE_OPTIONS, as node reads them.
  assert.equal(inspectorHostOf(['node', '--inspect-port=127.0.0.1:0', 'server.js'], '--inspect-port=0.0.0.0:0'), '127.0.0.1');
  assert.equal(inspectorHostOf(['node', '--inspect-port', '0.0.0.0:9229', 'server.js'], ''), '0.0.0.0');
  // Where the script's own arguments begin is not known for sure: they are read too (a refusal, not an exposure).
  assert.equal(inspectorHostOf(['node', 'server.js', '--inspect-port=0.0.0.0:1'], ''), '0.0.0.0');
  assert.equal(inspectorHostOf(['node', '--inspect=myhost', 'server.js'], ''), 'myhost');
});
