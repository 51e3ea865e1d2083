import { describe, expect, test } from 'vitest';
import { formatPath } from '../../../src/desired/paths.js';
import type { Change } from '../../../src/diff/changes.js';
import { isBinaryCoercible } from '../../../src/diff/coercible.js';
import { diffModels } from '../../../src/diff/diff.js';
import { diffKeyed } from '../../../src/diff/keyed.js';
import { docPath } from '../../../src/diff/paths.js';
import type { DatabaseModel } from '../../../src/model/types.js';
import {
  check,
  col,
  db,
  enumType,
  fk,
  id,
  index,
  partition,
  range,
  schema,
  table,
  tables,
  users,
  withTable,
} from '../plan/builders.js';

const kinds = (cs: readonly Change[]) => cs.map((c) => c.kind);

describe('diffModels', () => {
  test('equal models: no change', () => {
    expect(diffModels(tables(users), tables(users))).toEqual([]);
  });

  test('column order is not a difference', () => {
    const reordered = withTable(tables(users), 'users', (t) => ({ ...t, columns: [...t.columns].reverse() }));
    expect(diffModels(tables(users), reordered)).toEqual([]);
  });

  test('typeChanges swap: a type change that rewrites a plain table is one rewriteTable change, a binary-coercible one is not', () => {
    const live = tables(table('t', [col('a', 'integer'), col('v', 'character varying(20)'), col('b', 'text')]));
    const retyped = tables(table('t', [col('a', 'bigint'), col('v', 'character varying(20)'), col('b', 'text')]));
    const widened = tables(table('t', [col('a', 'integer'), col('v', 'character varying(40)'), col('b', 'text')]));
    const swapped = diffModels(live, retyped, { typeChanges: 'swap' });
    expect(kinds(swapped)).toEqual(['rewriteTable']);
    expect(kinds(diffModels(live, retyped))).toEqual(['replaceColumn']);
    expect(kinds(diffModels(live, retyped, { typeChanges: 'column' }))).toEqual(['replaceColumn']);
    expect(kinds(diffModels(live, widened, { typeChanges: 'swap' }))).toEqual(['alterColumn']);
    // A partitioned table keeps the replacement column (the swap of a partitioned table is another change).
    const parted = (type: string) =>
      tables({
        ...table('t', [col('a', type), col('d', 'date')]),
        partitionBy: { strategy: 'range', columns: ['d'] },
        partitions: [partition('t_1', range('2024-01-01', '2025-01-01'))],
      });
    expect(kinds(diffModels(parted('integer'), parted('bigint'), { typeChanges: 'swap' }))).toContain('replaceColumn');
  });

  test('desired-only directives (using) and live-only facts (index validity on equal indexes is a repair) are not differences', () => {
    const withUsing = withTable(tables(users), 'users', (t) => ({
      ...t,
      columns: t.columns.map((c) => ({ ...c, using: 'x' })),
    }));
    expect(diffModels(tables(users), withUsing)).toEqual([]);
  });

  test.each<[string, DatabaseModel, DatabaseModel, string[]]>([
    [
      'new table: create + its FKs and comments',
      tables(users),
      tables(users, { ...table('t', [col('u', 'bigint', { comment: 'c' })]), foreignKeys: [fk('f', ['u'], 'users')] }),
      ['createTable', 'addForeignKey', 'setComment'],
    ],
    ['dropped table', tables(users), db([schema('public')]), ['dropTable']],
    [
      'column added, dropped and altered',
      tables(table('t', [col('a', 'integer'), col('b', 'text')])),
      tables(table('t', [col('a', 'bigint'), col('c', 'text')])),
      ['replaceColumn', 'dropColumn', 'addColumn'],
    ],
    [
      'index with another definition: drop + create, marked as a replacement',
      tables({ ...users, indexes: [index('i', ['name'])] }),
      tables({ ...users, indexes: [index('i', ['id'])] }),
      ['dropIndex', 'createIndex'],
    ],
    [
      'invalid live index with the desired definition: repair',
      tables({ ...users, indexes: [index('i', ['name'], { valid: false })] }),
      tables({ ...users, indexes: [index('i', ['name'])] }),
      ['repairIndex'],
    ],
    [
      'NOT VALID live check with the desired definition: validate',
      tables({ ...users, checks: [check('c', 'id > 0', { valid: false })] }),
      tables({ ...users, checks: [check('c', 'id > 0')] }),
      ['validateCheck'],
    ],
    [
      'check with another expression: drop + add',
      tables({ ...users, checks: [check('c', 'id > 0')] }),
      tables({ ...users, checks: [check('c', 'id > 1')] }),
      ['dropCheck', 'addCheck'],
    ],
    [
      'partition bound changed: drop + add',
      tables({
        ...users,
        partitionBy: { strategy: 'range', columns: ['id'] },
        partitions: [partition('p', range('1', '2'))],
      }),
      tables({
        ...users,
        partitionBy: { strategy: 'range', columns: ['id'] },
        partitions: [partition('p', range('1', '3'))],
      }),
      ['dropPartition', 'addPartition'],
    ],
    ['table comment', tables(users), tables({ ...users, comment: 'x' }), ['setComment']],
  ])('%s', (_name, live, desired, expected) => {
    expect(kinds(diffModels(live, desired))).toEqual(expected);
  });

  test('a replacement pair names each other', () => {
    const [drop, add] = diffModels(
      tables({ ...users, indexes: [index('i', ['name'])] }),
      tables({ ...users, indexes: [index('i', ['id'])] }),
    );
    expect(drop).toMatchObject({ kind: 'dropIndex', replacedBy: { name: 'i' } });
    expect(add).toMatchObject({ kind: 'createIndex', replaces: { name: 'i' } });
  });

  test.each<[string[], string[], unknown[]]>([
    [['a'], ['a', 'b', 'c'], [{ value: 'b', position: { after: 'a' } }, { value: 'c' }]],
    [['b'], ['a', 'b'], [{ value: 'a', position: { before: 'b' } }]],
    [
      ['c'],
      ['a', 'b', 'c'],
      [
        { value: 'b', position: { before: 'c' } },
        { value: 'a', position: { before: 'b' } },
      ],
    ],
    [[], ['a', 'b'], [{ value: 'a' }, { value: 'b' }]],
  ])('enum %j → %j: new values placed next to values that exist when they run', (from, to, expected) => {
    const live = db([schema('public', { enums: [enumType('e', from)] })]);
    const desired = db([schema('public', { enums: [enumType('e', to)] })]);
    const changes = diffModels(live, desired).map((c) => {
      if (c.kind !== 'addEnumValue') throw new Error(c.kind);
      return c.position ? { value: c.value, position: c.position } : { value: c.value };
    });
    expect(changes).toEqual(expected);
  });

  test('changes come in a deterministic order whatever the input order', () => {
    const a = tables(table('b', [id()]), table('a', [id()]));
    const b = db([schema('public')]);
    expect(diffModels(a, b).map((c) => (c.kind === 'dropTable' ? c.table.name : ''))).toEqual(['a', 'b']);
  });
});

