/**
 * ajv, loaded on first use. A static `import { Ajv } from 'ajv'` loads it (~50 ms) on every run of
 * every command that reaches a validator module, though `zdm plan` and `zdm pull` validate the
 * desired state with the validator compiled at build time (validate.ts) and need ajv only to read
 * a plan or a targets file.
 */
import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';

export function newAjv(options: Options): Ajv {
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return new AjvClass(options);
}
