/**
 * Given to node as the last `--import` by `lineprof run` (probe engine): registers the ES module hook after every
 * loader the user gave (TypeScript's among them), so the hook sees the JavaScript they produce. The preload has
 * already started the agent and left here how to register it.
 */
import { takeEsmRegistration } from './esm-registration';

takeEsmRegistration()?.();
