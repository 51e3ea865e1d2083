/**
 * Every case of case-data.ts: the plan has the expected steps; every phase is present; the
 * fingerprints chain from the live model to the desired one; planning again from the model after
 * contract finds nothing to do; the plan round-trips through its YAML file.
 */
import { describe, expect, test } from 'vitest';
import { diffModels } from '../../../src/diff/diff.js';
import { fingerprint, modelsEqual } from '../../../src/model/canonical.js';
import { parsePlan, serializePlan } from '../../../src/plan/file.js';
import { CASES } from './case-data.js';
import { flat, plan } from './helpers.js';

describe('plans for each kind of change', () => {
  test('there are at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  test.each(CASES)('$name', (c) => {
    const r = plan(c.live, c.desired, c.options ?? {});
    const steps = flat(r);
    expect(steps.length, steps.map((s) => `${s.phase}: ${s.summary}`).join('\n')).toBe(c.expect.steps.length);
    c.expect.steps.forEach((want, i) => {
      const got = steps[i]!;
      expect(got.phase, `step ${i + 1} phase`).toBe(want.phase);
      expect(got.summary, `step ${i + 1} summary`).toMatch(want.summary);
      if (want.sql) {
        expect(got.sql).toHaveLength(want.sql.length);
        want.sql.forEach((q, j) => {
          if (typeof q === 'string') expect(got.sql[j]).toBe(q);
          else expect(got.sql[j]).toMatch(q);
        });
      }
      if (want.hazards) expect(got.hazards, `step ${i + 1} hazards`).toEqual(want.hazards);
      if (want.locks) expect(got.locks, `step ${i + 1} locks`).toEqual(want.locks);
      if (want.transaction !== undefined) expect(got.transaction).toBe(want.transaction);
    });
    if (c.expect.warnings) {
      expect(r.warnings).toHaveLength(c.expect.warnings.length);
      c.expect.warnings.forEach((w, i) => {
        expect(r.warnings[i]).toMatch(w);
      });
    }

    // Every phase is present, in order, with ids counting from 1.
    expect(r.plan.phases.map((p) => p.name)).toEqual(['expand', 'backfill', 'contract']);
    for (const p of r.plan.phases)
      expect(p.steps.map((s) => s.id)).toEqual(p.steps.map((_, i) => `${p.name}.${i + 1}`));

    // The fingerprints chain: live → expand → backfill → contract = desired.
    expect(r.plan.source.fingerprint).toBe(fingerprint(c.live));
    expect(r.plan.phases[0]!.before).toBe(fingerprint(c.live));
    expect(r.plan.phases[1]!.before).toBe(r.plan.phases[0]!.after);
    expect(r.plan.phases[2]!.before).toBe(r.plan.phases[1]!.after);
    expect(r.plan.phases[2]!.after).toBe(fingerprint(c.desired));
    expect(modelsEqual(r.models.contract, c.desired)).toBe(true);
    // Planning again from where contract leaves the schema: nothing to do.
    expect(diffModels(r.models.contract, c.desired)).toEqual([]);

    // The plan file round-trips.
    expect(parsePlan(serializePlan(r.plan), 'case.plan.yaml')).toEqual(r.plan);
  });
});
