/**
 * Column rename (`renamedFrom`) and type changes that are not binary-coercible, through a second
 * column beside the old one. `ALTER TABLE … RENAME COLUMN` breaks the running application at once;
 * `ALTER COLUMN … TYPE` rewrites the table under ACCESS EXCLUSIVE. Instead:
 *
 *   expand    one transaction: ADD COLUMN new (nullable, no default), CHECK (new IS NOT NULL)
 *             NOT VALID when the column must end NOT NULL, and the two-way sync trigger
 *             (src/plan/sync-trigger.ts), so that no write lands between the column and its
 *             trigger. Then the column's indexes and keys are built again on the new column
 *             CONCURRENTLY under temporary names, its checks and foreign keys copied NOT VALID.
 *   backfill  new := conv(old) in keyset batches where new is still NULL (a row written since expand
 *             is in sync already); VALIDATE what expand added.
 *   contract  one short transaction: drop the trigger and its function, move sequence ownership,
 *             drop the old column, (type change: rename the shadow), give the indexes and
 *             constraints their names, primary/unique keys USING INDEX, re-add foreign keys that
 *             point at the column NOT VALID, SET NOT NULL through the validated check, set the default.
 *
 * The trigger's two directions are the column's `using` (old → new) and `reverse` (new → old), each a
 * plain cast by default; a type pair with no cast known in a direction needs the expression (refused
 * at plan time, naming the key). A rename carries the column's keys, indexes and constraints the
 * desired state keeps unchanged (and re-points foreign keys of other tables to the new name); what
 * it adds, drops or changes on the new column is planned by the diff like any other change.
 * Partitioned tables: the trigger goes on the parent, indexes are built ON ONLY + per partition;
 * keys and foreign keys on the column are refused (see carryOver). Generated columns: refused
 * (a trigger cannot write them), except a virtual one's type change, which is in place.
 *
 * The new column has no default while the sync runs: a NULL in an INSERT is how the trigger tells
 * "left out" from "written". The new application version's inserts that leave the column out get
 * the old column's default copied over, which is the same default.
 */
import type { RelationRef, ReplaceColumn } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { renameColumnInExpression, renameColumnReferences } from '../../diff/renames.js';
import { stableStringify } from '../../model/canonical.js';
import { makeObjectName, qualified } from '../../model/names.js';
import type {
  CheckConstraint,
  Column,
  DatabaseModel,
  ForeignKey,
  Index,
  PrimaryKey,
  RelationParts,
  Table,
  UniqueConstraint,
} from '../../model/types.js';
import { displayType } from '../../model/types-text.js';
import { identList, qualifiedName, quoteIdent } from '../../render/quote.js';
import { at, findRelation, lock, type PlanContext, rootTable, sqlStep, type Touch, tableTouch } from '../context.js';
import {
  chain,
  type ModelEdit,
  mapColumn,
  mapRelation,
  mapTable,
  omit,
  removeNamed,
  withOptional,
} from '../model-edit.js';
import { freshName as freshFrom, generatedName as generated, NOT_NULL_HELPER_ROLE } from '../names.js';
import { mentions } from '../reparse.js';
import {
  checkSql,
  columnDefinition,
  constraintCommentsSql,
  createIndexSql,
  foreignKeySql,
  identitySql,
  rel,
  renameNotNullConstraintSql,
  replicaIdentitySql,
} from '../sql.js';
import { castExpression, createSyncTriggerSql, dropSyncTriggerSql, rowExpression } from '../sync-trigger.js';
import type { Hazard, LockInfo } from '../types.js';
import { hasBatchKey } from './columns.js';
import { buildPartitioned } from './indexes.js';
import { notNullCheckExpression } from './not-null.js';

const NUMERIC = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);
const TEXTUAL = new Set(['text', 'character varying', 'character', 'name']);
const base = (t: string): string => t.replace(/\(.*\)/, '').replace(/\[\]$/, '[]');

/**
 * Whether `CAST(x AS to)` exists for a value of type `from`, as far as zdm can tell without the
 * server: any type to and from the string types (I/O conversion), between the numeric types, and
 * between spellings of one base type. Anything else needs a `using` expression.
 */
export function castExists(from: string, to: string): boolean {
  const a = base(from);
  const b = base(to);
  if (a === b) return true;
  if (TEXTUAL.has(a) || TEXTUAL.has(b)) return true;
  if (NUMERIC.has(a) && NUMERIC.has(b)) return true;
  const times = new Set(['timestamp without time zone', 'timestamp with time zone', 'date']);
  return times.has(a) && times.has(b);
}

const bare = (c: Column): Column => omit(omit(omit(omit(c, 'comment'), 'renamedFrom'), 'using'), 'reverse');

interface Carry {
  /** Contract SQL, run in the swap transaction before the old column is dropped. */
  readonly before: string[];
  /** … and after the shadow has the old column's name. */
  readonly after: string[];
  /** Model edits of the contract, applied after the column swap. */
  readonly edits: ModelEdit[];
  readonly locks: LockInfo[];
  readonly touches: Touch[];
  /** Foreign keys re-added NOT VALID in contract, validated right after it. */
  readonly revalidate: { table: RelationRef; fk: ForeignKey }[];
}

