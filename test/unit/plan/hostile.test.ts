/** Names are data: hostile table, column, index and constraint names end up quoted in every statement. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { parsePlan, serializePlan } from '../../../src/plan/file.js';
import { renderSql } from '../../../src/render/sql.js';
import { check, col, db, fk, index, pk, schema, table } from './builders.js';
import { allSql, plan } from './helpers.js';

const EVIL = 'a"b; drop';
const evilSchema = 'Sales; --';

function model(withChanges: boolean): DatabaseModel {
  const t = table(
    EVIL,
    [col('id', 'bigint', { nullable: false }), col('select', 'integer', { comment: "it's \\ here" })],
    {
      schema: evilSchema,
      primaryKey: pk(['id'], `${EVIL}_pkey`),
    },
  );
  const other = table('Other', [col('id', 'bigint', { nullable: false }), col('ref', 'bigint')], {
    schema: evilSchema,
    primaryKey: pk(['id'], 'o_pkey'),
  });
  if (!withChanges) {
    const plain = { ...t, columns: t.columns.map(({ comment: _c, ...c }) => c) };
    return db([schema('public'), schema(evilSchema, { tables: [plain, { ...other, columns: [other.columns[0]!] }] })]);
  }
  return db([
    schema('public'),
    schema(evilSchema, {
      tables: [
        {
          ...t,
          columns: [...t.columns, col('New"Col', 'text', { nullable: false, default: "'x'::text" })],
          checks: [check('chk"; drop table x; --', '"select" > 0')],
          indexes: [index('idx "evil"', ['select desc'])],
        },
        {
          ...other,
          foreignKeys: [
            fk('fk"x', ['ref'], EVIL, ['id'], { references: { schema: evilSchema, table: EVIL, columns: ['id'] } }),
          ],
          indexes: [index('o_ref', ['ref'])],
        },
      ],
    }),
  ]);
}

describe('hostile names end to end', () => {
  const r = plan(model(false), model(true));
  const sql = allSql(r);

  test.each([
    [
      'ADD COLUMN with a quote in the column name',
      'ALTER TABLE "Sales; --"."a""b; drop" ADD COLUMN "New""Col" text NOT NULL DEFAULT \'x\'::text',
    ],
    [
      'a reserved word column name in an index',
      'CREATE INDEX CONCURRENTLY "idx ""evil""" ON "Sales; --"."a""b; drop" ("select" DESC)',
    ],
    [
      'a constraint name carrying SQL',
      'ALTER TABLE "Sales; --"."a""b; drop" ADD CONSTRAINT "chk""; drop table x; --" CHECK ("select" > 0) NOT VALID',
    ],
    [
      'an FK referencing the hostile table',
      'ALTER TABLE "Sales; --"."Other" ADD CONSTRAINT "fk""x" FOREIGN KEY (ref) REFERENCES "Sales; --"."a""b; drop" (id) NOT VALID',
    ],
    [
      'a comment with a quote and a backslash',
      'COMMENT ON COLUMN "Sales; --"."a""b; drop"."select" IS E\'it\'\'s \\\\ here\'',
    ],
  ])('%s', (_name, statement) => {
    expect(sql).toContain(statement);
  });

  test('no statement contains a name unquoted', () => {
    for (const q of sql) {
      expect(q).not.toMatch(/[^"]a"b/);
      expect(q).not.toMatch(/(^|[^"])Sales;/);
    }
  });

  test('the plan file and the SQL preview keep the names intact', () => {
    expect(parsePlan(serializePlan(r.plan), 'evil.plan.yaml')).toEqual(r.plan);
    expect(renderSql(r.plan)).toContain('ALTER TABLE "Sales; --"."a""b; drop" ADD COLUMN "New""Col"');
  });
});
