import { describe, expect, test } from 'vitest';
import type { Change } from '../../../src/diff/changes.js';
import { diffModels } from '../../../src/diff/diff.js';
import { identifierBytes, makeObjectName } from '../../../src/model/names.js';
import { freshName, generatedName, notNullCheckName } from '../../../src/plan/names.js';
import { suggestSlug } from '../../../src/plan/planner.js';
import { check, orders, tables } from './builders.js';

describe('generated names', () => {
  test.each([
    [['users', 'verified_at'], 'not_null', 'users_verified_at_not_null'],
    [['orders'], 'new', 'orders_new'],
    [['t'.repeat(40), 'c'.repeat(30)], 'not_null', `${'t'.repeat(40)}_${'c'.repeat(2)}_a`.slice(0, 0)],
  ])('%j + %s', (parts, role, expected) => {
    const name = generatedName(parts, role);
    expect(identifierBytes(name)).toBeLessThanOrEqual(63);
    if (expected !== '') expect(name).toBe(expected);
    else expect(name).toMatch(/^t{40}_c+_[0-9a-f]{8}_not_null$/);
  });

  test('long names are cut at 63 bytes without splitting a character, and stay distinct', () => {
    const a = generatedName(['ü'.repeat(40), 'x'], 'not_null');
    const b = generatedName(['ü'.repeat(40), 'y'], 'not_null');
    expect(identifierBytes(a)).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^ü+_[0-9a-f]{8}_not_null$/);
  });

  test('a taken name gets a number', () => {
    expect(freshName(['t', 'c'], 'not_null', new Set(['t_c_not_null']))).toBe('t_c_not_null2');
    expect(notNullCheckName('t', 'c', new Set(['t_c_zdm_not_null', 't_c_zdm_not_null2']))).toBe('t_c_zdm_not_null3');
  });
});

describe('suggestSlug', () => {
  test.each([
    [[], 'no-changes'],
    [[{ kind: 'setComment', target: { kind: 'schema', name: 'public' }, comment: 'x' }], 'comments'],
    [[{ kind: 'createSchema', name: 'billing' }], 'create-schema-billing'],
    [
      [
        { kind: 'createSchema', name: 'billing' },
        { kind: 'dropSchema', name: 'old' },
      ],
      'create-schema-billing-and-1-more',
    ],
  ] as [Change[], string][])('%j → %s', (changes, slug) => {
    expect(suggestSlug(changes)).toBe(slug);
  });

  test('from a real diff', () => {
    const live = tables(orders);
    const desired = tables({ ...orders, checks: [check('chk_orders_amount_positive', 'amount > 0')] });
    expect(suggestSlug(diffModels(live, desired))).toBe('add-check-chk-orders-amount-positive');
  });
});

describe('makeObjectName: the names PostgreSQL gives what it names itself', () => {
  // Read back from PostgreSQL 18 (NOT NULL constraints of a table with long names).
  test.each([
    ['t'.repeat(40), 'c'.repeat(30), 'not_null', `${'t'.repeat(27)}_${'c'.repeat(26)}_not_null`],
    ['t'.repeat(40), 'é'.repeat(31), 'not_null', `${'t'.repeat(27)}_${'é'.repeat(13)}_not_null`],
    ['t'.repeat(40), 'x', 'not_null', `${'t'.repeat(40)}_x_not_null`],
    ['code', 'k', 'not_null', 'code_k_not_null'],
  ])('%s, %s, %s', (name1, name2, label, want) => {
    expect(makeObjectName(name1, name2, label)).toBe(want);
  });

  test('without a second name: the primary key', () => {
    expect(makeObjectName('t'.repeat(70), undefined, 'pkey')).toBe(`${'t'.repeat(58)}_pkey`);
  });
});
