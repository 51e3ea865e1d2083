import { describe, expect, test } from 'vitest';
import { parseIdentifierChain } from '../../../src/model/types-text.js';
import { qualifiedName, quoteIdent, quoteLiteral, RESERVED_KEYWORDS } from '../../../src/sql/quote.js';

describe('quoteIdent', () => {
  test.each([
    ['orders', 'orders'],
    ['_x1', '_x1'],
    ['Orders', '"Orders"'],
    ['order items', '"order items"'],
    ['1abc', '"1abc"'],
    ['a"b; drop', '"a""b; drop"'],
    ['select', '"select"'],
    ['user', '"user"'],
    ['left', '"left"'],
    ['integer', '"integer"'],
    ['name', 'name'],
    ['comment', 'comment'],
    ['été', '"été"'],
    ['a$b', '"a$b"'],
  ])('%s → %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  test('reads back as the name it quotes (quote_ident rules)', () => {
    for (const name of ['orders', 'Orders', 'select', 'user', 'a"b', 'json_table', 'name', 'x y']) {
      expect(parseIdentifierChain(quoteIdent(name))).toEqual([name]);
    }
  });

  test('the keyword list has the reserved words and not the unreserved ones', () => {
    for (const k of ['select', 'table', 'from', 'where', 'order', 'group', 'check', 'primary', 'references']) {
      expect(RESERVED_KEYWORDS.has(k)).toBe(true);
    }
    for (const k of ['name', 'comment', 'index', 'key', 'data', 'status', 'type'])
      expect(RESERVED_KEYWORDS.has(k)).toBe(false);
  });

  test('refuses what cannot be an identifier', () => {
    expect(() => quoteIdent('')).toThrow();
    expect(() => quoteIdent('a\0b')).toThrow();
  });
});

describe('quoteLiteral', () => {
  test.each([
    ['plain', "'plain'"],
    ["it's", "'it''s'"],
    ['a\\b', "E'a\\\\b'"],
    ["x'\\", "E'x''\\\\'"],
    ['', "''"],
  ])('%s → %s', (text, literal) => {
    expect(quoteLiteral(text)).toBe(literal);
  });
});

test('qualifiedName quotes each part', () => {
  expect(qualifiedName('public', 'orders')).toBe('public.orders');
  expect(qualifiedName('My Schema', 'a.b')).toBe('"My Schema"."a.b"');
});
