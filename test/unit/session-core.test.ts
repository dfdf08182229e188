import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outcome } from '../../src/core/outcome';
import { signalPolicy } from '../../src/core/signal-policy';
import type { SessionControls } from '../../src/core/signal-policy';
import { exitStatus } from '../../src/core/exit-status';

test('an outcome is its first terminal event; later ones are ignored', async () => {
  // Given a session's outcome
  const outcome = new Outcome<string>();
  // When the target exits, then a timeout fires and a signal comes
  assert.equal(outcome.settle('target-exit'), true);
  assert.equal(outcome.settle('duration'), false);
  assert.equal(outcome.settle('interrupted'), false);
  // Then the answer is the exit
  assert.equal(await outcome.promise, 'target-exit');
  assert.equal(outcome.value, 'target-exit');
});

test('the signal policy: the first signal stops and reports, the second ends, the third kills; signals count together', () => {
  const calls: string[] = [];
  const controls: SessionControls = {
    stop: (signal) => calls.push(`stop ${signal}`),
    end: () => calls.push('end'),
    kill: () => calls.push('kill'),
  };
  const policy = signalPolicy(controls);
  policy('SIGINT');
  policy('SIGTERM');
  policy('SIGINT');
  policy('SIGHUP');
  assert.deepEqual(calls, ['stop SIGINT', 'end', 'kill', 'kill']);
  // A SIGTERM or SIGHUP first is a stop as by that signal.
  const first: string[] = [];
  signalPolicy({ stop: (s) => first.push(s), end: () => first.push('end'), kill: () => first.push('kill') })('SIGHUP');
  assert.deepEqual(first, ['SIGHUP']);
});

test('one place turns an end into an exit status: the code, or 128 + the signal (134 for an abort), never a blanket 1', () => {
  assert.equal(exitStatus({ code: 0, signal: null }), 0);
  assert.equal(exitStatus({ code: 7, signal: null }), 7);
  assert.equal(exitStatus({ code: null, signal: 'SIGABRT' }), 134);
  assert.equal(exitStatus({ code: null, signal: 'SIGKILL' }), 137);
  assert.equal(exitStatus({ code: null, signal: 'SIGSEGV' }), 139);
  assert.equal(exitStatus({ code: null, signal: 'SIGINT' }), 130);
});