export function planReplaceColumn(ctx: PlanContext, ch: ReplaceColumn): void {
  const { table, from, to } = ch;
  const rename = from.name !== to.name;
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const path = docPath([
    'schemas',
    table.schema,
    'tables',
    table.name,
    'columns',
    to.name,
    rename ? 'renamedFrom' : 'type',
  ]);
  const what = rename ? `renaming ${from.name} to ${to.name}` : `changing the type ${from.type} → ${to.type}`;
  const refuse = (why: string) => ctx.issue(`column ${display}`, `${what}: ${why}`, path);
  const live = rootTable(ctx.live, table);
  if (live === undefined) return;

  if (from.identity === undefined && to.identity !== undefined) {
    refuse('the column becomes an identity column: change that in a plan of its own (before or after)');
    return;
  }
  const views = ctx.viewsUsing(table, from.name);
  if (views.length > 0) {
    refuse(`${views.join(', ')} (not managed by zdm) uses the column: change the view first`);
    return;
  }
  if (
    !rename &&
    from.generated?.stored === false &&
    to.generated?.stored === false &&
    from.generated.expression === to.generated.expression
  ) {
    planVirtualTypeChange(ctx, table, from, to, refuse);
    return;
  }
  if (from.generated !== undefined || to.generated !== undefined) {
    refuse(generatedRefusal(from, to, rename));
    return;
  }
  const colTriggers = (ctx.live.dependents?.triggers ?? []).filter(
    (t) =>
      t.schema === table.schema &&
      t.table === table.name &&
      t.dependsOn.some((d) => d.table === table.name && d.column === from.name),
  );
  if (colTriggers.length > 0) {
    refuse(
      `trigger(s) ${colTriggers.map((t) => t.name).join(', ')} depend on the column (UPDATE OF or WHEN): PostgreSQL refuses to drop it under them`,
    );
    return;
  }
  if (live.partitionBy?.columns.some((k) => k === from.name || mentions(k, from.name))) {
    refuse('the column is in the partition key');
    return;
  }
  const typeChanged = from.type !== to.type;
  if (typeChanged && to.using === undefined && !castExists(from.type, to.type)) {
    refuse(`there is no cast from ${from.type} to ${to.type}: give a \`using\` expression`);
    return;
  }
  if (typeChanged && to.reverse === undefined && !castExists(to.type, from.type)) {
    refuse(
      `there is no cast back from ${to.type} to ${from.type} for the sync trigger's new → old direction ` +
        `(a write of the new application version must set the old column too): give a \`reverse\` expression ` +
        `over \`${to.name}\` (the ${to.type} value) that computes the ${from.type} value`,
    );
    return;
  }
  if (!typeChanged && to.reverse !== undefined && to.using === undefined) {
    refuse(
      `\`reverse\` is given but \`using\` is not: a rename with no type change copies ${from.name} to ${to.name} unchanged, ` +
        'so the sync trigger copies it back unchanged too; remove `reverse`, or give `using` (old → new) as well',
    );
    return;
  }

  const newName = rename
    ? to.name
    : freshColumnName(
        [...live.columns.map((c) => c.name), ...(rootTable(ctx.desired, table)?.columns.map((c) => c.name) ?? [])],
        to.name,
      );
  const syncName = freshFunctionName(ctx, table, newName);
  const t = rel(table);
  const o = quoteIdent(from.name);
  const n = quoteIdent(newName);
  const touches = [tableTouch(table)];
  const convSql = to.using ?? (typeChanged ? `${o}::${to.type}` : o);
  const conv =
    to.using !== undefined
      ? rowExpression(to.using, from.name)
      : typeChanged
        ? castExpression(from.name, to.type)
        : `NEW.${o}`;
  const rev =
    to.reverse !== undefined
      ? rowExpression(to.reverse, newName, to.name)
      : typeChanged
        ? castExpression(newName, from.type)
        : `NEW.${n}`;
  // The expressions the reviewer must check, when they are the desired state's own.
  const explicit = [
    ...(to.using !== undefined ? [`old → new: ${to.using}`] : []),
    ...(to.reverse !== undefined ? [`new → old: ${to.reverse}`] : []),
  ];

  // The column's indexes and constraints are rebuilt on the new column (rename) or the shadow
  // column (type change), and foreign keys that reference it are re-pointed in contract.
  const carry = carryOver(ctx, table, live, { column: from.name, shadow: newName, final: to.name }, refuse);
  if (carry === undefined) return;

  // expand: the column, its helper check and the trigger, in one transaction.
  const added: Column = withOptional<Column, 'collation'>(
    { kind: 'column', name: newName, type: to.type, nullable: true },
    'collation',
    to.collation,
  );
  const helper = to.nullable ? undefined : ctx.freshName(table.schema, [table.name, newName], NOT_NULL_HELPER_ROLE);
  const expandSql = [`ALTER TABLE ${t} ADD COLUMN ${columnDefinition(added, { schemas: ctx.schemas })}`];
  if (helper !== undefined) {
    expandSql.push(`ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(helper)} CHECK (${n} IS NOT NULL) NOT VALID`);
  }
  const spec = { schema: table.schema, table: table.name, oldColumn: from.name, newColumn: newName, name: syncName };
  expandSql.push(...createSyncTriggerSql({ ...spec, conv, rev }));
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `add column ${qualified(table.schema, table.name)}.${newName} ${rename ? `(${from.name} renamed)` : `(${to.type} shadow of ${from.name})`}` +
        `${helper !== undefined ? `, check ${helper} NOT VALID` : ''} and the two-way sync trigger ${syncName}` +
        (explicit.length > 0 ? ` (${explicit.join('; ')})` : ''),
      expandSql,
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) =>
      mapTable(m, table, (x) => ({
        ...x,
        columns: [...x.columns, added],
        checks:
          helper === undefined
            ? x.checks
            : [
                ...x.checks,
                {
                  kind: 'check',
                  name: helper,
                  expression: notNullCheckExpression(newName),
                  noInherit: false,
                  valid: false,
                },
              ],
      })),
    touches,
  );

  // backfill: old → new where the new column is still NULL, then validate the helper check.
  const userTriggers = (ctx.live.dependents?.triggers ?? []).filter(
    (x) => x.schema === table.schema && x.table === table.name,
  );
  const hazards: Hazard[] = userTriggers.length > 0 ? ['fires-user-triggers'] : [];
  // Only rows no write has touched since expand: every write since then went through the trigger,
  // which left the new column set (from the old one, or as the new application version wrote it).
  // "Where they differ" would overwrite such a write whenever using(reverse(x)) is not x (a lossy
  // `reverse`, or both columns written on purpose).
  const where = `${n} IS NULL AND (${convSql}) IS NOT NULL`;
  const key = live.primaryKey?.columns;
  const range =
    key && key.length > 0 ? `(${identList(key)}) > ($cursor) AND (${identList(key)}) <= ($upper)` : 'ctid in $range';
  ctx.add(
    at.backfill('data'),
    {
      kind: 'backfill',
      summary:
        `backfill ${qualified(table.schema, table.name)}.${newName} = ${convSql} where it is still NULL, in batches` +
        (userTriggers.length > 0 ? `; fires trigger(s) ${userTriggers.map((x) => x.name).join(', ')}` : ''),
      table: { schema: table.schema, name: table.name },
      set: { [newName]: convSql },
      where,
      batchSize: ctx.input.batchSize,
      sql: [`UPDATE ${t} SET ${n} = (${convSql}) WHERE ${where} AND ${range}`],
      transaction: false,
      locks: [lock(table, 'ROW EXCLUSIVE')],
      hazards,
    },
    (m) => m,
    touches,
  );
  if (helper !== undefined) {
    ctx.add(
      at.backfill('validateChecks'),
      sqlStep(
        `validate check ${helper} on ${qualified(table.schema, table.name)} (proves ${newName} has no NULLs)`,
        [`ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(helper)}`],
        { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')] },
      ),
      (m) =>
        mapRelation(m, table, (r) => ({
          ...r,
          checks: r.checks.map((k) => (k.name === helper ? { ...k, valid: true } : k)),
        })),
      touches,
    );
  }

  // contract: one transaction.
  const finalName = to.name;
  const f = quoteIdent(finalName);
  const contractSql: string[] = [];
  if (carry.touches.length > 0) {
    // The application locks a referencing table (its INSERT) before the referenced one (the foreign
    // key's KEY SHARE row lock): taking them in the same order, up front, cannot deadlock with it.
    const order = [...carry.touches.map((x) => qualifiedName(x.schema!, x.name)), t];
    contractSql.push(`LOCK TABLE ${[...new Set(order)].join(', ')} IN ACCESS EXCLUSIVE MODE`);
  }
  contractSql.push(...dropSyncTriggerSql(spec));
  // Sequences the old column owns would be dropped with it (serial columns): they move first.
  // On a rename the desired state says where they go (alterSequence moves them in expand).
  const owned = rename ? [] : liveOwnedSequences(ctx.live, table, from.name);
  for (const q of owned) {
    contractSql.push(`ALTER SEQUENCE ${qualifiedName(q.schema, q.name)} OWNED BY ${t}.${n}`);
  }
  // NOT NULL before the old column goes: an identity column and a PRIMARY KEY USING INDEX need it.
  if (helper !== undefined) {
    contractSql.push(`ALTER TABLE ${t} ALTER COLUMN ${n} SET NOT NULL`);
    contractSql.push(`ALTER TABLE ${t} DROP CONSTRAINT ${quoteIdent(helper)}`);
  }
  if (from.identity !== undefined && to.identity !== undefined) {
    // The identity moves: the new column gets its own sequence, started where the old one is (the
    // old sequence goes with the old column).
    const serial = (col: string) =>
      `pg_catalog.pg_get_serial_sequence(${quoteLiteralText(qualifiedName(table.schema, table.name))}, ${quoteLiteralText(col)})`;
    contractSql.push(`ALTER TABLE ${t} ALTER COLUMN ${n} ADD ${identitySql({ ...to, name: newName })}`);
    contractSql.push(
      `SELECT pg_catalog.setval(${serial(newName)}, v) FROM (SELECT pg_catalog.pg_sequence_last_value(${serial(from.name)}::pg_catalog.regclass) AS v) AS old_sequence WHERE v IS NOT NULL`,
    );
  }
  contractSql.push(...carry.before);
  contractSql.push(`ALTER TABLE ${t} DROP COLUMN ${o}`);
  if (!rename) contractSql.push(`ALTER TABLE ${t} RENAME COLUMN ${n} TO ${f}`);
  if (!rename && helper !== undefined) {
    contractSql.push(
      renameNotNullConstraintSql(
        table,
        makeObjectName(table.name, newName, 'not_null'),
        makeObjectName(table.name, finalName, 'not_null'),
      ),
    );
  }
  if (to.default !== undefined) contractSql.push(`ALTER TABLE ${t} ALTER COLUMN ${f} SET DEFAULT ${to.default}`);
  contractSql.push(...carry.after);
  if (!rename && to.comment !== undefined) {
    contractSql.push(`COMMENT ON COLUMN ${t}.${f} IS ${quoteLiteralText(to.comment)}`);
  }
  const swapEdit: ModelEdit = (m) =>
    mapTable(m, table, (x) => {
      const current = x.columns.find((c) => c.name === newName);
      const final: Column = withOptional(bare(to), 'comment', rename ? current?.comment : to.comment);
      return {
        ...x,
        columns: [...x.columns.filter((c) => c.name !== from.name && c.name !== newName), final],
        checks: helper === undefined ? x.checks : removeNamed(x.checks, helper),
      };
    });
  ctx.add(
    at.contract('dropColumns'),
    sqlStep(
      rename
        ? `drop the sync trigger and column ${qualified(table.schema, table.name)}.${from.name} (renamed to ${finalName}, its data is in ${finalName})` +
            (helper !== undefined ? `; SET NOT NULL (no scan: ${helper} is validated)` : '')
        : `swap ${qualified(table.schema, table.name)}.${newName} (${to.type}) in for ${from.name} (${from.type}): drop the sync trigger and the old column, rename, carry indexes, constraints, default and sequences over`,
      contractSql,
      { locks: [lock(table, 'ACCESS EXCLUSIVE'), ...carry.locks] },
    ),
    chain(swapEdit, ...carry.edits, (m) => moveOwnership(m, owned, finalName)),
    [...touches, ...carry.touches, ...owned.map((q): Touch => ({ kind: 'sequence', schema: q.schema, name: q.name }))],
  );
  for (const { table: child, fk } of carry.revalidate) {
    ctx.add(
      at.contract('dropColumns'),
      sqlStep(
        `validate foreign key ${fk.name} on ${qualified(child.schema, child.name)} (re-added NOT VALID by the swap)`,
        [`ALTER TABLE ${rel(child)} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`],
        {
          locks: [
            lock(child, 'SHARE UPDATE EXCLUSIVE', 'scan'),
            lock({ schema: fk.references.schema, name: fk.references.table }, 'ROW SHARE'),
          ],
        },
      ),
      (m) =>
        mapRelation(m, child, (r) => ({
          ...r,
          foreignKeys: r.foreignKeys.map((k) => (k.name === fk.name ? { ...k, valid: true } : k)),
        })),
      [tableTouch(child)],
    );
  }
}

