import { describe, expect, test } from 'vitest';
import { roundTripText } from '../../../src/sql/round-trip.js';

// Texts as PostgreSQL prints them (pg_get_expr, pg_get_viewdef(oid, true)); that the mended texts
// parse back into the printed tree is proven against a server in
// test/integration/deparse-round-trip.test.ts.
describe('roundTripText', () => {
  test.each([
    [
      'an IN list on a varchar column (pg_get_expr)',
      "((entity_type)::text = ANY ((ARRAY['area'::character varying, 'artist'::character varying])::text[]))",
      "((entity_type)::text = ANY ((ARRAY['area'::character varying, 'artist'::character varying]::character varying[])::text[]))",
    ],
    [
      'the same, pretty-printed (pg_get_viewdef)',
      "WHERE t.e::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])",
      "WHERE t.e::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::character varying[]::text[])",
    ],
    [
      'elements with a type modifier keep it',
      "((v)::text = ANY ((ARRAY['a'::character varying(5), 'b'::character varying(5)])::text[]))",
      "((v)::text = ANY ((ARRAY['a'::character varying(5), 'b'::character varying(5)]::character varying(5)[])::text[]))",
    ],
    [
      'numbers, one cast and one bare, of one type',
      '(n = ANY ((ARRAY[(1)::numeric, 2.5])::double precision[]))',
      '(n = ANY ((ARRAY[(1)::numeric, 2.5]::numeric[])::double precision[]))',
    ],
    [
      'an unnamed item of a UNION branch',
      ' SELECT a.x,\n    NULL::integer AS y\n   FROM a\nUNION ALL\n SELECT b.x,\n    NULL::integer\n   FROM b;',
      ' SELECT a.x,\n    NULL::integer AS y\n   FROM a\nUNION ALL\n SELECT b.x,\n    NULL::integer AS "?column?"\n   FROM b;',
    ],
  ])('%s', (_what, printed, written) => {
    expect(roundTripText(printed)).toBe(written);
    // What it sends is left as it is when it comes through again.
    expect(roundTripText(written)).toBe(written);
  });

  test.each([
    ['an array cast pushed down already', "(e = ANY (ARRAY['a'::text, 'b'::text]))"],
    ['elements of different types', "((ARRAY[(1)::numeric, 'x'::text])::text[])"],
    ['an element without a type in its text', '((ARRAY[(a + b), (c)::integer])::bigint[])'],
    ['a cast to a type that is not an array', "(ARRAY['a'::text])::text"],
    ['a multidimensional constructor', '(ARRAY[ARRAY[1, 2], ARRAY[3, 4]])::bigint[]'],
    [
      'named items and columns',
      ' SELECT t.a,\n    t.b::text AS b,\n    1 AS one,\n    lower(t.c) AS lower\n   FROM t;',
    ],
    ['a literal without a cast in a UNION branch', ' SELECT t.a\n   FROM t\nUNION\n SELECT 1\n   FROM u;'],
    [
      'an unnamed cast in the first branch, or outside a set operation',
      ' SELECT NULL::integer\nUNION\n SELECT t.a\n   FROM t;',
    ],
    ['a named cast in a later branch', ' SELECT t.a\n   FROM t\nUNION ALL\n SELECT NULL::integer AS a\n   FROM u;'],
    ['ARRAY inside a string literal', "('ARRAY[''a''::character varying]::text[]'::text)"],
    ['text the lexer rejects', "'unterminated"],
  ])('%s: unchanged', (_what, printed) => {
    expect(roundTripText(printed)).toBe(printed);
  });
});
