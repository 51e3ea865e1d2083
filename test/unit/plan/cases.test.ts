/**
 * Every planner case of test/acceptance/cases/*.yaml whose live schema is a document (`live`), planned
 * without a database: the plan has the expected steps and warnings (the assertion loop the
 * acceptance runner uses too); every phase is present; the fingerprints chain from the live model to
 * the desired one; planning again from the model after contract finds nothing to do; the plan
 * round-trips through its YAML file. Cases with `before` (SQL) run in test/acceptance/acceptance.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { parseDesiredState } from '../../../src/desired/index.js';
import { diffModels } from '../../../src/diff/diff.js';
import { fingerprint, modelsEqual } from '../../../src/model/canonical.js';
import type { DatabaseModel, Index, RelationParts } from '../../../src/model/types.js';
import { parsePlan, serializePlan } from '../../../src/plan/file.js';
import { expectPlan, loadCases, type ModelCase, modelCases } from '../../acceptance/cases.js';
import { plan } from './helpers.js';

const CASES = modelCases(loadCases());

/** The live model of a case: its document, with the indexes it lists as INVALID marked so. */
function liveModel(c: ModelCase): DatabaseModel {
  const model = parseDesiredState(c.live, `${c.id} live`).model;
  const found = new Set<string>();
  const mark = <T extends RelationParts & { readonly schema: string }>(r: T): T => ({
    ...r,
    indexes: r.indexes.map((ix): Index => {
      const key = `${r.schema}.${ix.name}`;
      if (!c.invalidIndexes.includes(key)) return ix;
      found.add(key);
      return { ...ix, valid: false };
    }),
    partitions: r.partitions.map(mark),
  });
  const live = { ...model, schemas: model.schemas.map((s) => ({ ...s, tables: s.tables.map(mark) })) };
  expect([...found].sort(), 'invalidIndexes: each must name an index of the live document').toEqual(
    [...c.invalidIndexes].sort(),
  );
  return live;
}

describe('plans for each kind of change, from models', () => {
  test('there are at least 60 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  test.for(CASES.map((c) => [c.id, c] as const))('%s', ([, c]) => {
    const live = liveModel(c);
    const desired = parseDesiredState(c.desired, `${c.id} desired`).model;
    const r = plan(live, desired, {
      ...(c.rowCounts ? { rowCounts: c.rowCounts } : {}),
      ...(c.serverVersion ? { serverVersion: c.serverVersion } : {}),
    });
    expectPlan(r.plan, r.warnings, c);

    // Every phase is present, in order, with ids counting from 1.
    expect(r.plan.phases.map((p) => p.name)).toEqual(['expand', 'backfill', 'contract']);
    for (const p of r.plan.phases)
      expect(p.steps.map((s) => s.id)).toEqual(p.steps.map((_, i) => `${p.name}.${i + 1}`));

    // The fingerprints chain: live → expand → backfill → contract = desired.
    expect(r.plan.source.fingerprint).toBe(fingerprint(live));
    expect(r.plan.phases[0]!.before).toBe(fingerprint(live));
    expect(r.plan.phases[1]!.before).toBe(r.plan.phases[0]!.after);
    expect(r.plan.phases[2]!.before).toBe(r.plan.phases[1]!.after);
    expect(r.plan.phases[2]!.after).toBe(fingerprint(desired));
    expect(modelsEqual(r.models.contract, desired)).toBe(true);
    // Planning again from where contract leaves the schema: nothing to do.
    expect(diffModels(r.models.contract, desired)).toEqual([]);

    // The plan file round-trips.
    expect(parsePlan(serializePlan(r.plan), 'case.plan.yaml')).toEqual(r.plan);
  });
});
