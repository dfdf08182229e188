import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { InspectorNoticeFilter, isInspectorNotice } from '../../src/target/stderr-filter';

const NOTICES = [
  'Debugger listening on ws://127.0.0.1:1234/abc',
  'For help, see: https://nodejs.org/en/docs/inspector',
  'For help, see: https://nodejs.org/learn/getting-started/debugging',
  'Debugger attached.',
  'Debugger ending on ws://127.0.0.1:1234/abc',
  'Waiting for the debugger to disconnect...',
];

/** Writes the chunks one by one, ends the stream, and returns every byte that came out. */
async function filter(chunks: Array<string | Buffer>): Promise<Buffer> {
  const f = new InspectorNoticeFilter();
  const out: Buffer[] = [];
  f.on('data', (c: Buffer) => out.push(c));
  for (const c of chunks) f.write(c);
  f.end();
  await once(f, 'end');
  return Buffer.concat(out);
}

const text = async (chunks: Array<string | Buffer>): Promise<string> => (await filter(chunks)).toString('utf8');

describe('isInspectorNotice', () => {
  test('recognises each notice line exactly', () => {
    for (const line of NOTICES) assert.equal(isInspectorNotice(line), true, line);
  });

  test('does not recognise look-alikes', () => {
    for (const line of [
      'Debugger attached. Or not.',
      'note: Debugger attached.',
      'Debugger listening on ws://',
      'Debugger listening on http://127.0.0.1:1234/abc',
      'debugger attached.',
      'For help, see: https://nodejs.org/learn/getting-started/debugging (mine)',
      '',
    ]) {
      assert.equal(isInspectorNotice(line), false, line);
    }
  });
});

describe('InspectorNoticeFilter', () => {
  test('drops each inspector notice line', async () => {
    for (const line of NOTICES) assert.equal(await text([`${line}\n`]), '', line);
  });

  test('drops the notices from among other output, keeping the rest byte for byte', async () => {
    // Given the notices interleaved with the program's own stderr, in one chunk
    const program = ['warning: low disk\n', '  indented\ttab \n', '\n', 'Debugger attached. (not a notice)\n'];
    const input = [NOTICES[0], NOTICES[1], program[0], NOTICES[2], program[1], program[2], program[3], NOTICES[3], NOTICES[4], NOTICES[5]]
      .map((l) => (l!.endsWith('\n') ? l : `${l}\n`))
      .join('');
    // Then exactly the program's lines come out
    assert.equal(await text([input]), program.join(''));
  });

  test('CRLF notice lines are dropped, and CRLF elsewhere is kept', async () => {
    assert.equal(await text(['Debugger attached.\r\nkept\r\n']), 'kept\r\n');
  });

  test('a notice split across chunks is still dropped', async () => {
    assert.equal(await text(['Debugger liste', 'ning on ws://127.0.0.1:1234/abc\nnext', ' line\n']), 'next line\n');
  });

  test('an ordinary line split across chunks comes out whole', async () => {
    assert.equal(await text(['hello wo', 'rld\nsecond ', 'line\n']), 'hello world\nsecond line\n');
  });

  test('a line that starts like a notice but is not one is kept', async () => {
    assert.equal(await text(['Debugger', ' is my favourite word\n']), 'Debugger is my favourite word\n');
  });

  test('a partial last line without a newline is flushed at the end', async () => {
    // "Debugger" may still become a notice, so it is held until the end
    assert.equal(await text(['done\nDebugger']), 'done\nDebugger');
    assert.equal(await text(['done\nno newline']), 'done\nno newline');
  });

  test('a notice without a newline at the very end is dropped', async () => {
    assert.equal(await text(['done\nWaiting for the debugger to disconnect...']), 'done\n');
  });

  test('a prompt without a newline passes through at once, before the end', async () => {
    // Given a filter still open
    const f = new InspectorNoticeFilter();
    const out: string[] = [];
    f.on('data', (c: Buffer) => out.push(c.toString('utf8')));
    // When the program writes a prompt and waits for input
    f.write('Your name? ');
    await tick();
    // Then the prompt is already out
    assert.equal(out.join(''), 'Your name? ');
    f.write('\nok\n');
    f.end();
    await once(f, 'end');
    assert.equal(out.join(''), 'Your name? \nok\n');
  });

  test('empty chunks and empty input give nothing', async () => {
    assert.equal(await text([]), '');
    assert.equal(await text(['', '']), '');
  });

  test(
    'a multi-byte character split across chunks is kept byte for byte',
    async () => {
      const bytes = Buffer.from('héllo wörld ✓\n', 'utf8');
      const cut = bytes.indexOf(0xc3) + 1; // inside "é"
      const out = await filter([bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(out, bytes);
    },
  );
});
