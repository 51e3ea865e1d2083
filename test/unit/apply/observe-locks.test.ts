import { describe, expect, test } from 'vitest';
import { strongestLocks, undeclaredLocks } from '../../../src/apply/observe-locks.js';
import { coversMode } from '../../../src/plan/locks.js';
import { LOCK_MODES, type LockInfo, type LockMode } from '../../../src/plan/types.js';

const lock = (relation: string, mode: LockMode): LockInfo => ({ relation, mode, hold: 'instant' });

describe('coversMode: a declared mode covers a taken one when it conflicts with everything the taken one does', () => {
  test('every mode covers itself and the weaker modes of its chain; ACCESS EXCLUSIVE covers all', () => {
    for (const m of LOCK_MODES) {
      expect(coversMode(m, m)).toBe(true);
      expect(coversMode('ACCESS EXCLUSIVE', m)).toBe(true);
      expect(coversMode(m, 'ACCESS SHARE')).toBe(true);
    }
  });
  test.each([
    ['SHARE UPDATE EXCLUSIVE', 'ACCESS EXCLUSIVE', false],
    ['SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', false],
    ['SHARE ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', true],
    ['SHARE ROW EXCLUSIVE', 'SHARE', true],
    // SHARE does not conflict with itself, SHARE UPDATE EXCLUSIVE does: neither covers the other.
    ['SHARE', 'SHARE UPDATE EXCLUSIVE', false],
    ['SHARE UPDATE EXCLUSIVE', 'SHARE', false],
    // ROW EXCLUSIVE conflicts with SHARE, which SHARE itself lets through.
    ['SHARE', 'ROW EXCLUSIVE', false],
    ['ROW EXCLUSIVE', 'ROW SHARE', true],
  ] as const)('%s covers %s: %s', (declared, taken, covered) => {
    expect(coversMode(declared, taken)).toBe(covered);
  });
});

describe('undeclaredLocks', () => {
  test('a lock on a relation the step does not declare, or stronger than declared, is reported; weaker ones and ACCESS SHARE are not', () => {
    const declared = [lock('public.orders', 'SHARE UPDATE EXCLUSIVE'), lock('public.customers', 'SHARE ROW EXCLUSIVE')];
    expect(
      undeclaredLocks(declared, [
        { relation: 'public.orders', mode: 'ACCESS SHARE' },
        { relation: 'public.orders', mode: 'ACCESS EXCLUSIVE' },
        { relation: 'public.customers', mode: 'SHARE' },
        { relation: 'public.items', mode: 'ACCESS SHARE' },
        { relation: 'public.items', mode: 'ROW SHARE' },
      ]),
    ).toEqual([
      { relation: 'public.orders', mode: 'ACCESS EXCLUSIVE' },
      { relation: 'public.items', mode: 'ROW SHARE' },
    ]);
  });
});

describe('strongestLocks', () => {
  test('per relation, the modes no other held mode covers, sorted', () => {
    expect(
      strongestLocks([
        { relation: 'public.b', mode: 'ACCESS SHARE' },
        { relation: 'public.a', mode: 'ROW EXCLUSIVE' },
        { relation: 'public.a', mode: 'SHARE' },
        { relation: 'public.b', mode: 'ACCESS EXCLUSIVE' },
        { relation: 'public.b', mode: 'ACCESS SHARE' },
      ]),
    ).toEqual([
      { relation: 'public.a', mode: 'ROW EXCLUSIVE' },
      { relation: 'public.a', mode: 'SHARE' },
      { relation: 'public.b', mode: 'ACCESS EXCLUSIVE' },
    ]);
  });
});
