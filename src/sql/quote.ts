/**
 * The one place SQL text is made from names and strings. Every statement builder of src/sql goes
 * through these functions: a table named `a"b; drop` is data, never syntax.
 */

/**
 * Keywords that `quote_ident()` quotes: PostgreSQL's RESERVED, TYPE_FUNC_NAME and COL_NAME keyword
 * categories (src/include/parser/kwlist.h, PostgreSQL 18; a superset of 14–17). UNRESERVED keywords
 * are plain identifiers everywhere a name goes and stay unquoted, as `quote_ident()` leaves them.
 * Quoting exactly what the server quotes keeps generated expression text equal to what
 * `pg_get_expr()` prints.
 */
export const RESERVED_KEYWORDS: ReadonlySet<string> = new Set([
  // RESERVED_KEYWORD
  'all',
  'analyse',
  'analyze',
  'and',
  'any',
  'array',
  'as',
  'asc',
  'asymmetric',
  'both',
  'case',
  'cast',
  'check',
  'collate',
  'column',
  'constraint',
  'create',
  'current_catalog',
  'current_date',
  'current_role',
  'current_time',
  'current_timestamp',
  'current_user',
  'default',
  'deferrable',
  'desc',
  'distinct',
  'do',
  'else',
  'end',
  'except',
  'false',
  'fetch',
  'for',
  'foreign',
  'from',
  'grant',
  'group',
  'having',
  'in',
  'initially',
  'intersect',
  'into',
  'lateral',
  'leading',
  'limit',
  'localtime',
  'localtimestamp',
  'not',
  'null',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'placing',
  'primary',
  'references',
  'returning',
  'select',
  'session_user',
  'some',
  'symmetric',
  'system_user',
  'table',
  'then',
  'to',
  'trailing',
  'true',
  'union',
  'unique',
  'user',
  'using',
  'variadic',
  'when',
  'where',
  'window',
  'with',
  // TYPE_FUNC_NAME_KEYWORD
  'authorization',
  'binary',
  'collation',
  'concurrently',
  'cross',
  'current_schema',
  'freeze',
  'full',
  'ilike',
  'inner',
  'is',
  'isnull',
  'join',
  'left',
  'like',
  'natural',
  'notnull',
  'outer',
  'overlaps',
  'right',
  'similar',
  'tablesample',
  'verbose',
  // COL_NAME_KEYWORD
  'between',
  'bigint',
  'bit',
  'boolean',
  'char',
  'character',
  'coalesce',
  'dec',
  'decimal',
  'exists',
  'extract',
  'float',
  'greatest',
  'grouping',
  'inout',
  'int',
  'integer',
  'interval',
  'json',
  'json_array',
  'json_arrayagg',
  'json_exists',
  'json_object',
  'json_objectagg',
  'json_query',
  'json_scalar',
  'json_serialize',
  'json_table',
  'json_value',
  'least',
  'merge_action',
  'national',
  'nchar',
  'none',
  'normalize',
  'nullif',
  'numeric',
  'out',
  'overlay',
  'position',
  'precision',
  'real',
  'row',
  'setof',
  'smallint',
  'substring',
  'time',
  'timestamp',
  'treat',
  'trim',
  'values',
  'varchar',
  'xmlattributes',
  'xmlconcat',
  'xmlelement',
  'xmlexists',
  'xmlforest',
  'xmlnamespaces',
  'xmlparse',
  'xmlpi',
  'xmlroot',
  'xmlserialize',
  'xmltable',
]);

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * An identifier as SQL text: bare when PostgreSQL would read it back unchanged (lower case letters,
 * digits and underscores, not starting with a digit, not a keyword), else in double quotes with
 * embedded double quotes doubled. Same rule as the server's `quote_ident()`.
 *
 * @example quoteIdent('orders') === 'orders'; quoteIdent('Order') === '"Order"'; quoteIdent('user') === '"user"'
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('quoteIdent: empty identifier');
  if (name.includes('\0')) throw new Error(`quoteIdent: identifier contains a NUL character: ${JSON.stringify(name)}`);
  if (PLAIN_IDENTIFIER.test(name) && !RESERVED_KEYWORDS.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A string literal: `'…'` with embedded single quotes doubled; `E'…'` with backslashes doubled too
 * when the text contains a backslash, so the result means the same whatever
 * `standard_conforming_strings` is.
 *
 * @example quoteLiteral("it's") === "'it''s'"; quoteLiteral('a\\b') === "E'a\\\\b'"
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new Error(`quoteLiteral: text contains a NUL character: ${JSON.stringify(text)}`);
  const body = text.replaceAll("'", "''");
  if (text.includes('\\')) return `E'${body.replaceAll('\\', '\\\\')}'`;
  return `'${body}'`;
}

/** `schema.name`, each part quoted as needed. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A list of identifiers, quoted and comma separated: `a, "B", c`. */
export function identList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}

/** A relation (table, partition, view, sequence), an index or a function: its schema and name. */
export interface RelationName {
  readonly schema: string;
  readonly name: string;
}

/** `schema.name` of a relation, each part quoted as needed. */
export function rel(r: RelationName): string {
  return qualifiedName(r.schema, r.name);
}
