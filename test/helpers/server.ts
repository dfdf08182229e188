/** A real HTTP server target (fixtures/targets/server.js) for attach tests. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { FIXTURES } from './profile';

export interface Server {
  child: ChildProcess;
  port: number;
  /** The inspector's websocket URL, when started with an inspector. */
  ws?: string;
  /** What it printed so far. */
  stdout(): string;
  stop(): Promise<void>;
}

export async function startServer(options: { inspect: boolean; script?: string; nodeArgs?: string[]; args?: string[] }): Promise<Server> {
  const args = [
    ...(options.nodeArgs ?? []),
    ...(options.inspect ? ['--inspect=127.0.0.1:0'] : []),
    path.join(FIXTURES, options.script ?? path.join('targets', 'server.js')),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const start = Date.now();
  while (!/ready \d+/.test(out) || (options.inspect && !/ws:\/\/\S+/.test(err))) {
    if (Date.now() - start > 10_000 || child.exitCode !== null) throw new Error(`server did not start: ${out}${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    port: Number(/ready (\d+)/.exec(out)![1]),
    ws: /ws:\/\/\S+/.exec(err)?.[0],
    stdout: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

export function request(port: number, urlPath = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

export async function timeRequests(port: number, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await request(port);
  return Number(process.hrtime.bigint() - start) / 1e6 / n;
}
