/** Statements of src/sql that no plan shows: apply's session settings, rollback's drops, the batch walks. */
import { describe, expect, test } from 'vitest';
import { createCastSql, dropCastSql } from '../../../src/sql/casts.js';
import { dropColumnSql } from '../../../src/sql/columns.js';
import { dropConstraintSql } from '../../../src/sql/constraints.js';
import { dropIndexSql } from '../../../src/sql/indexes.js';
import {
  backfillRangeSql,
  backfillUpdateSql,
  copyBatchSql,
  copyOutSql,
  copyReadSql,
  copyUpperSql,
  copyWriteSql,
  keyset,
  literalKeyset,
} from '../../../src/sql/rows.js';
import {
  lockTablesSql,
  resetSql,
  searchPathSql,
  setConfigSql,
  setLocalSql,
  setSessionSql,
} from '../../../src/sql/session.js';
import { dropFunctionSql, dropTriggerSql } from '../../../src/sql/triggers.js';

const orders = { schema: 'public', name: 'orders' };
const odd = { schema: 'My Schema', name: 'a"b' };

describe('session settings', () => {
  test('SET LOCAL / SET / RESET quote names and values', () => {
    expect(setLocalSql({ lock_timeout: '500ms', enable_seqscan: 'off' })).toBe(
      "SET LOCAL lock_timeout = '500ms'; SET LOCAL enable_seqscan = 'off'",
    );
    expect(setSessionSql({ lock_timeout: "1'2" })).toBe("SET lock_timeout = '1''2'");
    expect(resetSql('lock_timeout')).toBe('RESET lock_timeout');
  });

  test('set_config takes the values as parameters, in order', () => {
    expect(setConfigSql(['lock_timeout', 'application_name'])).toBe(
      "SELECT pg_catalog.set_config('lock_timeout', $1, false), pg_catalog.set_config('application_name', $2, false)",
    );
  });

  test('search_path: a list of schemas, or empty', () => {
    expect(searchPathSql(['My Schema', 'public'])).toBe('SET LOCAL search_path = "My Schema", public');
    expect(searchPathSql([])).toBe("SET LOCAL search_path = ''");
  });

  test('LOCK TABLE names each table once, in the order given', () => {
    expect(lockTablesSql([odd, orders, odd], 'ACCESS EXCLUSIVE')).toBe(
      'LOCK TABLE "My Schema"."a""b", public.orders IN ACCESS EXCLUSIVE MODE',
    );
  });
});

describe('rollback drops', () => {
  test('IF EXISTS, names quoted', () => {
    expect(dropColumnSql(odd, 'x y', { ifExists: true })).toBe(
      'ALTER TABLE "My Schema"."a""b" DROP COLUMN IF EXISTS "x y"',
    );
    expect(dropConstraintSql(orders, 'c', { ifExists: true })).toBe(
      'ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS c',
    );
    expect(dropIndexSql({ schema: 'public', name: 'ix' }, { concurrently: true, ifExists: true })).toBe(
      'DROP INDEX CONCURRENTLY IF EXISTS public.ix',
    );
    expect(dropTriggerSql('t', orders, { ifExists: true })).toBe('DROP TRIGGER IF EXISTS t ON public.orders');
    expect(dropFunctionSql({ schema: 'public', name: 'f' }, { ifExists: true })).toBe(
      'DROP FUNCTION IF EXISTS public.f()',
    );
  });
});

