/**
 * Introspection reads an index's full `pg_get_indexdef` only when one of its keys may print a
 * COLLATE or an operator class (src/introspect/queries.ts, INDEX_MAY_PRINT_SUFFIX): the call costs a
 * deparse per index, most of the index query's time on schemas of thousands of tables. These cases
 * pin where it is skipped and where it is not, and that the model reads the same either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/introspect/index.js';
import { indexesSql } from '../../src/introspect/queries.js';
import type { Index } from '../../src/model/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase('index-definition');
  await db.exec(`
    CREATE DOMAIN short_text AS text;
    CREATE TABLE t (id bigint PRIMARY KEY, name text, code varchar(10), label short_text, at timestamptz);
    CREATE INDEX plain ON t (at DESC NULLS LAST, id);
    CREATE INDEX pattern ON t (name text_pattern_ops);
    CREATE INDEX collated ON t (name COLLATE "C");
    CREATE INDEX coercible ON t (code);
    CREATE INDEX on_domain ON t (label);
    CREATE INDEX expression ON t (lower(name));
    CREATE INDEX covering ON t (id) INCLUDE (name);
  `);
});

afterAll(async () => {
  await db?.drop();
});

describe('the full index definition', () => {
  it('is read only for indexes with a key that may print a COLLATE or an operator class', async () => {
    const major = Math.floor(Number((await db.query<{ v: string }>('SHOW server_version_num'))[0]!.v) / 10000);
    const rows = await db.query<{ name: string; definition: string | null }>(
      `SELECT name, definition FROM (${indexesSql(major * 10000)}) x ORDER BY name`,
      [null],
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.definition !== null]))).toEqual({
      coercible: true, // varchar uses text's operator class: judged by PostgreSQL
      collated: true,
      covering: false,
      expression: true,
      on_domain: true,
      pattern: true,
      plain: false,
      t_pkey: false,
    });
  });

  it('leaves the model of every index as PostgreSQL prints it', async () => {
    const m = await introspect(db.client);
    const t = m.schemas.find((s) => s.name === 'public')?.tables.find((x) => x.name === 't');
    const byName = new Map<string, Index>(t?.indexes.map((i) => [i.name, i]));
    expect(byName.get('plain')?.keys).toEqual([
      { column: 'at', descending: true, nullsFirst: false },
      { column: 'id', descending: false },
    ]);
    expect(byName.get('pattern')?.keys).toEqual([{ column: 'name', opclass: 'text_pattern_ops', descending: false }]);
    expect(byName.get('collated')?.keys).toEqual([{ column: 'name', collation: 'C', descending: false }]);
    expect(byName.get('coercible')?.keys).toEqual([{ column: 'code', descending: false }]);
    expect(byName.get('on_domain')?.keys).toEqual([{ column: 'label', descending: false }]);
    expect(byName.get('expression')?.keys).toEqual([{ expression: 'lower(name)', descending: false }]);
    expect(byName.get('covering')?.include).toEqual(['name']);
  });
});
