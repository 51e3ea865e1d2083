/**
 * `node --import ./test/support/ts-loader.mjs file.ts`: runs the TypeScript sources directly on
 * Node 20 (which cannot strip types itself and has no tsx here), for tests that need a real child
 * process (SIGKILL mid-apply). Types are erased with the project's own `typescript`
 * (transpileModule: no type check); relative `./x.js` imports resolve to `./x.ts` as under NodeNext.
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
