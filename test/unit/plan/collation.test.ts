/** A column's collation changed: in place when nothing is rebuilt, indexes prebuilt with it otherwise. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel, Index } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { check, col, index, pk, table, tables, unique } from './builders.js';
import { flat, plan } from './helpers.js';

const word = (collation: string | undefined, parts: Parameters<typeof table>[2] = {}) =>
  table('word', [col('id', 'integer', { nullable: false }), col('w', 'text', collation ? { collation } : {})], {
    primaryKey: pk(['id'], 'word_pkey'),
    ...parts,
  });
const steps = (live: DatabaseModel, desired: DatabaseModel) =>
  flat(plan(live, desired)).map((s) => `${s.phase}: ${s.sql.join('; ')}`);

function refusal(live: DatabaseModel, desired: DatabaseModel): string {
  try {
    plan(live, desired);
  } catch (e) {
    if (e instanceof PlanningError) return e.message;
    throw e;
  }
  throw new Error('planned without error');
}

describe('collation change', () => {
  test('no index on the column: the column changed in place in expand, ACCESS EXCLUSIVE for an instant', () => {
    const r = plan(tables(word(undefined)), tables(word('C')));
    expect(flat(r).map((s) => [s.phase, s.sql, s.locks, s.hazards])).toEqual([
      [
        'expand',
        ['ALTER TABLE public.word ALTER COLUMN w TYPE text COLLATE "C"'],
        [{ relation: 'public.word', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        [],
      ],
    ]);
  });

  test('back to the default collation: COLLATE "default"', () => {
    expect(steps(tables(word('C')), tables(word(undefined)))).toEqual([
      'expand: ALTER TABLE public.word ALTER COLUMN w TYPE text COLLATE "default"',
    ]);
  });

  test('an index keyed on the column: rebuilt CONCURRENTLY with the new collation first, the column changed last', () => {
    const ix = index('word_w', ['w']);
    expect(steps(tables(word(undefined, { indexes: [ix] })), tables(word('C', { indexes: [ix] })))).toEqual([
      'expand: CREATE INDEX CONCURRENTLY word_w_new ON public.word (w COLLATE "C")',
      'contract: DROP INDEX CONCURRENTLY public.word_w',
      'contract: ALTER INDEX public.word_w_new RENAME TO word_w',
      'contract: ALTER TABLE public.word ALTER COLUMN w TYPE text COLLATE "C"',
    ]);
  });

  test('an index with an explicit collation is left alone (PostgreSQL keeps it); one the desired state drops goes first', () => {
    const explicit: Index = index('word_w_posix', [{ column: 'w', collation: 'POSIX', descending: false }]);
    const dropped = index('word_w', ['w']);
    expect(
      steps(tables(word(undefined, { indexes: [explicit, dropped] })), tables(word('C', { indexes: [explicit] }))),
    ).toEqual([
      'contract: DROP INDEX CONCURRENTLY public.word_w',
      'contract: ALTER TABLE public.word ALTER COLUMN w TYPE text COLLATE "C"',
    ]);
  });

  test.each([
    ['a unique key over it', { uniqueConstraints: [unique('word_w_key', ['w'])] }, /key word_w_key is over the column/],
    ['a check using it', { checks: [check('word_w_check', "(w <> ''::text)")] }, /check word_w_check uses the column/],
    [
      'an expression index using it',
      { indexes: [index('word_lw', [{ expression: 'lower(w)', descending: false }])] },
      /index word_lw uses the column in an expression, a predicate or INCLUDE/,
    ],
    [
      'a partial index using it',
      { indexes: [index('word_id', ['id'], { where: "(w <> ''::text)" })] },
      /index word_id uses the column in an expression, a predicate or INCLUDE/,
    ],
  ])('refused, naming the column and the reason: %s', (_, parts, why) => {
    const message = refusal(tables(word(undefined, parts)), tables(word('C', parts)));
    expect(message).toMatch(/column public\.word\.w: changing the collation \(default → C\)/);
    expect(message).toMatch(why);
  });

  test('refused with a type change in the same plan: two plans', () => {
    const varchar = (type: string, collation?: string) =>
      tables(
        table('word', [col('id', 'integer', { nullable: false }), col('w', type, collation ? { collation } : {})], {
          primaryKey: pk(['id'], 'word_pkey'),
        }),
      );
    expect(refusal(varchar('character varying(10)'), varchar('character varying(20)', 'C'))).toMatch(
      /column public\.word\.w: changing the collation \(default → C\): the type changes too: change the type in one plan and the collation in the next/,
    );
  });
});