describe('isBinaryCoercible', () => {
  test.each([
    ['character varying(10)', 'character varying(20)', true],
    ['character varying(20)', 'character varying(10)', false],
    ['character varying(10)', 'character varying', true],
    ['character varying(10)', 'text', true],
    ['character varying', 'text', true],
    ['text', 'character varying', true],
    ['text', 'character varying(10)', false],
    ['numeric(10,2)', 'numeric(12,2)', true],
    ['numeric(10,2)', 'numeric(12,3)', false],
    ['numeric(10,2)', 'numeric(8,2)', false],
    ['numeric(10,2)', 'numeric', true],
    ['numeric', 'numeric(10,2)', false],
    ['numeric(10)', 'numeric(12,0)', true],
    ['timestamp(3) with time zone', 'timestamp(6) with time zone', true],
    ['timestamp(3) with time zone', 'timestamp with time zone', true],
    ['timestamp with time zone', 'timestamp(3) with time zone', false],
    ['timestamp(3) without time zone', 'timestamp(3) with time zone', false],
    ['time(2) without time zone', 'time(4) without time zone', true],
    ['bit varying(4)', 'bit varying(8)', true],
    ['cidr', 'inet', true],
    ['integer', 'bigint', false],
    ['character(10)', 'text', false],
    ['text', 'text', true],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(isBinaryCoercible(from, to)).toBe(expected);
  });
});

describe('diffKeyed', () => {
  test('pairs by key, sorted by key', () => {
    expect(
      diffKeyed([{ k: 'b' }, { k: 'a' }], [{ k: 'c' }, { k: 'b' }], (x) => x.k).map((e) => `${e.kind}:${e.key}`),
    ).toEqual(['removed:a', 'both:b', 'added:c']);
  });
});

describe('docPath', () => {
  test.each([
    [['schemas', 'public', 'tables', 'orders', 'columns', 'amount']],
    [['schemas', 'public', 'tables', 'order items', 'columns', 'x"y']],
    [['extensions', 0]],
  ])('formats %j like the desired loader', (segments) => {
    expect(docPath(segments)).toBe(formatPath(segments));
  });
});
