import { describe, expect, test } from 'vitest';
import { CONFLICTS, PG_LOCK_NAME, strongerMode } from '../../../src/plan/locks.js';
import { LOCK_MODES } from '../../../src/plan/types.js';

describe('lock modes', () => {
  test('CONFLICTS is PostgreSQL table 13.2 ("Explicit Locking"), each list weakest first', () => {
    expect(CONFLICTS).toEqual({
      'ACCESS SHARE': ['ACCESS EXCLUSIVE'],
      'ROW SHARE': ['EXCLUSIVE', 'ACCESS EXCLUSIVE'],
      'ROW EXCLUSIVE': ['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
      'SHARE UPDATE EXCLUSIVE': [
        'SHARE UPDATE EXCLUSIVE',
        'SHARE',
        'SHARE ROW EXCLUSIVE',
        'EXCLUSIVE',
        'ACCESS EXCLUSIVE',
      ],
      SHARE: ['ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
      'SHARE ROW EXCLUSIVE': [
        'ROW EXCLUSIVE',
        'SHARE UPDATE EXCLUSIVE',
        'SHARE',
        'SHARE ROW EXCLUSIVE',
        'EXCLUSIVE',
        'ACCESS EXCLUSIVE',
      ],
      EXCLUSIVE: [
        'ROW SHARE',
        'ROW EXCLUSIVE',
        'SHARE UPDATE EXCLUSIVE',
        'SHARE',
        'SHARE ROW EXCLUSIVE',
        'EXCLUSIVE',
        'ACCESS EXCLUSIVE',
      ],
      'ACCESS EXCLUSIVE': [...LOCK_MODES],
    });
  });

  test('the conflict relation is symmetric', () => {
    for (const a of LOCK_MODES) for (const b of CONFLICTS[a]) expect(CONFLICTS[b]).toContain(a);
  });

  test('PG_LOCK_NAME spells each mode as pg_locks.mode does', () => {
    expect(PG_LOCK_NAME).toEqual({
      'ACCESS SHARE': 'AccessShareLock',
      'ROW SHARE': 'RowShareLock',
      'ROW EXCLUSIVE': 'RowExclusiveLock',
      'SHARE UPDATE EXCLUSIVE': 'ShareUpdateExclusiveLock',
      SHARE: 'ShareLock',
      'SHARE ROW EXCLUSIVE': 'ShareRowExclusiveLock',
      EXCLUSIVE: 'ExclusiveLock',
      'ACCESS EXCLUSIVE': 'AccessExclusiveLock',
    });
  });

  test.each([
    ['ACCESS SHARE', 'ROW SHARE', 'ROW SHARE'],
    ['SHARE', 'SHARE UPDATE EXCLUSIVE', 'SHARE'],
    ['ACCESS EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'],
    ['EXCLUSIVE', 'EXCLUSIVE', 'EXCLUSIVE'],
  ] as const)('strongerMode(%s, %s) = %s', (a, b, stronger) => {
    expect(strongerMode(a, b)).toBe(stronger);
    expect(strongerMode(b, a)).toBe(stronger);
  });
});