/**
 * A virtual generated column (PostgreSQL 18) stores nothing: `ALTER COLUMN … TYPE` changes the
 * catalog only (no rewrite, same relfilenode; ACCESS EXCLUSIVE for an instant). PostgreSQL refuses
 * it when the expression's type has no assignment cast to the new type, at apply time, in the
 * step's own transaction. Expressions that use the column would be re-parsed with new casts: those
 * are refused (a virtual column cannot be indexed; a check may use it).
 */
function planVirtualTypeChange(
  ctx: PlanContext,
  table: RelationRef,
  from: Column,
  to: Column,
  refuse: (why: string) => void,
): void {
  const live = rootTable(ctx.live, table);
  if (live === undefined) return;
  const checks = live.checks.filter(usesColumn(from.name).check).map((x) => x.name);
  if (checks.length > 0) {
    refuse(
      `check ${checks.join(', ')} uses the virtual generated column: PostgreSQL re-parses it with new casts on a type change; drop it in a plan of its own first`,
    );
    return;
  }
  if (from.nullable !== to.nullable || from.collation !== to.collation) {
    refuse('change the type of the virtual generated column in a plan of its own (NOT NULL or collation change too)');
    return;
  }
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `change type of ${display} ${from.type} → ${to.type} (a virtual generated column: catalog only, no rewrite)`,
      [`ALTER TABLE ${rel(table)} ALTER COLUMN ${quoteIdent(to.name)} TYPE ${displayType(to.type)}`],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) => mapColumn(m, table, from.name, (c) => ({ ...c, type: to.type })),
    [tableTouch(table)],
  );
}

