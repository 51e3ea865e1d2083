/**
 * The pure parts of the convergence tests' support (test/acceptance/shared-cases.test.ts): comparing
 * dumps as multisets, cutting pg_dump output into comparable lines, and the expectations file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { compareDumps, formatDifference } from '../support/catalog-dump.js';
import { pgDumpStatements } from '../support/pg-dump.js';
import { loadExpectations, statusOn } from '../support/shared-cases.js';

describe('compareDumps', () => {
  test('lines only on one side, as multisets', () => {
    const d = compareDumps(['a', 'b', 'b', 'c'], ['b', 'c', 'd']);
    expect(d).toEqual({ onlyInA: ['a', 'b'], onlyInB: ['d'] });
    expect(formatDifference(d)).toBe(
      ['2 line(s) only in A:', '  - a', '  - b', '1 line(s) only in B:', '  + d'].join('\n'),
    );
    expect(compareDumps(['x', 'y'], ['y', 'x'])).toEqual({ onlyInA: [], onlyInB: [] });
  });
});

describe('pgDumpStatements', () => {
  const dump = (columns: string) => `--
-- PostgreSQL database dump
--

\\restrict abcDEF123

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: t; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.t (
${columns}
)
WITH (fillfactor='80', autovacuum_enabled=false);


ALTER TABLE public.t OWNER TO postgres;

CREATE FUNCTION public.f() RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
  RETURN 1;
END
$$;

ALTER TABLE ONLY public.t
    ADD CONSTRAINT t_pkey PRIMARY KEY (id);

CREATE INDEX t_b ON public.t USING btree (b) WITH (fillfactor='70', deduplicate_items=off);

\\unrestrict abcDEF123
`;

  test('one line per statement, a table cut into its columns, comments, SET and \\restrict left out', () => {
    expect(pgDumpStatements(dump('    id integer NOT NULL,\n    b text'))).toEqual([
      'ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);',
      'ALTER TABLE public.t OWNER TO postgres;',
      'CREATE FUNCTION public.f() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;',
      "CREATE INDEX t_b ON public.t USING btree (b) WITH (deduplicate_items=off, fillfactor='70');",
      'CREATE TABLE public.t (… b text …)',
      'CREATE TABLE public.t (… id integer NOT NULL …)',
      "CREATE TABLE public.t (…) WITH (autovacuum_enabled=false, fillfactor='80');",
    ]);
  });

  test('column order is no difference', () => {
    expect(pgDumpStatements(dump('    b text,\n    id integer NOT NULL'))).toEqual(
      pgDumpStatements(dump('    id integer NOT NULL,\n    b text')),
    );
  });
});

describe('the expectations file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zdm-expect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (text: string) => {
    const f = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, text);
    return f;
  };

  test('converges by default; refused, known-gap and a per-version status', () => {
    const e = loadExpectations(
      file(
        [
          'a: converges',
          'b: { refused: "^table public\\\\.t: .*drop it first" }',
          'c:',
          '  known-gap: "issue 11: the reason"',
          '  pg14: converges',
        ].join('\n'),
      ),
      ['a', 'b', 'c', 'd'],
    );
    expect(statusOn(e.get('a'), 18)).toEqual({ kind: 'converges' });
    expect(statusOn(e.get('b'), 18)).toEqual({ kind: 'refused', error: /^table public\.t: .*drop it first/ });
    expect(statusOn(e.get('c'), 18)).toEqual({ kind: 'known-gap', reason: 'issue 11: the reason' });
    expect(statusOn(e.get('c'), 14)).toEqual({ kind: 'converges' });
    expect(statusOn(e.get('d'), 18)).toEqual({ kind: 'converges' });
  });

  test('an entry for a case that does not exist, or an unknown status, is an error', () => {
    expect(() => loadExpectations(file('gone: converges'), ['a'])).toThrow(/gone is not a case folder/);
    expect(() => loadExpectations(file('a: { broken: yes }'), ['a'])).toThrow(/a\.broken: expected refused/);
    expect(() => loadExpectations(file('a: { refused: "(" }'), ['a'])).toThrow(/a\.refused/);
    expect(() => loadExpectations(file('a: { known-gap: x, refused: y }'), ['a'])).toThrow(/one of/);
  });
});
