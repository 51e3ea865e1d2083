/**
 * Every pair of a dozen schema variants, each way round: the planner either makes a plan whose
 * steps lead exactly to the desired model (it checks that itself and throws an internal error
 * otherwise) or refuses with a PlanningError. Catches model edits that drift from the SQL.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { modelsEqual } from '../../../src/model/canonical.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { plan } from './helpers.js';
import { VARIANTS } from './variant-data.js';

const names = Object.keys(VARIANTS);
const EMPTY = Object.fromEntries(['users', 'customers', 'orders', 'people', 'events'].map((t) => [`public.${t}`, 0]));
const pairs = names.flatMap((a) =>
  names.filter((b) => b !== a).flatMap((b) => [[a, b, 'rows'] as const, [a, b, 'empty'] as const]),
);

const refused: string[] = [];

describe('pairs of variants', () => {
  afterAll(() => {
    // Most pairs plan; the refusals are the documented unsupported changes.
    expect(refused.length).toBeLessThan(pairs.length / 2);
  });

  test.each(pairs)('%s → %s (tables with %s)', (a, b, rows) => {
    const live = VARIANTS[a]!;
    const desired = VARIANTS[b]!;
    try {
      const r = plan(live, desired, rows === 'empty' ? { rowCounts: EMPTY } : {});
      expect(modelsEqual(r.models.contract, desired)).toBe(true);
    } catch (e) {
      if (!(e instanceof PlanningError)) throw e;
      expect(e.issues.length).toBeGreaterThan(0);
      refused.push(`${a} → ${b}: ${e.issues.map((i) => i.message).join('; ')}`);
    }
  });
});