/**
 * Why a generated column is not renamed or retyped through a second column, and what to do. The
 * sync trigger cannot write a generated column (PostgreSQL computes it), and every other way to
 * give a stored generated column a new type or name with its values (ALTER COLUMN … TYPE, a new
 * stored generated column) rewrites the table under ACCESS EXCLUSIVE (measured: a new relfilenode).
 */
function generatedRefusal(from: Column, to: Column, rename: boolean): string {
  const change = rename ? 'rename it' : 'change its type';
  if (from.generated === undefined) {
    return 'a plain column cannot become a generated column in place: add the generated column under a new name (a plan of its own) and drop this one in a later plan';
  }
  if (to.generated === undefined) {
    return `the column stops being generated and is ${rename ? 'renamed' : 'retyped'} in the same plan: first make it a plain column (a plan of its own: ALTER COLUMN … DROP EXPRESSION, instant), then ${change} in the next plan`;
  }
  if (!rename && !from.generated.stored) {
    return to.generated.stored
      ? 'switching a generated column between stored and virtual is not supported yet'
      : 'the type and the generation expression of a virtual generated column change in the same plan: change the expression in a plan of its own first (ALTER COLUMN … SET EXPRESSION), then the type (catalog only, no rewrite)';
  }
  const kind = from.generated.stored ? 'stored' : 'virtual';
  const why = rename
    ? 'ALTER TABLE … RENAME COLUMN would break the running application version'
    : 'ALTER COLUMN … TYPE recomputes every row, rewriting the table under ACCESS EXCLUSIVE';
  const cost = from.generated.stored ? 'it rewrites the table: planned with the table-rewrite hazard' : 'instant';
  return (
    `a ${kind} generated column cannot be ${rename ? 'renamed' : 'given another type'} through a sync trigger: ` +
    `PostgreSQL computes its value and a trigger cannot write it, and ${why}. Instead add a ${kind} generated column ` +
    `${rename ? 'under the new name' : 'of the new type under a new name'} (a plan of its own; ${cost}), move the ` +
    'application to it, and drop this one in a later plan'
  );
}

