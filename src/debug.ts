import { debuglog } from 'node:util';

/** `NODE_DEBUG=lineprof` shows what the controller does. */
export const debug = debuglog('lineprof');
