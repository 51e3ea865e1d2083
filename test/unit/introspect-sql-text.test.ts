import { describe, expect, it } from 'vitest';
import {
  DeparseError,
  indexDefElements,
  parseKeySuffix,
  parsePartitionBound,
  parsePartitionKey,
} from '../../src/introspect/sql-text.js';

describe('parsePartitionBound', () => {
  it.each([
    ['DEFAULT', { kind: 'default' }],
    [
      "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
      { kind: 'range', from: ['2024-01-01 00:00:00+00'], to: ['2025-01-01 00:00:00+00'] },
    ],
    [
      "FOR VALUES FROM (MINVALUE, MINVALUE) TO (10, 'a,b')",
      { kind: 'range', from: ['MINVALUE', 'MINVALUE'], to: ['10', 'a,b'] },
    ],
    ["FOR VALUES FROM ('-5') TO (MAXVALUE)", { kind: 'range', from: ['-5'], to: ['MAXVALUE'] }],
    ["FOR VALUES IN ('it''s', NULL, 'x)y')", { kind: 'list', values: ["it's", 'NULL', 'x)y'] }],
    ['FOR VALUES IN (1, 2.5, true)', { kind: 'list', values: ['1', '2.5', 'true'] }],
    ["FOR VALUES IN (E'a\\\\b')", { kind: 'list', values: ['a\\b'] }],
    ['FOR VALUES WITH (modulus 4, remainder 3)', { kind: 'hash', modulus: 4, remainder: 3 }],
  ])('%s', (text, expected) => {
    expect(parsePartitionBound(text)).toEqual(expected);
  });

  it.each([
    'FOR VALUES',
    "FOR VALUES IN ('a'",
    "FOR VALUES FROM ('a') ('b')",
    'FOR VALUES WITH (modulus 4)',
    "FOR VALUES IN ('a') junk",
    "FOR VALUES IN ('unterminated)",
  ])('rejects %s', (text) => {
    expect(() => parsePartitionBound(text)).toThrow(DeparseError);
  });
});

describe('parsePartitionKey', () => {
  it.each([
    ['RANGE (created_at)', { strategy: 'range', columns: ['created_at'] }],
    ['HASH ("Event Id")', { strategy: 'hash', columns: ['Event Id'] }],
    ['LIST (lower(kind))', { strategy: 'list', columns: ['lower(kind)'] }],
    ['RANGE (a, ((b + 1)), c COLLATE "C")', { strategy: 'range', columns: ['a', '((b + 1))', 'c COLLATE "C"'] }],
  ])('%s', (text, expected) => {
    expect(parsePartitionKey(text)).toEqual(expected);
  });
});

describe('index definitions', () => {
  const def =
    'CREATE INDEX "i(1)" ON public."t,x" USING btree (name, lower(name) DESC NULLS LAST, ' +
    `(v::text) text_pattern_ops, lower(v::text) COLLATE "C", (a || ',') ext.my_ops, body public.gist_trgm_ops (siglen='32')) ` +
    "INCLUDE (z) WHERE (name <> 'a(b'::text)";

  it('splits the key list at top-level commas', () => {
    expect(indexDefElements(def)).toEqual([
      'name',
      'lower(name) DESC NULLS LAST',
      '(v::text) text_pattern_ops',
      'lower(v::text) COLLATE "C"',
      "(a || ',') ext.my_ops",
      "body public.gist_trgm_ops (siglen='32')",
    ]);
  });

  it.each([
    ['name', 'name', { collate: false, opclass: false, opclassOptions: false }],
    ['lower(name) DESC NULLS LAST', 'lower(name)', { collate: false, opclass: false, opclassOptions: false }],
    ['(v::text) text_pattern_ops', '(v::text)', { collate: false, opclass: true, opclassOptions: false }],
    ['lower(v::text) COLLATE "C"', 'lower(v::text)', { collate: true, opclass: false, opclassOptions: false }],
    ['c COLLATE public."de-x-icu" "My Ops" DESC', 'c', { collate: true, opclass: true, opclassOptions: false }],
    ["body public.gist_trgm_ops (siglen='32')", 'body', { collate: false, opclass: true, opclassOptions: true }],
    ['id NULLS FIRST', 'id', { collate: false, opclass: false, opclassOptions: false }],
  ])('reads what follows the key in %s', (element, key, expected) => {
    expect(parseKeySuffix(element, key)).toEqual(expected);
  });

  it('refuses an element that does not start with its key', () => {
    expect(() => parseKeySuffix('other DESC', 'name')).toThrow(DeparseError);
  });
});
