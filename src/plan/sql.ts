/**
 * SQL fragments of the model's objects. Names go through quoteIdent/qualifiedName/quoteLiteral,
 * always; types and expressions are SQL text by definition (the model holds them as the server
 * prints them) and are used as they are, in parentheses where the grammar needs them.
 */
import type { RelationRef } from '../diff/changes.js';
import type {
  CheckConstraint,
  Column,
  Domain,
  EnumType,
  ExclusionConstraint,
  FkAction,
  ForeignKey,
  Index,
  IndexKey,
  PartitionBound,
  PartitionKey,
  PrimaryKey,
  Sequence,
  Table,
  UniqueConstraint,
} from '../model/types.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral } from '../sql/quote.js';

export const rel = (r: RelationRef): string => qualifiedName(r.schema, r.name);

/**
 * Names of collations and operator classes are `schema.name`, or bare for pg_catalog's (which may
 * themselves contain a dot, like `en_US.utf8`): a prefix that is a known schema makes a qualified
 * name, anything else is one identifier.
 */
export function catalogObjectName(text: string, schemas: ReadonlySet<string>): string {
  const dot = text.indexOf('.');
  if (dot > 0 && schemas.has(text.slice(0, dot))) return qualifiedName(text.slice(0, dot), text.slice(dot + 1));
  return quoteIdent(text);
}

