/**
 * The package as a user gets it: `npm pack` of this checkout, installed from the tarball into an empty folder and
 * globally (`--prefix`), then run from another folder. Packs with --ignore-scripts: the suite runs on the dist/ that
 * `npm test` (or .ci/run) just built, and prepack would rebuild it under the running tests.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT } from '../helpers/profile';

const NPM_TIMEOUT = 120_000;
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The node running this test first on PATH, so npm and the installed `#!/usr/bin/env node` bin run on it too (the
 * Node 24 run of the suite checks Node 24). npm's own npm_* variables are dropped: npm_config_local_prefix would
 * point the nested npm at this checkout.
 */
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'),
);
ENV.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

function run(command: string, args: string[], cwd: string, timeoutMs = NPM_TIMEOUT): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

let tmp = '';
let tarball = '';
let packedFiles: string[] = [];
/** An empty project with the tarball installed, a global --prefix install of it, and a folder that is neither. */
let project = '';
let globalPrefix = '';
let elsewhere = '';
let installStderr = '';

before(
  async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lineprof-pack-'));
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
    assert.equal(pack.code, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(tmp, info!.filename);
    packedFiles = info!.files.map((f) => f.path);

    project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "empty-project", "private": true }\n');
    const install = await run('npm', ['install', tarball, ...NPM_FLAGS], project);
    assert.equal(install.code, 0, install.stderr);
    installStderr = install.stderr;

    globalPrefix = path.join(tmp, 'global');
    const global = await run('npm', ['install', '-g', '--prefix', globalPrefix, tarball, ...NPM_FLAGS], tmp);
    assert.equal(global.code, 0, global.stderr);

    elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere);
  },
  { timeout: 3 * NPM_TIMEOUT },
);

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds the built package, LICENSE, README and docs, and no tests, fixtures or bench', () => {
  for (const file of ['LICENSE', 'README.md', 'package.json', 'bin/lineprof.js', 'docs/cli.md', 'docs/columns.md']) {
    assert.ok(packedFiles.includes(file), `${file} is in the tarball`);
  }
  for (const file of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/agent/attached.bundle.js']) {
    assert.ok(packedFiles.includes(file), `${file} is in the tarball`);
  }
  const unwanted = packedFiles.filter((f) => /^(test|fixtures|src|bench|dist\/test|dist\/bench)\//.test(f));
  assert.deepEqual(unwanted, []);
  assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
});

test('installing the tarball runs no install scripts and npm warns of none', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'lineprof', 'package.json'), 'utf8'));
  const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => s in (manifest.scripts ?? {}));
  assert.deepEqual(lifecycle, []);
  // npm 11 lists a package's install scripts (prepare included) in an "install-scripts" warning on every install.
  assert.doesNotMatch(installStderr, /install-scripts|prepare/);
});

test('npx lineprof from the installed tarball profiles a script in another folder: 800,048 B for the array line', async () => {
  const script = path.join(elsewhere, 'fill.js');
  fs.writeFileSync(
    script,
    ['function fill() { // @profile', '  const a = new Array(1e5).fill(0);', '  return a.length;', '}', 'fill();', ''].join('\n'),
  );
  const json = path.join(elsewhere, 'fill.json');
  const r = await run('npx', ['--prefix', project, 'lineprof', 'run', '--json', json, 'fill.js'], elsewhere);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Function: fill \(lines 1-4\): 1 call/);
  const result = JSON.parse(fs.readFileSync(json, 'utf8')) as {
    node: string;
    functions: { name: string; lines: { line: number; allocatedBytes: number }[] }[];
  };
  assert.equal(result.node, process.version, 'the installed bin ran on the node of this test');
  const arrayLine = result.functions.find((f) => f.name === 'fill')!.lines.find((l) => l.line === 2)!;
  // A 100,000-element packed SMI array: 16 B header + 8 B per element + the JSArray's 32 B.
  assert.ok(Math.abs(arrayLine.allocatedBytes - 800_048) <= 256, `allocated ${arrayLine.allocatedBytes} B`);
});

test('the global install gives a lineprof command that runs from any folder', async () => {
  const r = await run(path.join(globalPrefix, 'bin', 'lineprof'), ['--version'], elsewhere, 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), VERSION);
});

test("the package's exports give the library API to require and import", async () => {
  const cjs = await run(process.execPath, ['-e', "process.stdout.write(typeof require('lineprof').runProfile)"], project, 30_000);
  assert.equal(cjs.code, 0, cjs.stderr);
  assert.equal(cjs.stdout, 'function');
  const esm = await run(
    process.execPath,
    ['--input-type=module', '-e', "import { runProfile } from 'lineprof'; process.stdout.write(typeof runProfile)"],
    project,
    30_000,
  );
  assert.equal(esm.code, 0, esm.stderr);
  assert.equal(esm.stdout, 'function');
  // Only the API is exported: a deep path into dist/ is not part of it.
  const deep = await run(process.execPath, ['-e', "require('lineprof/dist/src/cli/main.js')"], project, 30_000);
  assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

test("the package's exports give its types: TypeScript resolves `import { runProfile } from 'lineprof'`", async () => {
  const resolved = await run(
    process.execPath,
    ['-p', "require.resolve('lineprof/package.json') && require('lineprof/package.json').exports['.'].types"],
    project,
    30_000,
  );
  assert.equal(resolved.code, 0, resolved.stderr);
  const types = path.join(project, 'node_modules', 'lineprof', resolved.stdout.trim());
  assert.ok(fs.existsSync(types), `${types} exists`);
  // Under strict, a package without types fails with TS7016; with them, a wrong use of runProfile is a type error.
  fs.writeFileSync(
    path.join(project, 'check.ts'),
    [
      "import { runProfile, type RunOptions } from 'lineprof';",
      "const options: RunOptions = { script: 'app.js' };",
      'export const started: Promise<unknown> = runProfile(options);',
      '// @ts-expect-error runProfile is a function, not a number',
      'export const wrong: number = runProfile;',
      '',
    ].join('\n'),
  );
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const check = await run(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022',
      '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'check.ts'],
    project,
    60_000,
  );
  assert.equal(check.code, 0, check.stdout + check.stderr);
});
