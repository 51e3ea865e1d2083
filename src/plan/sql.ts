/**
 * SQL fragments of the model's objects. Names go through quoteIdent/qualifiedName/quoteLiteral,
 * always; types and expressions are SQL text by definition (the model holds them as the server
 * prints them) and are used as they are, in parentheses where the grammar needs them.
 */
import type { RelationRef } from '../diff/changes.js';
import {
  changedSettings,
  identitySettings,
  type SequenceSettingField,
  type SequenceSettings,
} from '../model/identity.js';
import type {
  CheckConstraint,
  Column,
  Domain,
  DomainCheck,
  EnumType,
  ExclusionConstraint,
  FkAction,
  ForeignKey,
  Index,
  IndexKey,
  PartitionBound,
  PartitionKey,
  PrimaryKey,
  RelationParts,
  ReplicaIdentity,
  Sequence,
  StorageParameters,
  Table,
  UniqueConstraint,
} from '../model/types.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral } from '../render/quote.js';
import { dollarTag } from './sync-trigger.js';

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
  if (c.identity !== undefined) sql += ` ${identitySql(c)}`;
  return sql;
}

/** `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [(options)]`: only options that are not the defaults. */
export function identitySql(c: Column): string {
  const kind = c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT';
  const s = identitySettings(c.type, c.identityOptions);
  const d = identitySettings(c.type, undefined);
  const options = sequenceSettingsSql(s, changedSettings(d, s));
  return `GENERATED ${kind} AS IDENTITY${options.length > 0 ? ` (${options.join(' ')})` : ''}`;
}

const SEQUENCE_CLAUSES: Readonly<Record<SequenceSettingField, (s: SequenceSettings) => string>> = {
  increment: (s) => `INCREMENT BY ${s.increment}`,
  minValue: (s) => `MINVALUE ${s.minValue}`,
  maxValue: (s) => `MAXVALUE ${s.maxValue}`,
  start: (s) => `START WITH ${s.start}`,
  cache: (s) => `CACHE ${s.cache}`,
  cycle: (s) => (s.cycle ? 'CYCLE' : 'NO CYCLE'),
};

/** Clauses of CREATE/ALTER SEQUENCE for the given fields: `INCREMENT BY 5`, `NO CYCLE`… */
export function sequenceSettingsSql(s: SequenceSettings, fields: readonly SequenceSettingField[]): string[] {
  return fields.map((f) => SEQUENCE_CLAUSES[f](s));
}

