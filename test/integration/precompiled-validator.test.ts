/**
 * The desired-state validator `npm run build` compiles ahead of time (scripts/compile-validator.mjs,
 * dist/desired/desired-state.validate.cjs) reports exactly what the one compiled at run time from
 * the sources does: same issues, same places, same messages, for valid and broken documents.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as fromSources from '../../src/desired/validate.js';
import { parseYaml } from '../../src/desired/yaml-doc.js';
import { projectRoot } from '../support/cli.js';

const BUILT = path.join(projectRoot, 'dist/desired/validate.js');
const PRECOMPILED = path.join(projectRoot, 'dist/desired/desired-state.validate.cjs');

const doc = (body: string) => `version: 1
schemas:
  public:
    tables:
      users:
${body}
`;

const DOCUMENTS: Record<string, string> = {
  valid: doc(`        columns:
          id: { type: bigint, nullable: false }
          name: { type: text, collation: C }
        primaryKey: { columns: [id] }
        replicaIdentity: full
        clusterOn: users_pkey`),
  'unknown key, close to a known one': doc(`        colums:
          id: { type: bigint }`),
  'wrong type': doc(`        columns:
          id: { type: bigint, nullable: "no" }`),
  'value not one of the choices': doc(`        columns:
          id: { type: bigint }
        replicaIdentity: everything`),
  'missing required key': doc(`        columns:
          id: { nullable: false }`),
  'number out of range': doc(`        columns:
          id: { type: bigint, statistics: 20000 }`),
  'several problems at once': doc(`        unlogged: maybe
        columns:
          id: { type: 7, identity: sometimes }
        indexes:
          ix: { columns: [id], unique: "yes", bogus: 1 }`),
  'version missing': 'schemas: {}\n',
};

describe('the precompiled desired-state validator (npm run build)', () => {
  it('is what the built validate module loads, and reports what the run-time compiled one reports', async () => {
    expect(existsSync(PRECOMPILED), `${PRECOMPILED}: run npm run build first`).toBe(true);
    const built = (await import(BUILT)) as typeof fromSources;
    for (const [name, text] of Object.entries(DOCUMENTS)) {
      const parsed = parseYaml(text, 'schema.yaml');
      expect(parsed.issues, name).toEqual([]);
      const expected = fromSources.validateDocument(parsed.document!);
      const got = built.validateDocument(parsed.document!);
      expect(got, name).toEqual(expected);
      if (name === 'valid') expect(got).toEqual([]);
      else expect(got.length, name).toBeGreaterThan(0);
    }
  });
});