const OPERATOR = /^[+\-*/<>=~!@#%^&|`?]+$/;

function operatorSql(op: string, schemas: ReadonlySet<string>): string {
  if (OPERATOR.test(op)) return op;
  const dot = op.lastIndexOf('.');
  const name = op.slice(dot + 1);
  if (dot > 0 && OPERATOR.test(name) && schemas.has(op.slice(0, dot))) {
    return `OPERATOR(${quoteIdent(op.slice(0, dot))}.${name})`;
  }
  throw new Error(`not an operator: ${JSON.stringify(op)}`);
}

/** `(expr)`, without doubling parentheses that already enclose the whole expression. */
export function parenthesized(expr: string): string {
  const e = expr.trim();
  if (e.startsWith('(') && e.endsWith(')')) {
    let depth = 0;
    let quote: string | undefined;
    for (let i = 0; i < e.length; i++) {
      const ch = e[i]!;
      if (quote !== undefined) {
        if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') {
        depth--;
        if (depth === 0 && i < e.length - 1) return `(${e})`;
      }
    }
    return e;
  }
  return `(${e})`;
}

const INTEGER = /^-?\d+$/;
function integer(text: string, what: string): string {
  if (!INTEGER.test(text)) throw new Error(`${what}: not an integer: ${JSON.stringify(text)}`);
  return text;
}

export interface ColumnSqlOptions {
  /** Leave NOT NULL out (the column is added nullable and made NOT NULL later). */
  readonly nullable?: boolean;
  /** Leave the default out (it is set by a separate statement). */
  readonly noDefault?: boolean;
  readonly schemas: ReadonlySet<string>;
}

export function columnDefinition(c: Column, opts: ColumnSqlOptions): string {
  let sql = `${quoteIdent(c.name)} ${c.type}`;
  if (c.collation !== undefined) sql += ` COLLATE ${catalogObjectName(c.collation, opts.schemas)}`;
  if (!c.nullable && !opts.nullable) sql += ' NOT NULL';
  if (c.default !== undefined && !opts.noDefault) sql += ` DEFAULT ${c.default}`;
  if (c.generated !== undefined) {
    sql += ` GENERATED ALWAYS AS ${parenthesized(c.generated.expression)} ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`;
  }
  if (c.identity !== undefined) sql += ` GENERATED ${c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
  return sql;
}

function timing(c: { readonly deferrable: boolean; readonly initiallyDeferred: boolean }): string {
  if (!c.deferrable) return '';
  return c.initiallyDeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE';
}

const include = (cols: readonly string[]) => (cols.length > 0 ? ` INCLUDE (${identList(cols)})` : '');

export function primaryKeySql(pk: PrimaryKey): string {
  return `CONSTRAINT ${quoteIdent(pk.name)} PRIMARY KEY (${identList(pk.columns)})${include(pk.include)}${timing(pk)}`;
}

export function uniqueSql(u: UniqueConstraint): string {
  const nnd = u.nullsNotDistinct ? ' NULLS NOT DISTINCT' : '';
  return `CONSTRAINT ${quoteIdent(u.name)} UNIQUE${nnd} (${identList(u.columns)})${include(u.include)}${timing(u)}`;
}

/** `CONSTRAINT c CHECK (expr) [NO INHERIT] [NOT VALID]` */
export function checkSql(c: CheckConstraint, notValid: boolean): string {
  return (
    `CONSTRAINT ${quoteIdent(c.name)} CHECK ${parenthesized(c.expression)}` +
    `${c.noInherit ? ' NO INHERIT' : ''}${notValid ? ' NOT VALID' : ''}`
  );
}

const FK_ACTION: Readonly<Record<FkAction, string>> = {
  'no action': 'NO ACTION',
  restrict: 'RESTRICT',
  cascade: 'CASCADE',
  'set null': 'SET NULL',
  'set default': 'SET DEFAULT',
};

export function foreignKeySql(fk: ForeignKey, notValid: boolean): string {
  let sql =
    `CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${identList(fk.columns)}) ` +
    `REFERENCES ${qualifiedName(fk.references.schema, fk.references.table)} (${identList(fk.references.columns)})`;
  if (fk.match === 'full') sql += ' MATCH FULL';
  else if (fk.match === 'partial') sql += ' MATCH PARTIAL';
  if (fk.onUpdate !== 'no action') sql += ` ON UPDATE ${FK_ACTION[fk.onUpdate]}`;
  if (fk.onDelete !== 'no action') sql += ` ON DELETE ${FK_ACTION[fk.onDelete]}`;
  return sql + timing(fk) + (notValid ? ' NOT VALID' : '');
}

export function indexKeySql(k: IndexKey, schemas: ReadonlySet<string>): string {
  let sql: string;
  if (k.column !== undefined) sql = quoteIdent(k.column);
  else if (k.expression !== undefined) sql = parenthesized(k.expression);
  else throw new Error('index key with neither column nor expression');
  if (k.collation !== undefined) sql += ` COLLATE ${catalogObjectName(k.collation, schemas)}`;
  if (k.opclass !== undefined) sql += ` ${catalogObjectName(k.opclass, schemas)}`;
  if (k.descending) sql += ' DESC';
  if (k.nullsFirst !== undefined) sql += k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST';
  return sql;
}

function withClause(params: Readonly<Record<string, string>> | undefined): string {
  if (params === undefined) return '';
  const entries = Object.keys(params)
    .sort()
    .map((k) => {
      const v = params[k]!;
      return `${quoteIdent(k)} = ${/^[A-Za-z0-9_.+-]+$/.test(v) ? v : quoteLiteral(v)}`;
    });
  return entries.length > 0 ? ` WITH (${entries.join(', ')})` : '';
}

export interface IndexSqlOptions {
  readonly concurrently?: boolean;
  /** `ON ONLY parent`: the parent's index alone, its partitions' indexes attached one by one. */
  readonly only?: boolean;
  /** Name to build it under (default: the index's own). */
  readonly name?: string;
  readonly schemas: ReadonlySet<string>;
}

/** `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON [ONLY] table [USING m] (keys) [INCLUDE] [NULLS NOT DISTINCT] [WITH] [WHERE]` */
export function createIndexSql(table: RelationRef, ix: Index, opts: IndexSqlOptions): string {
  let sql = `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}`;
  sql += `${quoteIdent(opts.name ?? ix.name)} ON ${opts.only ? 'ONLY ' : ''}${rel(table)}`;
  if (ix.method !== 'btree') sql += ` USING ${quoteIdent(ix.method)}`;
  sql += ` (${ix.keys.map((k) => indexKeySql(k, opts.schemas)).join(', ')})`;
  sql += include(ix.include);
  if (ix.nullsNotDistinct) sql += ' NULLS NOT DISTINCT';
  sql += withClause(ix.with);
  if (ix.where !== undefined) sql += ` WHERE ${ix.where}`;
  return sql;
}

export function exclusionSql(x: ExclusionConstraint, schemas: ReadonlySet<string>): string {
  const elements = x.elements.map((e) => `${indexKeySql(e.key, schemas)} WITH ${operatorSql(e.operator, schemas)}`);
  let sql = `CONSTRAINT ${quoteIdent(x.name)} EXCLUDE USING ${quoteIdent(x.method)} (${elements.join(', ')})`;
  sql += include(x.include);
  if (x.where !== undefined) sql += ` WHERE ${parenthesized(x.where)}`;
  return sql + timing(x);
}

function partitionKeyElement(e: string): string {
  return /^[^\s()"]+$/.test(e) ? quoteIdent(e) : e;
}

export function partitionBySql(key: PartitionKey): string {
  return `PARTITION BY ${key.strategy.toUpperCase()} (${key.columns.map(partitionKeyElement).join(', ')})`;
}

/** A bound value: MINVALUE/MAXVALUE/NULL and SQL literals as they are, anything else as a string literal. */
export function boundValue(v: string): string {
  if (/^(minvalue|maxvalue|null|true|false)$/i.test(v)) return v.toUpperCase();
  if (/^'(?:[^']|'')*'(?:::[\w ."[\]]+)?$/.test(v)) return v;
  return quoteLiteral(v);
}

export function partitionBoundSql(b: PartitionBound): string {
  switch (b.kind) {
    case 'range':
      return `FOR VALUES FROM (${b.from.map(boundValue).join(', ')}) TO (${b.to.map(boundValue).join(', ')})`;
    case 'list':
      return `FOR VALUES IN (${b.values.map(boundValue).join(', ')})`;
    case 'hash':
      return `FOR VALUES WITH (MODULUS ${integer(String(b.modulus), 'modulus')}, REMAINDER ${integer(String(b.remainder), 'remainder')})`;
    case 'default':
      return 'DEFAULT';
  }
}

/** `CREATE TABLE` with its columns and the constraints that can be declared inline (all but foreign keys). */
export function createTableSql(t: Table, schemas: ReadonlySet<string>): string {
  const lines = t.columns.map((c) => columnDefinition(c, { schemas }));
  if (t.primaryKey) lines.push(primaryKeySql(t.primaryKey));
  for (const u of t.uniqueConstraints) lines.push(uniqueSql(u));
  for (const c of t.checks) if (c.valid) lines.push(checkSql(c, false));
  for (const x of t.exclusionConstraints) lines.push(exclusionSql(x, schemas));
  const by = t.partitionBy ? ` ${partitionBySql(t.partitionBy)}` : '';
  return `CREATE ${t.unlogged ? 'UNLOGGED ' : ''}TABLE ${qualifiedName(t.schema, t.name)} (\n  ${lines.join(',\n  ')}\n)${by}`;
}

export function createEnumSql(e: EnumType): string {
  return `CREATE TYPE ${qualifiedName(e.schema, e.name)} AS ENUM (${e.values.map(quoteLiteral).join(', ')})`;
}

export function createDomainSql(d: Domain, schemas: ReadonlySet<string>): string {
  let sql = `CREATE DOMAIN ${qualifiedName(d.schema, d.name)} AS ${d.type}`;
  if (d.collation !== undefined) sql += ` COLLATE ${catalogObjectName(d.collation, schemas)}`;
  if (d.default !== undefined) sql += ` DEFAULT ${d.default}`;
  if (!d.nullable) sql += ' NOT NULL';
  for (const c of d.checks) sql += ` CONSTRAINT ${quoteIdent(c.name)} CHECK ${parenthesized(c.expression)}`;
  return sql;
}

/** The option clauses of CREATE/ALTER SEQUENCE for the given fields. */
export function sequenceOptions(q: Sequence, fields: readonly (keyof Sequence)[]): string {
  const parts: string[] = [];
  for (const f of fields) {
    switch (f) {
      case 'type':
        if (!/^(smallint|integer|bigint)$/.test(q.type)) throw new Error(`sequence type ${q.type}`);
        parts.push(`AS ${q.type}`);
        break;
      case 'increment':
        parts.push(`INCREMENT BY ${integer(q.increment, 'increment')}`);
        break;
      case 'minValue':
        parts.push(`MINVALUE ${integer(q.minValue, 'minValue')}`);
        break;
      case 'maxValue':
        parts.push(`MAXVALUE ${integer(q.maxValue, 'maxValue')}`);
        break;
      case 'start':
        parts.push(`START WITH ${integer(q.start, 'start')}`);
        break;
      case 'cache':
        parts.push(`CACHE ${integer(q.cache, 'cache')}`);
        break;
      case 'cycle':
        parts.push(q.cycle ? 'CYCLE' : 'NO CYCLE');
        break;
      default:
        break;
    }
  }
  return parts.join(' ');
}

export const SEQUENCE_FIELDS = ['type', 'increment', 'minValue', 'maxValue', 'start', 'cache', 'cycle'] as const;
