import { describe, expect, it } from 'vitest';
import { runSqlScript, splitSqlScript } from '../support/sql-script.js';

describe('splitSqlScript', () => {
  it.each([
    ['plain statements', 'SELECT 1; SELECT 2;', ['SELECT 1', 'SELECT 2']],
    ['no final semicolon', 'SELECT 1;\nSELECT 2', ['SELECT 1', 'SELECT 2']],
    ['empty statements and blanks', ';;  \n ; SELECT 1;;', ['SELECT 1']],
    ['semicolon in a string', "SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", 'SELECT 2']],
    ['doubled quote in a string', "SELECT 'it''s; ok'; SELECT 2", ["SELECT 'it''s; ok'", 'SELECT 2']],
    ['E string with backslash-escaped quote', "SELECT E'a\\';b'; SELECT 2", ["SELECT E'a\\';b'", 'SELECT 2']],
    ['backslash is literal in a plain string', "SELECT 'a\\'; SELECT 2", ["SELECT 'a\\'", 'SELECT 2']],
    ['identifier ending in e before a string', "SELECT some'x'; SELECT 2", ["SELECT some'x'", 'SELECT 2']],
    ['quoted identifier', 'CREATE TABLE "a;""b" (x int); SELECT 2', ['CREATE TABLE "a;""b" (x int)', 'SELECT 2']],
    ['dollar quoting', 'DO $$ BEGIN PERFORM 1; END $$; SELECT 2', ['DO $$ BEGIN PERFORM 1; END $$', 'SELECT 2']],
    [
      'tagged dollar quoting with $$ inside',
      'CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT $$;$$ $fn$; SELECT 2',
      ['CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT $$;$$ $fn$', 'SELECT 2'],
    ],
    [
      'positional parameter is not a dollar quote',
      'PREPARE p AS SELECT $1; SELECT 2',
      ['PREPARE p AS SELECT $1', 'SELECT 2'],
    ],
    ['dollar inside an identifier', 'SELECT a$b$c FROM t; SELECT 2', ['SELECT a$b$c FROM t', 'SELECT 2']],
    ['line comment', 'SELECT 1; -- a; comment\nSELECT 2;', ['SELECT 1', '-- a; comment\nSELECT 2']],
    ['comment-only tail', 'SELECT 1;\n-- the end;\n', ['SELECT 1']],
    ['nested block comment', 'SELECT 1 /* a /* b; */ c; */; SELECT 2', ['SELECT 1 /* a /* b; */ c; */', 'SELECT 2']],
    [
      'semicolon in parentheses',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3',
      ['CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)', 'SELECT 3'],
    ],
    [
      'psql meta-commands are skipped',
      '\\set ON_ERROR_STOP 1\nSELECT 1;\n  \\unset x\nSELECT 2;',
      ['SELECT 1', 'SELECT 2'],
    ],
    [
      'backslash inside a statement line is not a meta-command',
      "SELECT E'\\\\'; SELECT 2",
      ["SELECT E'\\\\'", 'SELECT 2'],
    ],
    [
      'BEGIN ATOMIC function body',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 3',
      [
        'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END',
        'SELECT 3',
      ],
    ],
    [
      'CREATE OR REPLACE PROCEDURE with BEGIN ATOMIC',
      'create or replace procedure p() language sql begin atomic insert into t values (1); end; select 2',
      ['create or replace procedure p() language sql begin atomic insert into t values (1); end', 'select 2'],
    ],
    ['BEGIN as a transaction is a statement', 'BEGIN; SELECT 1; END;', ['BEGIN', 'SELECT 1', 'END']],
    [
      'CASE outside a routine body',
      'SELECT CASE WHEN x THEN 1 END FROM t; SELECT 2',
      ['SELECT CASE WHEN x THEN 1 END FROM t', 'SELECT 2'],
    ],
  ])('%s', (_name, sql, expected) => {
    expect(splitSqlScript(sql)).toEqual(expected);
  });

  it('keeps an unterminated string to the end rather than losing text', () => {
    expect(splitSqlScript("SELECT 'abc; SELECT 2")).toEqual(["SELECT 'abc; SELECT 2"]);
  });
});

describe('runSqlScript', () => {
  function fakeClient(fail: (sql: string) => boolean) {
    const seen: string[] = [];
    return {
      seen,
      query: async (sql: string) => {
        seen.push(sql);
        if (fail(sql)) throw new Error(`failed: ${sql}`);
        return {};
      },
    };
  }

  it('runs the whole file as one query when it succeeds', async () => {
    const c = fakeClient(() => false);
    const r = await runSqlScript(c, 'SELECT 1; SELECT 2;');
    expect(r).toEqual({ statements: 2, errors: [] });
    expect(c.seen).toEqual(['SELECT 1; SELECT 2;']);
  });

  it('falls back to one statement at a time and collects the errors', async () => {
    const c = fakeClient((sql) => sql.includes('bad'));
    const r = await runSqlScript(c, 'SELECT 1; SELECT bad; SELECT 3;');
    expect(r.statements).toBe(3);
    expect(r.errors).toEqual([{ statement: 'SELECT bad', message: 'failed: SELECT bad' }]);
    expect(c.seen).toEqual(['SELECT 1; SELECT bad; SELECT 3;', 'SELECT 1', 'SELECT bad', 'SELECT 3']);
  });

  it('goes statement by statement straight away for files with their own transactions or meta-commands', async () => {
    for (const sql of ['BEGIN; SELECT 1; COMMIT;', '\\set x 1\nSELECT 1;', '/* c */ commit; SELECT 1;']) {
      const c = fakeClient(() => false);
      await runSqlScript(c, sql);
      expect(c.seen.some((s) => s === sql)).toBe(false);
    }
  });
});