function quoteLiteralText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function liveOwnedSequences(m: DatabaseModel, table: RelationRef, column: string) {
  return m.schemas.flatMap((s) =>
    s.sequences.filter(
      (q) =>
        q.ownedBy !== undefined &&
        q.ownedBy.schema === table.schema &&
        q.ownedBy.table === table.name &&
        q.ownedBy.column === column,
    ),
  );
}

function moveOwnership(
  m: DatabaseModel,
  owned: readonly { schema: string; name: string }[],
  column: string,
): DatabaseModel {
  if (owned.length === 0) return m;
  const keys = new Set(owned.map((q) => `${q.schema}.${q.name}`));
  return {
    ...m,
    schemas: m.schemas.map((s) => ({
      ...s,
      sequences: s.sequences.map((q) =>
        keys.has(`${q.schema}.${q.name}`) && q.ownedBy ? { ...q, ownedBy: { ...q.ownedBy, column } } : q,
      ),
    })),
  };
}

/** `<column>_zdm_new`, shortened to 63 bytes with a hash when needed, not equal to a column of the table. */
function freshColumnName(taken: readonly string[], column: string): string {
  const set = new Set(taken);
  let role = 'zdm_new';
  for (let i = 2; ; i++) {
    const name = generated([column], role);
    if (!set.has(name)) return name;
    role = `zdm_new${i}`;
  }
}

/**
 * `<table>_<column>_zdm_sync`: the name of the trigger and of its function. Not a name a live
 * function or trigger has, nor one this plan made (relation names share the counter: harmless).
 */
function freshFunctionName(ctx: PlanContext, table: RelationRef, column: string): string {
  const deps = ctx.live.dependents;
  const taken = new Set<string>([
    ...(deps?.functions ?? []).filter((x) => x.schema === table.schema).map((x) => x.name),
    ...(deps?.triggers ?? []).filter((x) => x.schema === table.schema && x.table === table.name).map((x) => x.name),
  ]);
  for (;;) {
    const name = ctx.freshName(table.schema, [table.name, column], 'zdm_sync');
    if (!taken.has(name)) return name;
    taken.add(freshFrom([table.name, column], 'zdm_sync', taken));
  }
}

/** Indexes and constraints declared on a partition alone (at any depth) that use the column. */
function partitionObjectsUsing(t: RelationParts, u: ReturnType<typeof usesColumn>): string[] {
  return t.partitions.flatMap((p) => [
    ...p.indexes.filter(u.ix).map((x) => `index ${x.name} of partition ${p.name}`),
    ...p.checks.filter(u.check).map((x) => `check ${x.name} of partition ${p.name}`),
    ...p.foreignKeys.filter(u.fk).map((x) => `foreign key ${x.name} of partition ${p.name}`),
    ...p.uniqueConstraints.filter(u.key).map((x) => `unique constraint ${x.name} of partition ${p.name}`),
    ...(p.primaryKey !== undefined && u.key(p.primaryKey)
      ? [`primary key ${p.primaryKey.name} of partition ${p.name}`]
      : []),
    ...partitionObjectsUsing(p, u),
  ]);
}

/** What mentions the column in a relation: indexes, keys, checks, foreign keys, exclusions. */
function usesColumn(column: string) {
  const ix = (i: Index) =>
    i.keys.some((k) => k.column === column || (k.expression !== undefined && mentions(k.expression, column))) ||
    i.include.includes(column) ||
    (i.where !== undefined && mentions(i.where, column));
  const key = (k: PrimaryKey | UniqueConstraint) => k.columns.includes(column) || k.include.includes(column);
  const check = (k: CheckConstraint) => mentions(k.expression, column);
  const fk = (k: ForeignKey) => k.columns.includes(column);
  return { ix, key, check, fk };
}

const withoutValid = (x: object) => {
  const { valid: _v, ...rest } = x as { valid?: boolean };
  return rest;
};

/**
 * The indexes and constraints of the column, rebuilt on the new column of a rename or the shadow
 * column of a type change: built in expand (indexes CONCURRENTLY, constraints NOT VALID), validated
 * in backfill, renamed to their old names in the contract transaction once the old column (and with
 * it the old objects) is gone. Foreign keys of other tables that reference the column are dropped
 * and re-added NOT VALID in that transaction (on the final column name), then validated.
 */