/** `ALTER TABLE t ALTER COLUMN c SET INCREMENT BY 5 SET CYCLE …`: the identity sequence's options that change. */
export function alterIdentitySql(
  table: RelationRef,
  column: string,
  s: SequenceSettings,
  fields: readonly SequenceSettingField[],
): string {
  const sets = sequenceSettingsSql(s, fields).map((o) => `SET ${o}`);
  return `ALTER TABLE ${rel(table)} ALTER COLUMN ${quoteIdent(column)} ${sets.join(' ')}`;
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

/** A storage parameter's name: `fillfactor`, or `toast.autovacuum_enabled` (a namespace and a name). */
function storageParameterName(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 ? `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}` : quoteIdent(name);
}

/** `fillfactor = 80, autovacuum_enabled = off`, in the order given (PostgreSQL keeps it). */
function storageParameterList(params: StorageParameters): string {
  return Object.keys(params)
    .map((k) => {
      const v = params[k]!;
      return `${storageParameterName(k)} = ${/^[A-Za-z0-9_.+-]+$/.test(v) ? v : quoteLiteral(v)}`;
    })
    .join(', ');
}

/** ` WITH (fillfactor = 80, …)`, or nothing when there are none. */
export function withClause(params: StorageParameters | undefined): string {
  if (params === undefined || Object.keys(params).length === 0) return '';
  return ` WITH (${storageParameterList(params)})`;
}

/** `ALTER TABLE|INDEX x RESET (…), SET (…)`: see storageParameterChange for what to name. */
export function setStorageParametersSql(
  kind: 'TABLE' | 'INDEX',
  target: RelationRef,
  change: { readonly reset: readonly string[]; readonly set: StorageParameters },
): string {
  const actions: string[] = [];
  if (change.reset.length > 0) actions.push(`RESET (${change.reset.map(storageParameterName).join(', ')})`);
  if (Object.keys(change.set).length > 0) actions.push(`SET (${storageParameterList(change.set)})`);
  return `ALTER ${kind} ${rel(target)} ${actions.join(', ')}`;
}

/** `ALTER TABLE t { ENABLE | DISABLE | FORCE | NO FORCE } ROW LEVEL SECURITY` */
export function rowLevelSecuritySql(table: RelationRef, setting: 'enable' | 'force', on: boolean): string {
  const verb = setting === 'enable' ? (on ? 'ENABLE' : 'DISABLE') : on ? 'FORCE' : 'NO FORCE';
  return `ALTER TABLE ${rel(table)} ${verb} ROW LEVEL SECURITY`;
}

/** `ALTER TABLE t REPLICA IDENTITY { DEFAULT | FULL | NOTHING | USING INDEX i }` */
export function replicaIdentitySql(table: RelationRef, r: ReplicaIdentity | undefined): string {
  const what =
    r === undefined ? 'DEFAULT' : r.kind === 'index' ? `USING INDEX ${quoteIdent(r.index)}` : r.kind.toUpperCase();
  return `ALTER TABLE ${rel(table)} REPLICA IDENTITY ${what}`;
}

/**
 * Renames the NOT NULL constraint `from` of a table to `to` where there is one: PostgreSQL 18 makes
 * one for every NOT NULL column, named after the column (`t_c_not_null`), and keeps the name when the
 * column is renamed; older versions have none. One statement for every version, so that a plan does
 * not depend on the server it was made on (partitions follow their parent's rename).
 */
export function renameNotNullConstraintSql(table: RelationRef, from: string, to: string): string {
  const body =
    ` BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE conrelid = ${quoteLiteral(rel(table))}::pg_catalog.regclass` +
    ` AND contype = 'n' AND conname = ${quoteLiteral(from)}) THEN` +
    ` ALTER TABLE ${rel(table)} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}; END IF; END `;
  const tag = dollarTag(body);
  return `DO ${tag}${body}${tag}`;
}

/** `COMMENT ON CONSTRAINT c ON t IS '…'` (NULL removes it). */
export function constraintCommentSql(table: RelationRef, constraint: string, comment: string | undefined): string {
  const is = comment === undefined ? 'NULL' : quoteLiteral(comment);
  return `COMMENT ON CONSTRAINT ${quoteIdent(constraint)} ON ${rel(table)} IS ${is}`;
}

/** `COMMENT ON CONSTRAINT c ON DOMAIN d IS '…'` (NULL removes it). */
export function domainConstraintCommentSql(
  domain: RelationRef,
  constraint: string,
  comment: string | undefined,
): string {
  const is = comment === undefined ? 'NULL' : quoteLiteral(comment);
  return `COMMENT ON CONSTRAINT ${quoteIdent(constraint)} ON DOMAIN ${rel(domain)} IS ${is}`;
}

/** Comments of the constraints of a relation just created or given new constraints, for the step that does it. */
export function constraintCommentsSql(
  table: RelationRef,
  constraints: readonly { readonly name: string; readonly comment?: string }[],
): string[] {
  return constraints.filter((c) => c.comment !== undefined).map((c) => constraintCommentSql(table, c.name, c.comment));
}

/**
 * What a new, empty relation (table or partition) declares beyond its columns, keys and indexes:
 * row level security and replica identity. No application uses it yet: nothing to stage.
 */
export function relationPropertiesSql(table: RelationRef, r: RelationParts): string[] {
  const sql: string[] = [];
  if (r.rowLevelSecurity) sql.push(rowLevelSecuritySql(table, 'enable', true));
  if (r.forceRowLevelSecurity) sql.push(rowLevelSecuritySql(table, 'force', true));
  if (r.replicaIdentity !== undefined) sql.push(replicaIdentitySql(table, r.replicaIdentity));
  return sql;
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
  return `CREATE ${t.unlogged ? 'UNLOGGED ' : ''}TABLE ${qualifiedName(t.schema, t.name)} (\n  ${lines.join(',\n  ')}\n)${by}${withClause(t.with)}`;
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

/** Comments of a domain's checks, for the step that creates them. */
export function domainCheckCommentsSql(d: Domain, checks: readonly DomainCheck[] = d.checks): string[] {
  const ref = { schema: d.schema, name: d.name };
  return checks.filter((c) => c.comment !== undefined).map((c) => domainConstraintCommentSql(ref, c.name, c.comment));
}

/** The option clauses of CREATE/ALTER SEQUENCE for the given fields. */
export function sequenceOptions(q: Sequence, fields: readonly (keyof Sequence)[]): string {
  const parts: string[] = [];
  if (fields.includes('type')) {
    if (!/^(smallint|integer|bigint)$/.test(q.type)) throw new Error(`sequence type ${q.type}`);
    parts.push(`AS ${q.type}`);
  }
  const settings: SequenceSettings = {
    start: BigInt(integer(q.start, 'start')),
    increment: BigInt(integer(q.increment, 'increment')),
    minValue: BigInt(integer(q.minValue, 'minValue')),
    maxValue: BigInt(integer(q.maxValue, 'maxValue')),
    cache: BigInt(integer(q.cache, 'cache')),
    cycle: q.cycle,
  };
  const settingFields = fields.filter((f): f is SequenceSettingField => f in SEQUENCE_CLAUSES);
  parts.push(...sequenceSettingsSql(settings, settingFields));
  return parts.join(' ');
}

export const SEQUENCE_FIELDS = ['type', 'increment', 'minValue', 'maxValue', 'start', 'cache', 'cycle'] as const;
