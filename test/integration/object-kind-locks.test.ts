/**
 * Collations, text search configurations, aggregates and casts lock no table, as their steps declare:
 * every transactional step of a plan that creates, changes and drops them runs once inside
 * BEGIN … ROLLBACK while the relation locks it holds are read from pg_locks
 * (test/support/observed-locks.ts), with a table of the schema present.
 */
import { describe, expect, it } from 'vitest';
import { useLockScenarios } from '../support/observed-locks.js';

const TABLE = `    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
        primaryKey: { columns: [id] }
`;

describe('locks of collation, text search configuration and aggregate steps, from pg_locks', () => {
  const s = useLockScenarios('object kind locks');

  it('create, change and drop them: no relation lock declared, none held', async () => {
    const before = `CREATE TABLE t (id int PRIMARY KEY);
      INSERT INTO t SELECT generate_series(1, 100);
      CREATE COLLATION old_c (locale = 'C');
      CREATE TEXT SEARCH CONFIGURATION cfg (PARSER = pg_catalog."default");
      ALTER TEXT SEARCH CONFIGURATION cfg ADD MAPPING FOR asciiword WITH simple;
      CREATE TEXT SEARCH CONFIGURATION old_cfg (COPY = pg_catalog.simple);
      CREATE AGGREGATE total(integer) (SFUNC = int4pl, STYPE = integer);
      CREATE AGGREGATE old_agg(integer) (SFUNC = int4pl, STYPE = integer);`;
    const desired = `${TABLE}    collations:
      bytes: { locale: C, comment: byte order }
    textSearchConfigurations:
      cfg: { parser: default, mappings: { asciiword: [simple], word: [simple] } }
      plain: { parser: default, mappings: { asciiword: [simple] } }
    aggregates:
      total: { arguments: [ { type: integer } ], sfunc: int4pl, stype: integer, parallel: safe }
      biggest: { arguments: [ { type: integer } ], sfunc: int4larger, stype: integer }
`;
    const { observed } = await s.scenario('kinds', before, desired);
    expect(observed.map((o) => o.step.replace(/^\S+ /, '')).sort()).toEqual(
      [
        'alter text search configuration public.cfg: add mapping for word',
        'create aggregate public.biggest',
        'create collation public.bytes',
        'create text search configuration public.plain',
        'drop aggregate public.old_agg',
        'drop collation public.old_c',
        'drop text search configuration public.old_cfg',
        'replace aggregate public.total',
      ].sort(),
    );
    for (const o of observed) {
      expect(o.declared, o.step).toEqual([]);
      expect(o.held, o.step).toEqual([]);
    }
  });

  it('casts: CREATE CAST, DROP CAST and a replaced cast (drop + create in one step) lock no table, a table using the types present', async () => {
    const before = `CREATE TYPE a AS ENUM ('x', 'y');
      CREATE TYPE b AS ENUM ('x', 'y');
      CREATE FUNCTION a2b(a) RETURNS b LANGUAGE sql IMMUTABLE AS $$ SELECT $1::text::b $$;
      CREATE TABLE t (id int PRIMARY KEY, v a, w b);
      INSERT INTO t SELECT g, 'x', 'y' FROM generate_series(1, 100) g;
      CREATE CAST (a AS b) WITH FUNCTION a2b(a);
      CREATE CAST (b AS a) WITH INOUT;`;
    const desired = `    enums:
      a: [x, y]
      b: [x, y]
    functions:
      a2b:
        arguments: [ { type: public.a } ]
        returns: public.b
        language: sql
        volatility: immutable
        body: ' SELECT $1::text::b '
    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
          v: { type: public.a }
          w: { type: public.b }
        primaryKey: { columns: [id] }
casts:
  - { source: public.a, target: public.b, function: 'public.a2b(public.a)', context: assignment }
  - { source: public.a, target: text, inout: true, comment: labels as text }
`;
    const { observed } = await s.scenario('casts', before, desired);
    expect(observed.map((o) => o.step.replace(/^\S+ /, '')).sort()).toEqual(
      [
        'create cast (public.a AS text)',
        'drop cast (public.b AS public.a)',
        'replace cast (public.a AS public.b)',
      ].sort(),
    );
    for (const o of observed) {
      expect(o.declared, o.step).toEqual([]);
      expect(o.held, o.step).toEqual([]);
    }
  });
});