function carryOver(
  ctx: PlanContext,
  table: RelationRef,
  live: Table,
  cols: {
    /** The live column. */
    readonly column: string;
    /** The column added in expand: the new name (rename) or the shadow (type change). */
    readonly shadow: string;
    /** The column's name after contract: the new name, or the old one (type change). */
    readonly final: string;
  },
  refuse: (why: string) => void,
): Carry | undefined {
  const { column, shadow, final } = cols;
  const side = column === final ? 'the shadow column' : `the new column ${shadow}`;
  const desired = rootTable(ctx.desired, table);
  if (desired === undefined) return undefined;
  const u = usesColumn(column);
  // The live objects as they read with the column under its final name: what the desired state
  // must say about them for the carry-over to be the whole change.
  const toFinal = (m: DatabaseModel) =>
    column === final
      ? m
      : renameColumnReferences(m, { schema: table.schema, table: table.name, from: column, to: final });
  const liveFinal = rootTable(toFinal(ctx.live), table) ?? live;
  const uf = usesColumn(final);
  const finalFk = (fk: ForeignKey): ForeignKey =>
    fk.references.schema === table.schema && fk.references.table === table.name
      ? {
          ...fk,
          references: { ...fk.references, columns: fk.references.columns.map((c) => (c === column ? final : c)) },
        }
      : fk;
  const t = rel(table);
  const touches = [tableTouch(table)];
  const same = (a: readonly object[], b: readonly object[]) =>
    stableStringify(a.map(withoutValid)) === stableStringify(b.map(withoutValid));
  const desiredPk = desired.primaryKey !== undefined && uf.key(desired.primaryKey) ? desired.primaryKey : undefined;
  const finalPk = liveFinal.primaryKey !== undefined && uf.key(liveFinal.primaryKey) ? liveFinal.primaryKey : undefined;
  // A type change carries every object on the column: the desired ones must be exactly those. A
  // rename carries the live ones the desired state keeps as they are (under the new column name);
  // what it adds, drops or changes on the new column is the diff's to plan like any other change
  // (built on the new column, which exists from expand on; dropped before the old column goes).
  const rename = column !== final;
  const kept = <T extends { readonly name: string }>(
    liveOnes: readonly T[],
    finals: readonly T[],
    wanted: readonly T[],
  ) =>
    liveOnes.filter((x) => {
      const f = finals.find((y) => y.name === x.name);
      return (
        f !== undefined &&
        same(
          [f],
          wanted.filter((d) => d.name === x.name),
        )
      );
    });
  const carried = <T extends { readonly name: string }>(
    all: readonly T[],
    finals: readonly T[],
    wanted: readonly T[],
  ): T[] | undefined => {
    const onColumn = all.filter((x) => finals.some((f) => f.name === x.name));
    if (rename) return kept(onColumn, finals, wanted);
    return same(finals, wanted) ? onColumn : undefined;
  };
  const liveIx = carried(live.indexes, liveFinal.indexes.filter(uf.ix), desired.indexes.filter(uf.ix));
  const liveChecks = carried(live.checks, liveFinal.checks.filter(uf.check), desired.checks.filter(uf.check));
  const liveFks = carried(live.foreignKeys, liveFinal.foreignKeys.filter(uf.fk), desired.foreignKeys.filter(uf.fk));
  const liveUniques = carried(
    live.uniqueConstraints,
    liveFinal.uniqueConstraints.filter(uf.key),
    desired.uniqueConstraints.filter(uf.key),
  );
  const pkSame = stableStringify(finalPk) === stableStringify(desiredPk);
  if (
    liveIx === undefined ||
    liveChecks === undefined ||
    liveFks === undefined ||
    liveUniques === undefined ||
    (!rename && !pkSame)
  ) {
    refuse(
      'the indexes or constraints on the column change in the same plan: change the type first, then them, in a second plan',
    );
    return undefined;
  }
  const livePk = live.primaryKey !== undefined && finalPk !== undefined && pkSame ? live.primaryKey : undefined;
  if (
    live.exclusionConstraints.some((x) =>
      x.elements.some((e) => e.key.column === column || mentions(e.key.expression ?? '', column)),
    )
  ) {
    refuse('an exclusion constraint uses the column: not supported by the shadow-column recipe yet');
    return undefined;
  }
  if (live.partitionBy !== undefined) {
    // What the recipe cannot do on a partitioned table (PostgreSQL facts, checked on 14 and 18):
    // ADD CONSTRAINT … USING INDEX is refused on a partitioned table, and so is a foreign key added
    // NOT VALID before 18. Objects declared on one partition alone would go with the old column.
    const blockers = [
      ...(livePk ? [`primary key ${livePk.name}`] : []),
      ...liveUniques.map((k) => `unique constraint ${k.name}`),
    ];
    if (blockers.length > 0) {
      refuse(
        `the table is partitioned and ${blockers.join(', ')} uses the column: PostgreSQL cannot attach a key to a ` +
          'partitioned table from an index built beforehand (ADD CONSTRAINT … USING INDEX), so the key cannot move to ' +
          'the new column without being rebuilt under ACCESS EXCLUSIVE on every partition; not supported (keep the ' +
          'column as it is, or change it with ALTER TABLE in a maintenance window)',
      );
      return undefined;
    }
    if (liveFks.length > 0) {
      refuse(
        `the table is partitioned and foreign key ${liveFks.map((k) => k.name).join(', ')} uses the column: the recipe ` +
          'adds it to the new column NOT VALID, which PostgreSQL refuses on a partitioned table before 18; not ' +
          'supported yet (drop the foreign key in a plan of its own first, and add it back afterwards)',
      );
      return undefined;
    }
    const own = partitionObjectsUsing(live, u);
    if (own.length > 0) {
      refuse(
        `the table is partitioned and ${own.join(', ')} (declared on one partition, not on the table) uses the column: ` +
          'not supported yet (drop it in a plan of its own first, or declare it on the partitioned table)',
      );
      return undefined;
    }
    if (!hasBatchKey(live)) {
      refuse(
        'the table is partitioned and has no primary key or unique key over NOT NULL columns: the backfill can only ' +
          'walk a partitioned table in batches by such a key (declare one first, in a plan of its own)',
      );
      return undefined;
    }
  }
  const incoming = ctx.liveForeignKeysTo(table).filter(([, fk]) => fk.references.columns.includes(column));
  for (const [child] of incoming) {
    if (child.schema !== table.schema || child.name !== table.name) continue;
    refuse('a foreign key of the table refers to the column itself: not supported by the shadow-column recipe yet');
    return undefined;
  }
  // The foreign keys that reference the column are re-added by the contract as they are (on the
  // final name): a change of one of them in the same plan would be planned twice.
  for (const [child, fk] of incoming) {
    const owner = findRelation(ctx.desired, child);
    const want = owner?.foreignKeys.find((x) => x.name === fk.name);
    if (owner !== undefined && (want === undefined || !same([finalFk(fk)], [want]))) {
      refuse(
        `foreign key ${fk.name} on ${qualified(child.schema, child.name)} references the column and changes in the same plan: do the ${rename ? 'rename' : 'type change'} first, then change it, in a second plan`,
      );
      return undefined;
    }
  }

  const carry: Carry = { before: [], after: [], edits: [], locks: [], touches: [], revalidate: [] };
  const sub = (c: string) => (c === column ? shadow : c);
  const rewrite = (e: string) => renameColumnInExpression(e, column, shadow);
  const mapRel =
    (fn: (r: Table) => Table): ModelEdit =>
    (m) =>
      mapTable(m, table, fn);

  for (const ix of liveIx) {
    const tmp = ctx.freshName(table.schema, [ix.name], 'zdm_new');
    const shadowIx: Index = withOptional(
      {
        ...ix,
        name: tmp,
        valid: true,
        keys: ix.keys.map((k) =>
          k.column !== undefined ? { ...k, column: sub(k.column) } : { ...k, expression: rewrite(k.expression!) },
        ),
        include: ix.include.map(sub),
      },
      'where',
      ix.where === undefined ? undefined : rewrite(ix.where),
    );
    const built = omit(shadowIx, 'comment');
    if (live.partitionBy !== undefined) {
      // CONCURRENTLY is refused on a partitioned table: ON ONLY the table, CONCURRENTLY per
      // partition, ATTACH each (src/plan/techniques/indexes.ts).
      buildPartitioned(ctx, table, built, tmp);
    } else
      ctx.add(
        at.expand('indexes'),
        sqlStep(
          `build index ${tmp} on ${qualified(table.schema, table.name)} (${ix.name} on ${side}), concurrently`,
          [createIndexSql(table, built, { concurrently: true, schemas: ctx.schemas })],
          {
            transaction: false,
            locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
            concurrentIndex: { schema: table.schema, name: tmp },
          },
        ),
        mapRel((r) => ({ ...r, indexes: [...r.indexes, built] })),
        touches,
      );
    carry.after.push(`ALTER INDEX ${qualifiedName(table.schema, tmp)} RENAME TO ${quoteIdent(ix.name)}`);
    if (ix.comment !== undefined) {
      carry.after.push(`COMMENT ON INDEX ${qualifiedName(table.schema, ix.name)} IS ${quoteLiteralText(ix.comment)}`);
    }
    const want = desired.indexes.find((x) => x.name === ix.name)!;
    carry.edits.push(mapRel((r) => ({ ...r, indexes: [...removeNamed(r.indexes, tmp), { ...want, valid: true }] })));
  }

  const keys: { label: string; key: PrimaryKey | UniqueConstraint }[] = [
    ...(livePk ? [{ label: 'PRIMARY KEY', key: livePk }] : []),
    ...liveUniques.map((k) => ({ label: 'UNIQUE', key: k })),
  ];
  if (keys.length > 0) {
    for (const [child, fk] of incoming) {
      carry.before.push(`ALTER TABLE ${rel(child)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);
      carry.locks.push(lock(child, 'ACCESS EXCLUSIVE'));
      carry.touches.push(tableTouch(child));
    }
  }
  for (const { label, key } of keys) {
    const tmp = ctx.freshName(table.schema, [key.name], 'zdm_new');
    const ix: Index = {
      kind: 'index',
      name: tmp,
      unique: true,
      method: 'btree',
      keys: key.columns.map((c) => ({ column: sub(c), descending: false })),
      include: key.include.map(sub),
      nullsNotDistinct: key.kind === 'unique' ? key.nullsNotDistinct : false,
      valid: true,
    };
    ctx.add(
      at.expand('indexes'),
      sqlStep(
        `build unique index ${tmp} on ${qualified(table.schema, table.name)} (for ${key.name} on ${side}), concurrently`,
        [createIndexSql(table, ix, { concurrently: true, schemas: ctx.schemas })],
        {
          transaction: false,
          locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
          concurrentIndex: { schema: table.schema, name: tmp },
        },
      ),
      mapRel((r) => ({ ...r, indexes: [...r.indexes, ix] })),
      touches,
    );
    const deferrable = key.deferrable ? (key.initiallyDeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE') : '';
    carry.after.push(
      `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(key.name)} ${label} USING INDEX ${quoteIdent(tmp)}${deferrable}`,
      ...constraintCommentsSql(table, [
        key.kind === 'primaryKey' ? desired.primaryKey! : desired.uniqueConstraints.find((x) => x.name === key.name)!,
      ]),
    );
    carry.edits.push(
      mapRel((r) =>
        key.kind === 'primaryKey'
          ? { ...r, indexes: removeNamed(r.indexes, tmp), primaryKey: desired.primaryKey! }
          : {
              ...r,
              indexes: removeNamed(r.indexes, tmp),
              uniqueConstraints: [
                ...removeNamed(r.uniqueConstraints, key.name),
                desired.uniqueConstraints.find((x) => x.name === key.name)!,
              ],
            },
      ),
    );
  }
  // A PRIMARY KEY USING INDEX needs the column NOT NULL: the swap sets it before (helper check).
  if (keys.length > 0) {
    for (const [child, liveFk] of incoming) {
      const fk = finalFk(liveFk);
      carry.after.push(
        `ALTER TABLE ${rel(child)} ADD ${foreignKeySql(fk, true)}`,
        ...constraintCommentsSql(child, [fk]),
      );
      carry.revalidate.push({ table: child, fk });
      carry.edits.push((m) =>
        mapRelation(m, child, (r) => ({
          ...r,
          foreignKeys: [...removeNamed(r.foreignKeys, fk.name), { ...fk, valid: false }],
        })),
      );
    }
  }

  for (const ck of liveChecks) {
    const tmp = ctx.freshName(table.schema, [ck.name], 'zdm_new');
    const shadowCk: CheckConstraint = omit(
      { ...ck, name: tmp, expression: rewrite(ck.expression), valid: false },
      'comment',
    );
    ctx.add(
      at.expand('checks'),
      sqlStep(
        `add check ${tmp} (${ck.name} on ${side}) NOT VALID on ${qualified(table.schema, table.name)}`,
        [`ALTER TABLE ${t} ADD ${checkSql(shadowCk, true)}`],
        { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
      ),
      mapRel((r) => ({ ...r, checks: [...r.checks, shadowCk] })),
      touches,
    );
    if (ck.valid) {
      ctx.add(
        at.backfill('validateChecks'),
        sqlStep(
          `validate check ${tmp} on ${qualified(table.schema, table.name)}`,
          [`ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(tmp)}`],
          { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')] },
        ),
        mapRel((r) => ({ ...r, checks: r.checks.map((k) => (k.name === tmp ? { ...k, valid: true } : k)) })),
        touches,
      );
    }
    const want = desired.checks.find((x) => x.name === ck.name)!;
    carry.after.push(
      `ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(ck.name)}`,
      ...constraintCommentsSql(table, [want]),
    );
    carry.edits.push(mapRel((r) => ({ ...r, checks: [...removeNamed(r.checks, tmp), { ...want, valid: ck.valid }] })));
  }

  for (const fk of liveFks) {
    const tmp = ctx.freshName(table.schema, [fk.name], 'zdm_new');
    const shadowFk: ForeignKey = omit({ ...fk, name: tmp, columns: fk.columns.map(sub), valid: false }, 'comment');
    const target = { schema: fk.references.schema, name: fk.references.table };
    ctx.add(
      at.expand('foreignKeys'),
      sqlStep(
        `add foreign key ${tmp} (${fk.name} on ${side}) NOT VALID on ${qualified(table.schema, table.name)}`,
        [`ALTER TABLE ${t} ADD ${foreignKeySql(shadowFk, true)}`],
        { locks: [lock(table, 'SHARE ROW EXCLUSIVE'), lock(target, 'SHARE ROW EXCLUSIVE')] },
      ),
      mapRel((r) => ({ ...r, foreignKeys: [...r.foreignKeys, shadowFk] })),
      touches,
    );
    if (fk.valid) {
      ctx.add(
        at.backfill('validateForeignKeys'),
        sqlStep(
          `validate foreign key ${tmp} on ${qualified(table.schema, table.name)}`,
          [`ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(tmp)}`],
          { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan'), lock(target, 'ROW SHARE')] },
        ),
        mapRel((r) => ({
          ...r,
          foreignKeys: r.foreignKeys.map((k) => (k.name === tmp ? { ...k, valid: true } : k)),
        })),
        touches,
      );
    }
    const finalOwn: ForeignKey = { ...finalFk(fk), columns: fk.columns.map((c) => (c === column ? final : c)) };
    carry.after.push(
      `ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(fk.name)}`,
      ...constraintCommentsSql(table, [finalOwn]),
    );
    carry.edits.push(mapRel((r) => ({ ...r, foreignKeys: [...removeNamed(r.foreignKeys, tmp), finalOwn] })));
  }
  // Its index went with the old column: the replica identity is set again on the one that took its name.
  const identity = live.replicaIdentity;
  if (identity?.kind === 'index' && [...liveIx, ...keys.map((k) => k.key)].some((x) => x.name === identity.index)) {
    carry.after.push(replicaIdentitySql(table, identity));
  }
  // The old column's own indexes, keys and constraints go with it (DROP COLUMN).
  const names = new Set([...liveIx, ...liveChecks, ...liveFks, ...liveUniques].map((x) => x.name));
  carry.edits.unshift(
    mapRel((r) => ({
      ...r,
      indexes: r.indexes.filter((x) => !names.has(x.name)),
      checks: r.checks.filter((x) => !names.has(x.name)),
      foreignKeys: r.foreignKeys.filter((x) => !names.has(x.name)),
      uniqueConstraints: r.uniqueConstraints.filter((x) => !names.has(x.name)),
    })),
    (m) => (livePk ? mapTable(m, table, (r) => omit(r, 'primaryKey') as Table) : m),
    ...incoming.map(
      ([child, fk]): ModelEdit =>
        (m) =>
          mapRelation(m, child, (r) => ({ ...r, foreignKeys: removeNamed(r.foreignKeys, fk.name) })),
    ),
  );
  return carry;
}
