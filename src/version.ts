import * as fs from 'node:fs';
import * as path from 'node:path';

/** lineprof's version, from its package.json (dist/src → package root). */
export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;
