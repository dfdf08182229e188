import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { splitRunArgv } from '../../src/cli/argv';
import { makeRunCommand } from '../../src/cli/commands/run';

const split = (line: string): ReturnType<typeof splitRunArgv> => splitRunArgv(line.split(' '));

describe('splitRunArgv', () => {
  test('run script.js a b: the script takes everything after it', () => {
    assert.deepEqual(split('run script.js a b'), { lineprof: ['run', 'script.js'], script: ['a', 'b'] });
  });

  test("options before the script are lineprof's, flags after it are the script's", () => {
    assert.deepEqual(split('run -f foo script.js --port 3 -x'), {
      lineprof: ['run', '-f', 'foo', 'script.js'],
      script: ['--port', '3', '-x'],
    });
  });

  test('--line=a.js:3 carries its value in the same token', () => {
    assert.deepEqual(split('run --line=a.js:3 script.js'), {
      lineprof: ['run', '--line=a.js:3', 'script.js'],
      script: [],
    });
  });

  test('--node-arg takes the next token even when it looks like a flag', () => {
    assert.deepEqual(split('run --node-arg --no-opt script.js'), {
      lineprof: ['run', '--node-arg=--no-opt', 'script.js'],
      script: [],
    });
  });

  test('-- ends the options: the token after it is the script, the rest its arguments', () => {
    assert.deepEqual(split('run --json out.json -- script.js --json x'), {
      lineprof: ['run', '--json', 'out.json', 'script.js'],
      script: ['--json', 'x'],
    });
  });

  test('boolean options do not take the next token', () => {
    assert.deepEqual(split('run --no-markers --include-node-modules app.js x'), {
      lineprof: ['run', '--no-markers', '--include-node-modules', 'app.js'],
      script: ['x'],
    });
  });

  test('options before the command are kept', () => {
    assert.deepEqual(split('--verbose run app.js --verbose'), {
      lineprof: ['--verbose', 'run', 'app.js'],
      script: ['--verbose'],
    });
  });

  test('a run without a script leaves everything to yargs', () => {
    assert.deepEqual(split('run -f foo'), { lineprof: ['run', '-f', 'foo'], script: [] });
  });

  test('report x.json is left untouched', () => {
    assert.deepEqual(split('report x.json --unit KiB'), { lineprof: ['report', 'x.json', '--unit', 'KiB'], script: [] });
    assert.deepEqual(splitRunArgv([]), { lineprof: [], script: [] });
  });
});

/** Parses the lineprof half of a split with the real `run` command, its handler replaced by a probe. */
function parseRun(line: string): Record<string, unknown> {
  const { lineprof } = split(line);
  const command = makeRunCommand([]);
  let seen: Record<string, unknown> | undefined;
  command.handler = (args) => {
    seen = args as unknown as Record<string, unknown>;
  };
  yargs(lineprof)
    .command(command)
    .strict()
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new Error(message);
    })
    .parse();
  assert.ok(seen, 'the run handler was not called');
  return seen;
}

describe('splitRunArgv with the run command', () => {
  test('run script.js: yargs sees the script', () => {
    assert.equal(parseRun('run script.js a b').script, 'script.js');
  });

  test(
    'run -f foo script.js: the array option does not swallow the script',
    () => {
      const args = parseRun('run -f foo script.js --port 3 -x');
      assert.equal(args.script, 'script.js');
      assert.deepEqual(args.function, ['foo']);
    },
  );

  test(
    'run --node-arg --no-opt script.js: the flag is the value of --node-arg',
    () => {
      const args = parseRun('run --node-arg --no-opt script.js');
      assert.deepEqual(args['node-arg'], ['--no-opt']);
      assert.equal(args.script, 'script.js');
    },
  );
});

describe('splitRunArgv: usage of an inspector takes its options before or after host:port (as attach does)', () => {
  test('usage host:port --timeout 5 --json x.json: the options after the address are lineprof\'s', () => {
    assert.deepEqual(split('usage 127.0.0.1:9229 --timeout 5 --json x.json --no-chart'), {
      lineprof: ['usage', '127.0.0.1:9229', '--timeout', '5', '--json', 'x.json', '--no-chart'],
      script: [],
    });
    assert.deepEqual(split('usage --interval 0.01 localhost:9229 --save'), {
      lineprof: ['usage', '--interval', '0.01', 'localhost:9229', '--save'],
      script: [],
    });
    assert.deepEqual(split('usage ws://127.0.0.1:9229/abc -f grow --node-arg --no-opt --csv=m.csv'), {
      lineprof: ['usage', 'ws://127.0.0.1:9229/abc', '-f', 'grow', '--node-arg=--no-opt', '--csv=m.csv'],
      script: [],
    });
  });

  test('usage host:port extra: a word after an address is kept apart (the handler refuses it); an unknown flag is one error', () => {
    assert.deepEqual(split('usage 127.0.0.1:9229 --timeout 1 extra'), {
      lineprof: ['usage', '127.0.0.1:9229', '--timeout', '1'],
      script: ['extra'],
    });
    assert.throws(() => split('usage 127.0.0.1:9229 --banana'), /unknown option --banana/);
  });

  test('an option that takes a value, given none, says so (not "unknown option")', () => {
    assert.throws(() => split('usage 127.0.0.1:9229 --timeout'), /^UsageError: --timeout needs a value/);
    assert.throws(() => split('run -f'), /^UsageError: -f needs a value/);
  });

  test('usage script.js --timeout 5: after a script, everything is still the script\'s', () => {
    assert.deepEqual(split('usage app.js --timeout 5'), { lineprof: ['usage', 'app.js'], script: ['--timeout', '5'] });
    // A file that exists is a script even when its name looks like host:port.
    assert.deepEqual(split('usage package.json --timeout 5'), { lineprof: ['usage', 'package.json'], script: ['--timeout', '5'] });
  });
});
