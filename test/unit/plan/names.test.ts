import { describe, expect, test } from 'vitest';
import type { Change } from '../../../src/diff/changes.js';
import { diffModels } from '../../../src/diff/diff.js';
import {
  chooseIndexName,
  identifierBytes,
  indexColumnNames,
  indexKeyName,
  makeObjectName,
} from '../../../src/model/names.js';
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

describe('chooseIndexName: the name PostgreSQL gives an index it names itself', () => {
  const none = () => false;
  // Each expected name read back from PostgreSQL 18 and 14 (the same on both): the indexes a
  // partition gets when its parent is indexed by hand.
  test('<table>_<columns>_idx, _key for a unique constraint, _pkey without columns', () => {
    expect(chooseIndexName('r_a', ['id', 'at'], 'idx', none)).toBe('r_a_id_at_idx');
    expect(chooseIndexName('m_1', ['tenant', 'v'], 'key', none)).toBe('m_1_tenant_v_key');
    expect(chooseIndexName('m_1', ['tenant', 'id'], 'pkey', none)).toBe('m_1_pkey');
    expect(chooseIndexName('r_a', ['id', 'at', 's'], 'key', none)).toBe('r_a_id_at_s_key');
  });

  test('long names: the longer of table and columns is clipped a byte at a time to fit 63 bytes', () => {
    const table = `${'p'.repeat(40)}_2025_part`;
    const cols = ['c'.repeat(30), 'é'.repeat(30), 'id'];
    const name = chooseIndexName(table, cols, 'idx', none);
    expect(name).toBe(`${'p'.repeat(29)}_${'c'.repeat(29)}_idx`);
    expect(identifierBytes(name)).toBe(63);
  });

  test('a name taken (by any relation of the schema): a number after the label, counting up', () => {
    const taken = new Set(['r_a_id_at_idx', 'r_a_id_at_idx1']);
    expect(chooseIndexName('r_a', ['id', 'at'], 'idx', (n) => taken.has(n))).toBe('r_a_id_at_idx2');
    expect(chooseIndexName('r_a', ['id', 'at'], 'key', (n) => n === 'r_a_id_at_key')).toBe('r_a_id_at_key1');
    expect(chooseIndexName('m_1', [], 'pkey', (n) => n === 'm_1_pkey')).toBe('m_1_pkey1');
  });

  test('a numbered name still fits: the clipping makes room for the number', () => {
    const table = 't'.repeat(63);
    const first = chooseIndexName(table, ['a'], 'idx', none);
    const second = chooseIndexName(table, ['a'], 'idx', (n) => n === first);
    expect(first).toBe(`${'t'.repeat(57)}_a_idx`);
    expect(second).toBe(`${'t'.repeat(56)}_a_idx1`);
  });
});

describe('indexColumnNames: the column names PostgreSQL derives for an index name', () => {
  const expr = (expression: string) => ({ expression, descending: false });
  const column = (c: string) => ({ column: c, descending: false });
  // Each expression as pg_get_indexdef prints it, and the name PostgreSQL 18 gave `CREATE INDEX ON t (…)`.
  test.each([
    ['lower(b)', 'lower'],
    ['(a + 1)', 'expr'],
    ['(b::character varying(10))', 'b'],
    ['(a::text)', 'a'],
    ['COALESCE(a, 0)', 'coalesce'],
    ['(\nCASE\n    WHEN a > 0 THEN 1\n    ELSE 0\nEND)', 'case'],
    ['GREATEST(a, 1)', 'greatest'],
    ['public.t_f(a)', 't_f'],
    ["(d ->> 'k'::text)", 'expr'],
    ["date_trunc('day'::text, (c AT TIME ZONE 'UTC'::text))", 'date_trunc'],
    ['(lower(a) || lower(b))', 'expr'],
  ])('%s → %s', (expression, want) => {
    expect(indexKeyName(expr(expression.replaceAll('\\n', '\n')))).toBe(want);
  });

  test('repeated names get numbers, INCLUDE columns count', () => {
    expect(indexColumnNames([column('Mixed Col'), column('a'), column('a')])).toEqual(['Mixed Col', 'a', 'a1']);
    expect(indexColumnNames([expr('lower(b)'), expr('upper(b)'), expr('lower(b)')])).toEqual([
      'lower',
      'upper',
      'lower1',
    ]);
    expect(indexColumnNames([expr('(id + 1)'), column('id'), expr('lower(s)')], ['at'])).toEqual([
      'expr',
      'id',
      'lower',
      'at',
    ]);
  });
});