describe('batch walks', () => {
  const copy = {
    from: orders,
    to: { schema: 'public', name: 'orders_zdm_shadow' },
    columns: ['id', 'n'],
    key: ['id', 'n'],
    overridingSystemValue: false,
  };

  test('a key of several columns is compared as a row value; apply casts the journaled text to its types', () => {
    const ks = keyset(['id', 'n'], ['bigint', 'integer']);
    expect(copyUpperSql(copy, ks, true)).toBe(
      'SELECT ARRAY[id::text, n::text] AS key FROM public.orders WHERE (id, n) > ($1::bigint, $2::integer) ORDER BY id, n OFFSET $3 LIMIT 1',
    );
    expect(copyBatchSql(copy, ks, false, true)).toBe(
      'INSERT INTO public.orders_zdm_shadow (id, n) SELECT id, n FROM public.orders WHERE (id, n) <= ($1::bigint, $2::integer) ORDER BY id, n FOR SHARE ON CONFLICT DO NOTHING',
    );
  });

  test('the plan shows the copy batch with untyped placeholders', () => {
    expect(copyBatchSql({ ...copy, key: ['id'] }, keyset(['id']), true, true)).toBe(
      'INSERT INTO public.orders_zdm_shadow (id, n) SELECT id, n FROM public.orders WHERE id > $1 AND id <= $2 ORDER BY id FOR SHARE ON CONFLICT DO NOTHING',
    );
  });

  test("an anti-join batch finds a row's copy by its match columns, within the batch's range on both sides", () => {
    const ks = keyset(['id', 'n'], ['bigint', 'integer']);
    const anti = { ...copy, insert: 'anti-join' as const, match: ['id', 'n', 'created_at'] };
    expect(copyBatchSql(anti, ks, true, true)).toBe(
      'INSERT INTO public.orders_zdm_shadow (id, n) SELECT id, n FROM public.orders AS zdm_f' +
        ' WHERE (id, n) > ($1::bigint, $2::integer) AND (id, n) <= ($3::bigint, $4::integer)' +
        ' AND NOT EXISTS (SELECT FROM public.orders_zdm_shadow AS zdm_t' +
        ' WHERE (zdm_t.id, zdm_t.n) > ($1::bigint, $2::integer) AND (zdm_t.id, zdm_t.n) <= ($3::bigint, $4::integer)' +
        ' AND zdm_t.id = zdm_f.id AND zdm_t.n = zdm_f.n AND zdm_t.created_at = zdm_f.created_at)' +
        ' ORDER BY id, n FOR SHARE OF zdm_f',
    );
    // The batch redone: the other form, whatever the step says.
    expect(copyBatchSql(anti, ks, true, true, 'on-conflict')).toMatch(
      /ORDER BY id, n FOR SHARE ON CONFLICT DO NOTHING$/,
    );
    // No row lock under the repair guard; no match columns: the key.
    const { match: _, ...byKey } = anti;
    expect(copyBatchSql({ ...byKey, guard: 'repair', key: ['id'] }, keyset(['id']), false, true)).toBe(
      'INSERT INTO public.orders_zdm_shadow (id, n) SELECT id, n FROM public.orders AS zdm_f WHERE id <= $1' +
        ' AND NOT EXISTS (SELECT FROM public.orders_zdm_shadow AS zdm_t WHERE zdm_t.id <= $1 AND zdm_t.id = zdm_f.id) ORDER BY id',
    );
  });

  test('a copy batch streamed through COPY: its read takes the key range as literals (COPY takes no parameters)', () => {
    const ks = literalKeyset(['id', 'n'], ['bigint', 'text'], ['10', "it's", '20', 'z']);
    const read = copyReadSql({ ...copy, guard: 'repair', match: ['id', 'n'] }, ks, true, true);
    expect(copyOutSql(read)).toBe(
      "COPY (SELECT id, n FROM public.orders AS zdm_f WHERE (id, n) > ('10'::bigint, 'it''s'::text) AND (id, n) <= ('20'::bigint, 'z'::text)" +
        " AND NOT EXISTS (SELECT FROM public.orders_zdm_shadow AS zdm_t WHERE (zdm_t.id, zdm_t.n) > ('10'::bigint, 'it''s'::text)" +
        " AND (zdm_t.id, zdm_t.n) <= ('20'::bigint, 'z'::text) AND zdm_t.id = zdm_f.id AND zdm_t.n = zdm_f.n) ORDER BY id, n) TO STDOUT",
    );
    expect(copyWriteSql(copy)).toBe('COPY public.orders_zdm_shadow (id, n) FROM STDIN');
    // Without a cursor, the upper bound's literals come first.
    expect(copyReadSql(copy, literalKeyset(['id'], ['bigint'], ['5']), false, true)).toMatch(
      /WHERE id <= '5'::bigint AND/,
    );
  });

  test('a backfill batch updates only the set columns, of the rows that need it', () => {
    const b = { table: orders, set: { total: 'amount * 2' }, where: 'total IS NULL' };
    const ks = keyset(['id'], ['bigint']);
    expect(backfillRangeSql(b, ks, false)).toBe(
      'WITH upper AS MATERIALIZED (SELECT id FROM public.orders WHERE (total IS NULL) ORDER BY id OFFSET $1::int8 LIMIT 1),' +
        ' batch AS (UPDATE public.orders SET total = (amount * 2) WHERE id <= (SELECT id FROM upper) AND (total IS NULL) RETURNING 1)' +
        ' SELECT (SELECT pg_catalog.jsonb_build_array(id::text) FROM upper) AS key, (SELECT pg_catalog.count(*) FROM batch)::int8 AS rows',
    );
    expect(backfillRangeSql(b, ks, true)).toContain(
      'WHERE id > $1::bigint AND (total IS NULL) ORDER BY id OFFSET $2::int8 LIMIT 1), batch AS (UPDATE public.orders SET total = (amount * 2) WHERE id > $1::bigint AND id <= (SELECT id FROM upper)',
    );
    expect(backfillUpdateSql(b, ks, true, true)).toBe(
      'UPDATE public.orders SET total = (amount * 2) WHERE id > $1::bigint AND id <= $2::bigint AND (total IS NULL)',
    );
  });
});

describe('casts', () => {
  const cast = { kind: 'cast', source: 'public."My T"', target: 'integer', context: 'explicit' } as const;
  test('WITHOUT FUNCTION, WITH INOUT AS IMPLICIT, WITH FUNCTION AS ASSIGNMENT with a comment; DROP names the two types', () => {
    expect(createCastSql({ ...cast, method: 'binary' })).toEqual([
      'CREATE CAST (public."My T" AS integer) WITHOUT FUNCTION',
    ]);
    expect(createCastSql({ ...cast, method: 'inout', context: 'implicit' })).toEqual([
      'CREATE CAST (public."My T" AS integer) WITH INOUT AS IMPLICIT',
    ]);
    expect(
      createCastSql({
        ...cast,
        method: 'function',
        function: 'public.f(public."My T")',
        context: 'assignment',
        comment: "it's",
      }),
    ).toEqual([
      'CREATE CAST (public."My T" AS integer) WITH FUNCTION public.f(public."My T") AS ASSIGNMENT',
      `COMMENT ON CAST (public."My T" AS integer) IS 'it''s'`,
    ]);
    expect(dropCastSql({ ...cast, method: 'binary' })).toBe('DROP CAST (public."My T" AS integer)');
  });
});
