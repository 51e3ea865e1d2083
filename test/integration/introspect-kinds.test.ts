/**
 * Aggregates and text search configurations read from the catalog, and `zdm pull`'s YAML of them
 * loading back (and normalizing through the server) to the same model: plain aggregates with every
 * option the model holds, an aggregate the model cannot hold counted as left out, a configuration
 * made with COPY and one with a parser and its own mappings (an extension's dictionary among them),
 * libc and ICU collations used by columns.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectDetailed } from '../../src/introspect/index.js';
import type { DatabaseModel, SchemaModel } from '../../src/model/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { expectRoundTrip } from '../support/roundtrip.js';

const SETUP = `
  CREATE SCHEMA kinds;
  CREATE FUNCTION kinds._concat(text, text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT $1 || $2';
  CREATE FUNCTION kinds._median(integer[]) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1[1]';
  CREATE AGGREGATE kinds.concat_all(text) (SFUNC = kinds._concat, STYPE = text, INITCOND = '');
  CREATE AGGREGATE kinds.median(integer) (SFUNC = array_append, STYPE = integer[], FINALFUNC = kinds._median,
    INITCOND = '{}', PARALLEL = SAFE);
  CREATE AGGREGATE kinds.total(integer) (SFUNC = int4pl, STYPE = integer, COMBINEFUNC = int4pl);
  COMMENT ON AGGREGATE kinds.total(integer) IS 'a sum';
  CREATE AGGREGATE kinds.running(integer) (SFUNC = int4pl, STYPE = integer, MSFUNC = int4pl, MINVFUNC = int4mi, MSTYPE = integer);
  CREATE EXTENSION IF NOT EXISTS unaccent;
  CREATE TEXT SEARCH CONFIGURATION kinds.copied (COPY = pg_catalog.simple);
  CREATE TEXT SEARCH CONFIGURATION kinds."Own" (PARSER = pg_catalog."default");
  ALTER TEXT SEARCH CONFIGURATION kinds."Own" ADD MAPPING FOR asciiword WITH simple;
  ALTER TEXT SEARCH CONFIGURATION kinds."Own" ADD MAPPING FOR word, hword WITH public.unaccent, simple;
  COMMENT ON TEXT SEARCH CONFIGURATION kinds."Own" IS 'words without accents';
  CREATE COLLATION kinds.bytes (locale = 'C');
  CREATE COLLATION kinds.split (lc_collate = 'C', lc_ctype = 'POSIX');
  CREATE COLLATION kinds.mb (provider = icu, locale = '@colCaseFirst=lower;colNumeric=yes');
  CREATE COLLATION kinds.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
  COMMENT ON COLLATION kinds.ci IS 'case-insensitive';
  CREATE TABLE kinds.t (a text COLLATE kinds.mb, b text COLLATE kinds.ci);
  CREATE FUNCTION kinds.c_unaccent(regdictionary, text) RETURNS text LANGUAGE c IMMUTABLE STRICT
    AS '$libdir/unaccent', 'unaccent_dict';
  CREATE EXTENSION IF NOT EXISTS citext;
  CREATE TYPE kinds.e1 AS ENUM ('x', 'y');
  CREATE TYPE kinds."E 2" AS ENUM ('x', 'y');
  CREATE FUNCTION kinds."to E 2"(kinds.e1) RETURNS kinds."E 2" LANGUAGE sql IMMUTABLE AS $$ SELECT $1::text::kinds."E 2" $$;
  CREATE CAST (kinds.e1 AS kinds."E 2") WITH FUNCTION kinds."to E 2"(kinds.e1) AS ASSIGNMENT;
  CREATE CAST (kinds."E 2" AS kinds.e1) WITH INOUT AS IMPLICIT;
  COMMENT ON CAST (kinds."E 2" AS kinds.e1) IS 'back';
  CREATE CAST (kinds.e1 AS integer) WITH INOUT;
  CREATE FUNCTION kinds.uses_casts(x kinds.e1) RETURNS integer LANGUAGE sql
    BEGIN ATOMIC SELECT x::kinds."E 2"::kinds.e1::integer; END;`;

function schema(m: DatabaseModel): SchemaModel {
  return m.schemas.find((s) => s.name === 'kinds')!;
}

describe('introspect: aggregates, text search configurations and collations', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let model: DatabaseModel;
  let unmanaged: Readonly<Record<string, number>>;

  beforeAll(async () => {
    db = await freshDatabase('introspect kinds');
    await db.exec(SETUP);
    client = await db.connect();
    const r = await introspectDetailed(client, { schemas: ['kinds', 'public'] });
    model = r.model;
    unmanaged = r.model.unmanaged ?? {};
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reads plain aggregates with their options; one with a moving-aggregate mode is counted as left out', () => {
    const aggs = schema(model).functions.filter((f) => f.kind === 'aggregate');
    expect(aggs.map((a) => [a.name, a.arguments, a.aggregate, a.parallel, a.comment])).toEqual([
      ['concat_all', [{ type: 'text' }], { sfunc: 'kinds._concat', stype: 'text', initcond: '' }, undefined, undefined],
      [
        'median',
        [{ type: 'integer' }],
        { sfunc: 'array_append', stype: 'integer[]', finalfunc: 'kinds._median', initcond: '{}' },
        'safe',
        undefined,
      ],
      [
        'total',
        [{ type: 'integer' }],
        { sfunc: 'int4pl', stype: 'integer', combinefunc: 'int4pl' },
        undefined,
        'a sum',
      ],
    ]);
    expect(unmanaged.aggregate).toBe(1);
  });

  it('reads text search configurations: parser, mappings by token type with dictionaries in order, comment', () => {
    const cs = schema(model).textSearchConfigurations ?? [];
    expect(cs.map((c) => c.name).sort()).toEqual(['Own', 'copied']);
    const own = cs.find((c) => c.name === 'Own')!;
    expect(own).toEqual({
      kind: 'textSearchConfiguration',
      name: 'Own',
      parser: 'default',
      mappings: { asciiword: ['simple'], hword: ['public.unaccent', 'simple'], word: ['public.unaccent', 'simple'] },
      comment: 'words without accents',
    });
    const copied = cs.find((c) => c.name === 'copied')!;
    expect(copied.parser).toBe('default');
    expect(copied.mappings.asciiword).toEqual(['simple']);
    expect(unmanaged['text search configuration']).toBeUndefined();
  });

  it('reads collations: provider, locale (lc_collate and lc_ctype when they differ), deterministic, comment', () => {
    const cs = schema(model).collations ?? [];
    const byName = Object.fromEntries(cs.map((c) => [c.name, c]));
    expect(byName.bytes).toEqual({ kind: 'collation', name: 'bytes', provider: 'libc', locale: 'C' });
    expect(byName.split).toEqual({
      kind: 'collation',
      name: 'split',
      provider: 'libc',
      lcCollate: 'C',
      lcCtype: 'POSIX',
    });
    expect(byName.mb).toMatchObject({ provider: 'icu' });
    expect(byName.mb!.locale).toMatch(/colCaseFirst=lower|kf-lower/);
    expect(byName.ci).toMatchObject({ provider: 'icu', deterministic: false, comment: 'case-insensitive' });
    expect(schema(model).tables[0]!.columns.map((c) => c.collation)).toEqual(['kinds.mb', 'kinds.ci']);
    expect(unmanaged.collation).toBeUndefined();
  });

  it('reads a C function with its library (probin) and link symbol', () => {
    const f = schema(model).functions.find((x) => x.name === 'c_unaccent');
    expect(f).toMatchObject({ language: 'c', library: '$libdir/unaccent', body: 'unaccent_dict', strict: true });
  });

  it("reads casts: types as format_type and the function as regprocedure print them, context, comment; an extension's are left out", () => {
    expect(model.casts).toEqual([
      {
        kind: 'cast',
        source: 'kinds."E 2"',
        target: 'kinds.e1',
        method: 'inout',
        context: 'implicit',
        comment: 'back',
      },
      { kind: 'cast', source: 'kinds.e1', target: 'integer', method: 'inout', context: 'explicit' },
      {
        kind: 'cast',
        source: 'kinds.e1',
        target: 'kinds."E 2"',
        method: 'function',
        function: 'kinds."to E 2"(kinds.e1)',
        context: 'assignment',
      },
    ]);
    expect(unmanaged.cast).toBeUndefined();
  });

  it('knows what a cast depends on (its function and types); a SQL-standard body depends on the function of the casts it uses, PostgreSQL records nothing on the cast', () => {
    const edges = (model.dependencies ?? []).map((d) => `${d.from} -> ${d.to}`);
    expect(edges).toEqual(
      expect.arrayContaining([
        'cast from kinds.e1 to kinds."E 2" -> function kinds.to E 2(kinds.e1)',
        'cast from kinds.e1 to kinds."E 2" -> enum kinds.E 2',
        'cast from kinds.e1 to kinds."E 2" -> enum kinds.e1',
        'function kinds.uses_casts(kinds.e1) -> function kinds.to E 2(kinds.e1)',
      ]),
    );
    expect(edges.filter((e) => e.includes('-> cast '))).toEqual([]);
  });

  it('pulled YAML loads back to the same model, and normalizing it through the server changes nothing', async () => {
    await expectRoundTrip(client, model);
  });
});
