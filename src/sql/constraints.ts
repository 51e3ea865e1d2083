/**
 * Table constraints: their definitions (as in CREATE TABLE and `ALTER TABLE … ADD`), and the ALTER
 * TABLE statements that add, validate, rename and drop them.
 */
import type {
  CheckConstraint,
  ConstraintTiming,
  ExclusionConstraint,
  FkAction,
  ForeignKey,
  PrimaryKey,
  UniqueConstraint,
} from '../model/types.js';
import { dollarQuoted, includeSql, parenthesized } from './fragments.js';
import { indexKeySql } from './indexes.js';
import { identList, qualifiedName, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

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

function timing(c: ConstraintTiming): string {
  if (!c.deferrable) return '';
  return c.initiallyDeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE';
}

export function primaryKeySql(pk: PrimaryKey): string {
  return `CONSTRAINT ${quoteIdent(pk.name)} PRIMARY KEY (${identList(pk.columns)})${includeSql(pk.include)}${timing(pk)}`;
}

export function uniqueSql(u: UniqueConstraint): string {
  const nnd = u.nullsNotDistinct ? ' NULLS NOT DISTINCT' : '';
  return `CONSTRAINT ${quoteIdent(u.name)} UNIQUE${nnd} (${identList(u.columns)})${includeSql(u.include)}${timing(u)}`;
}

/** `CONSTRAINT c CHECK (expr) [NO INHERIT] [NOT VALID]` */
export function checkSql(c: Omit<CheckConstraint, 'kind' | 'valid'>, notValid: boolean): string {
  return (
    `CONSTRAINT ${quoteIdent(c.name)} CHECK ${parenthesized(roundTripText(c.expression))}` +
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

export function exclusionSql(x: ExclusionConstraint, schemas: ReadonlySet<string>): string {
  const elements = x.elements.map((e) => `${indexKeySql(e.key, schemas)} WITH ${operatorSql(e.operator, schemas)}`);
  let sql = `CONSTRAINT ${quoteIdent(x.name)} EXCLUDE USING ${quoteIdent(x.method)} (${elements.join(', ')})`;
  sql += includeSql(x.include);
  if (x.where !== undefined) sql += ` WHERE ${parenthesized(roundTripText(x.where))}`;
  return sql + timing(x);
}

/**
 * `("c" IS NOT NULL)`: the expression of a NOT NULL helper check, as `pg_get_expr()` prints it (so
 * that the model after expand equals what introspection reads back).
 */
export function notNullExpression(column: string): string {
  return `(${quoteIdent(column)} IS NOT NULL)`;
}

/** `ALTER TABLE t ADD <definition>`: a definition made by one of the functions above. */
export function addConstraintSql(table: RelationName, definition: string): string {
  return `ALTER TABLE ${rel(table)} ADD ${definition}`;
}

/** `ALTER TABLE t ADD CONSTRAINT k PRIMARY KEY|UNIQUE USING INDEX i`: the key takes over an index built beforehand. */
export function addKeyUsingIndexSql(table: RelationName, key: PrimaryKey | UniqueConstraint, index: string): string {
  const label = key.kind === 'primaryKey' ? 'PRIMARY KEY' : 'UNIQUE';
  return `ALTER TABLE ${rel(table)} ADD CONSTRAINT ${quoteIdent(key.name)} ${label} USING INDEX ${quoteIdent(index)}${timing(key)}`;
}

export function dropConstraintSql(table: RelationName, name: string, o: { readonly ifExists?: boolean } = {}): string {
  return `ALTER TABLE ${rel(table)} DROP CONSTRAINT ${o.ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)}`;
}

export function validateConstraintSql(table: RelationName, name: string): string {
  return `ALTER TABLE ${rel(table)} VALIDATE CONSTRAINT ${quoteIdent(name)}`;
}

export function renameConstraintSql(table: RelationName, from: string, to: string): string {
  return `ALTER TABLE ${rel(table)} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`;
}

/**
 * Renames the NOT NULL constraint `from` of a table to `to` where there is one: PostgreSQL 18 makes
 * one for every NOT NULL column, named after the column (`t_c_not_null`), and keeps the name when the
 * column is renamed; older versions have none. One statement for every version, so that a plan does
 * not depend on the server it was made on (partitions follow their parent's rename).
 */
export function renameNotNullConstraintSql(table: RelationName, from: string, to: string): string {
  return (
    'DO ' +
    dollarQuoted(
      ` BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE conrelid = ${quoteLiteral(rel(table))}::pg_catalog.regclass` +
        ` AND contype = 'n' AND conname = ${quoteLiteral(from)}) THEN` +
        ` ${renameConstraintSql(table, from, to)}; END IF; END `,
    )
  );
}
