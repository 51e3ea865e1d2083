import { describe, expect, test } from 'vitest';
import { resolveTypeName, writtenTypeName } from '../../../src/desired/type-names.js';
import { canonicalType, displayType, parseIdentifierChain } from '../../../src/model/types-text.js';
import { quoteIdent } from '../../../src/sql/quote.js';

describe('canonicalType and displayType', () => {
  // written → canonical (format_type) → displayed (what pull writes), which reads back as canonical
  test.each([
    ['varchar(200)', 'character varying(200)', 'varchar(200)'],
    ['VARCHAR (200)', 'character varying(200)', 'varchar(200)'],
    ['timestamptz', 'timestamp with time zone', 'timestamptz'],
    ['timestamptz(3)', 'timestamp(3) with time zone', 'timestamptz(3)'],
    ['timestamp(3) WITH TIME ZONE', 'timestamp(3) with time zone', 'timestamptz(3)'],
    ['timestamp', 'timestamp without time zone', 'timestamp'],
    ['int[]', 'integer[]', 'integer[]'],
    ['int[][]', 'integer[]', 'integer[]'],
    ['int4 array', 'integer[]', 'integer[]'],
    ['numeric(10,2)', 'numeric(10,2)', 'numeric(10,2)'],
    ['numeric(10, 2)', 'numeric(10,2)', 'numeric(10,2)'],
    ['character varying[]', 'character varying[]', 'varchar[]'],
    ['varchar(20)[]', 'character varying(20)[]', 'varchar(20)[]'],
    ['time with time zone', 'time with time zone', 'timetz'],
    ['timetz(6)', 'time(6) with time zone', 'timetz(6)'],
    ['bit varying(5)', 'bit varying(5)', 'bit varying(5)'],
    ['varbit', 'bit varying', 'bit varying'],
    ['bit', 'bit(1)', 'bit(1)'],
    ['char', 'character(1)', 'char(1)'],
    ['char(3)', 'character(3)', 'char(3)'],
    ['"char"', '"char"', '"char"'],
    ['public."Name"', 'public."Name"', 'public."Name"'],
    ['Public.Order_Status', 'public.order_status', 'public.order_status'],
    ['"public"."order_status"', 'public.order_status', 'public.order_status'],
    ['public."user"', 'public."user"', 'public."user"'],
    ['pg_catalog.int4', 'integer', 'integer'],
    ['CITEXT', 'citext', 'citext'],
    ['float(24)', 'real', 'real'],
    ['float(25)', 'double precision', 'double precision'],
    ['float8', 'double precision', 'double precision'],
    ['decimal', 'numeric', 'numeric'],
    ['bool', 'boolean', 'boolean'],
    ['interval(3)', 'interval(3)', 'interval(3)'],
    ['interval YEAR TO MONTH', 'interval year to month', 'interval year to month'],
    ['int4range', 'int4range', 'int4range'],
    ['uuid', 'uuid', 'uuid'],
  ])('%s → %s → %s', (written, canonical, displayed) => {
    expect(canonicalType(written)).toBe(canonical);
    expect(displayType(canonical)).toBe(displayed);
    expect(canonicalType(displayed)).toBe(canonical);
  });
});

describe('identifiers', () => {
  test.each([
    ['users', 'users'],
    ['Users', '"Users"'],
    ['order items', '"order items"'],
    ['user', '"user"'],
    ['select', '"select"'],
    ['name', 'name'],
    ['a"b', '"a""b"'],
    ['ünï', '"ünï"'],
    ['_x1', '_x1'],
    ['x$', '"x$"'],
  ])('quoteIdent(%j) = %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
    expect(parseIdentifierChain(quoted)).toEqual([name]);
  });

  test.each([
    ['Public.Users', ['public', 'users']],
    ['"Public"."a.b"', ['Public', 'a.b']],
    ['a . b', undefined],
    ['x(1)', undefined],
    ['""', undefined],
    ['"open', undefined],
  ])('parseIdentifierChain(%j)', (text, parts) => {
    expect(parseIdentifierChain(text)).toEqual(parts);
  });
});

describe('types of enums and domains in the desired state', () => {
  const declared = new Set(['order_status', 'Mood', 'int4', 'yes', 'text']);

  test.each([
    ['order_status', 'public.order_status'],
    ['order_status[]', 'public.order_status[]'],
    ['"Mood"', 'public."Mood"'],
    ['Mood', 'mood'],
    // A built-in name means the built-in even when the schema has a type of that name.
    ['int4', 'integer'],
    ['text', 'text'],
    // Quotes do not change the lookup: pg_catalog still comes first.
    ['"text"', 'text'],
    ['other.order_status', 'other.order_status'],
  ])('%s in public is %s', (written, canonical) => {
    expect(resolveTypeName('public', written, declared)).toBe(canonical);
  });

  test.each([
    ['public.order_status', 'order_status'],
    ['public.order_status[]', 'order_status[]'],
    ['public."Mood"', '"Mood"'],
    ['public.int4', 'public.int4'],
    ['public.text', 'public.text'],
    ['public.yes', 'yes'],
    ['sales.order_status', 'sales.order_status'],
    ['character varying(20)[]', 'varchar(20)[]'],
  ])('%s is written as %s and reads back the same', (canonical, written) => {
    expect(writtenTypeName('public', canonical, declared)).toBe(written);
    expect(resolveTypeName('public', written, declared)).toBe(canonical);
  });
});
