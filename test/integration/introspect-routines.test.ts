/**
 * Introspection of functions, procedures and triggers on a real server: every attribute the model
 * holds, overloads apart, SQL-standard bodies as the server prints them, triggers with their
 * events, WHEN, transition tables, constraint timing and enabled state; zdm's own sync objects
 * left out; keys of the dependency graph equal to the model's keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/introspect/index.js';
import { routineKey, triggerKey } from '../../src/model/routines.js';
import type { DatabaseModel, SchemaModel } from '../../src/model/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const SQL = `
CREATE SCHEMA app;
CREATE TABLE app.doc (id int PRIMARY KEY, body text, n int, updated_at timestamptz);
CREATE TABLE app.ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.ev_2026 PARTITION OF app.ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW app.doc_v AS SELECT id, body FROM app.doc;
CREATE FUNCTION app.gross(n numeric) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT round(n * 1.25, 2) $$;
CREATE FUNCTION app.gross(n numeric, rate numeric DEFAULT 0.2) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN n * (1 + rate);
CREATE FUNCTION app.pairs(OUT a int, INOUT b text, VARIADIC c int[]) LANGUAGE sql AS $$ SELECT 1, b $$;
CREATE FUNCTION app.rows_of(k int) RETURNS TABLE(id int, body text) LANGUAGE sql STABLE STRICT ROWS 10 AS $$ SELECT id, body FROM app.doc WHERE id > k $$;
CREATE FUNCTION app.secure() RETURNS setof int LANGUAGE plpgsql SECURITY DEFINER LEAKPROOF COST 5 SET search_path = app, pg_temp SET work_mem = '64MB' AS $$BEGIN RETURN NEXT 1; END$$;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.updated_at := now(); RETURN NEW; END$$;
CREATE PROCEDURE app.reprice(pct numeric) LANGUAGE sql BEGIN ATOMIC UPDATE app.doc SET n = n + 1; END;
COMMENT ON FUNCTION app.gross(numeric) IS 'net plus VAT';
CREATE TRIGGER doc_touch BEFORE UPDATE OF body, n ON app.doc FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body) EXECUTE FUNCTION app.touch();
CREATE TRIGGER doc_stmt AFTER INSERT ON app.doc REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION app.touch('a', 'b c');
CREATE CONSTRAINT TRIGGER doc_late AFTER INSERT ON app.doc DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER ev_touch BEFORE INSERT ON app.ev FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER doc_v_ins INSTEAD OF INSERT OR DELETE ON app.doc_v FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.doc DISABLE TRIGGER doc_stmt;
COMMENT ON TRIGGER doc_touch ON app.doc IS 'keeps updated_at';
-- zdm's own objects while a plan runs: never in the model.
CREATE FUNCTION app.doc_body_zdm_sync() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER doc_body_zdm_sync BEFORE INSERT ON app.doc FOR EACH ROW EXECUTE FUNCTION app.doc_body_zdm_sync();
`;

let db: TestDatabase;
let model: DatabaseModel;
let app: SchemaModel;

beforeAll(async () => {
  db = await freshDatabase('introspect_routines');
  await db.exec(SQL);
  model = await introspect(db.client);
  app = model.schemas.find((s) => s.name === 'app')!;
});

afterAll(async () => {
  await db?.drop();
});

describe('functions and procedures', () => {
  it('reads overloads apart, keyed by their argument types', () => {
    expect(app.functions.map(routineKey)).toEqual([
      'function app.gross(numeric)',
      'function app.gross(numeric, numeric)',
      'function app.pairs(text, integer[])',
      'procedure app.reprice(numeric)',
      'function app.rows_of(integer)',
      'function app.secure()',
      'function app.touch()',
    ]);
  });

  it('reads every attribute', () => {
    const f = (sig: string) => app.functions.find((x) => routineKey(x) === sig)!;
    expect(f('function app.gross(numeric)')).toEqual({
      kind: 'function',
      schema: 'app',
      name: 'gross',
      arguments: [{ name: 'n', type: 'numeric' }],
      returns: 'numeric',
      language: 'sql',
      body: ' SELECT round(n * 1.25, 2) ',
      volatility: 'immutable',
      parallel: 'safe',
      comment: 'net plus VAT',
      grants: [{ grantee: 'public', privilege: 'EXECUTE' }],
    });
    expect(f('function app.gross(numeric, numeric)')).toEqual({
      kind: 'function',
      schema: 'app',
      name: 'gross',
      arguments: [
        { name: 'n', type: 'numeric' },
        { name: 'rate', type: 'numeric', default: '0.2' },
      ],
      returns: 'numeric',
      language: 'sql',
      body: 'RETURN (n * ((1)::numeric + rate))',
      sqlBody: true,
      volatility: 'immutable',
      grants: [{ grantee: 'public', privilege: 'EXECUTE' }],
    });
    expect(f('function app.pairs(text, integer[])').arguments).toEqual([
      { mode: 'out', name: 'a', type: 'integer' },
      { mode: 'inout', name: 'b', type: 'text' },
      { mode: 'variadic', name: 'c', type: 'integer[]' },
    ]);
    expect(f('function app.pairs(text, integer[])').returns).toBe('record');
    expect(f('function app.rows_of(integer)')).toMatchObject({
      returns: 'TABLE(id integer, body text)',
      arguments: [{ name: 'k', type: 'integer' }],
      volatility: 'stable',
      strict: true,
      rows: 10,
    });
    expect(f('function app.secure()')).toMatchObject({
      returns: 'SETOF integer',
      language: 'plpgsql',
      securityDefiner: true,
      leakproof: true,
      cost: 5,
      set: { search_path: 'app, pg_temp', work_mem: '64MB' },
    });
    expect(f('function app.secure()').rows).toBeUndefined();
    const p = f('procedure app.reprice(numeric)');
    expect(p.returns).toBeUndefined();
    expect(p.sqlBody).toBe(true);
    expect(p.body).toMatch(/^BEGIN ATOMIC\n UPDATE app\.doc SET n = \(doc\.n \+ 1\);\nEND$/);
  });
});

describe('triggers', () => {
  it('reads triggers on tables, partitioned tables and views, without clones and zdm’s own', () => {
    expect(app.triggers.map(triggerKey)).toEqual([
      'trigger doc_late on app.doc',
      'trigger doc_stmt on app.doc',
      'trigger doc_touch on app.doc',
      'trigger doc_v_ins on app.doc_v',
      'trigger ev_touch on app.ev',
    ]);
  });

  it('reads every attribute', () => {
    const t = (name: string) => app.triggers.find((x) => x.name === name)!;
    expect(t('doc_touch')).toEqual({
      kind: 'trigger',
      schema: 'app',
      table: 'doc',
      name: 'doc_touch',
      timing: 'before',
      events: ['update'],
      columns: ['body', 'n'],
      forEach: 'row',
      when: 'old.body IS DISTINCT FROM new.body',
      function: 'app.touch',
      comment: 'keeps updated_at',
    });
    expect(t('doc_stmt')).toEqual({
      kind: 'trigger',
      schema: 'app',
      table: 'doc',
      name: 'doc_stmt',
      timing: 'after',
      events: ['insert'],
      forEach: 'statement',
      function: 'app.touch',
      arguments: ['a', 'b c'],
      newTable: 'fresh',
      enabled: 'disabled',
    });
    expect(t('doc_late').constraint).toEqual({ deferrable: true, initiallyDeferred: true });
    expect(t('doc_v_ins')).toMatchObject({ timing: 'instead of', events: ['insert', 'delete'] });
  });
});

describe('the dependency graph', () => {
  it('names functions and triggers with the model’s keys', () => {
    const edges = model.dependencies ?? [];
    expect(edges).toContainEqual({ from: 'trigger doc_touch on app.doc', to: 'function app.touch()' });
    expect(edges).toContainEqual({ from: 'procedure app.reprice(numeric)', to: 'table app.doc', column: 'n' });
    expect(model.unmanaged?.function).toBeUndefined();
    expect(model.unmanaged?.trigger).toBeUndefined();
  });
});

describe('what belongs to another object, or stays outside', () => {
  it("reads no range type's constructors as functions; a text search dictionary is counted as left out, collations and configurations are read", async () => {
    const other = await freshDatabase('introspect_range');
    try {
      await other.exec(`
        CREATE TYPE public.timerange AS RANGE (subtype = time);
        CREATE TEXT SEARCH CONFIGURATION public.mycfg (COPY = pg_catalog.simple);
        CREATE COLLATION public.mycoll (provider = libc, locale = 'C');
        CREATE TEXT SEARCH DICTIONARY public.mydict (TEMPLATE = pg_catalog.simple);`);
      const m = await introspect(other.client);
      // timerange(time, time), timerange(time, time, text) and the multirange's three constructors.
      expect(m.schemas.flatMap((s) => s.functions)).toEqual([]);
      expect(m.unmanaged).toEqual({ 'text search dictionary': 1 });
      const pub = m.schemas.find((s) => s.name === 'public')!;
      expect(pub.collations?.map((c) => c.name)).toEqual(['mycoll']);
      expect(pub.textSearchConfigurations?.map((c) => c.name)).toEqual(['mycfg']);
    } finally {
      await other.drop();
    }
  });
});
