/**
 * Given to node as the last `--import` by `lineprof run` (probe engine): registers the ES module hook after every
 * loader the user gave (TypeScript's among them), so the hook sees the JavaScript they produce. The preload has
 * already started the agent and left the registration's data where this finds it.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { takeEsmRegistration } from './esm-registration';

const registration = takeEsmRegistration();
if (registration) {
  const { register } = require('node:module') as { register(specifier: string, options: object): void };
  register(pathToFileURL(path.join(__dirname, 'esm-loader.js')).href, registration);
}
