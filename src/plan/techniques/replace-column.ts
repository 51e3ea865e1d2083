/**
 * Column rename (`renamedFrom`) and type changes that are not binary-coercible, through a second
 * column beside the old one. `ALTER TABLE … RENAME COLUMN` breaks the running application at once;
 * `ALTER COLUMN … TYPE` rewrites the table under ACCESS EXCLUSIVE. Instead:
 *
 *   expand    one transaction: ADD COLUMN new (nullable, no default), CHECK (new IS NOT NULL)
 *             NOT VALID when the column must end NOT NULL, and the two-way sync trigger
 *             (src/plan/sync-trigger.ts), so that no write lands between the column and its
 *             trigger. A type change also builds the column's indexes on the shadow CONCURRENTLY
 *             and copies its checks and foreign keys NOT VALID (a rename gets those from the
 *             desired state's own indexes and constraints on the new name).
 *   backfill  new := conv(old) in keyset batches where they differ; VALIDATE what expand added.
 *   contract  one short transaction: drop the trigger and its function, move sequence ownership,
 *             drop the old column, (type change: rename the shadow, its indexes and constraints to
 *             the old names, primary/unique keys USING INDEX, re-add foreign keys that point at the
 *             column NOT VALID), SET NOT NULL through the validated check, set the default.
 *
 * The new column has no default while the sync runs: a NULL in an INSERT is how the trigger tells
 * "left out" from "written". The new application version's inserts that leave the column out get
 * the old column's default copied over, which is the same default.
 */
import type { RelationRef, ReplaceColumn } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { stableStringify } from '../../model/canonical.js';
import { qualified } from '../../model/names.js';
import type {
  CheckConstraint,
  Column,
  DatabaseModel,
  ForeignKey,
  Index,
  PrimaryKey,
  Table,
  UniqueConstraint,
} from '../../model/types.js';
import { identList, qualifiedName, quoteIdent } from '../../render/quote.js';
import { at, lock, type PlanContext, rootTable, sqlStep, type Touch, tableTouch } from '../context.js';
import { chain, type ModelEdit, mapRelation, mapTable, omit, removeNamed, withOptional } from '../model-edit.js';
import { freshName as freshFrom, generatedName as generated } from '../names.js';
import { mentions } from '../reparse.js';
import { checkSql, columnDefinition, createIndexSql, foreignKeySql, rel } from '../sql.js';
import { castExpression, createSyncTriggerSql, dropSyncTriggerSql, rowExpression } from '../sync-trigger.js';
import type { Hazard, LockInfo } from '../types.js';
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

/** Replaces the quoted identifier of `from` by `to` in an expression, where it stands as a whole name. */
function renameIn(expr: string, from: string, to: string): string {
  const pattern = quoteIdent(from).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return expr.replace(new RegExp(`(?<![\\w$."])${pattern}(?![\\w$"])`, 'g'), () => quoteIdent(to));
}

const bare = (c: Column): Column => omit(omit(omit(c, 'comment'), 'renamedFrom'), 'using');

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
  if (from.generated !== undefined || to.generated !== undefined) {
    refuse('generated columns cannot be written by a sync trigger: drop and add the column instead');
    return;
  }
  const views = ctx.viewsUsing(table, from.name);
  if (views.length > 0) {
    refuse(`${views.join(', ')} (not managed by zdm) uses the column: change the view first`);
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
  if (typeChanged && !castExists(to.type, from.type)) {
    refuse(`there is no cast back from ${to.type} to ${from.type} for the sync trigger's new → old direction`);
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
  const rev = typeChanged ? castExpression(newName, from.type) : `NEW.${n}`;

  // Type change: the column's indexes and constraints are rebuilt on the shadow column.
  let carry: Carry = { before: [], after: [], edits: [], locks: [], touches: [], revalidate: [] };
  if (!rename) {
    const c = carryOver(ctx, table, live, from.name, newName, refuse);
    if (c === undefined) return;
    carry = c;
  }

  // expand: the column, its helper check and the trigger, in one transaction.
  const added: Column = withOptional<Column, 'collation'>(
    { kind: 'column', name: newName, type: to.type, nullable: true },
    'collation',
    to.collation,
  );
  const helper = to.nullable ? undefined : ctx.freshName(table.schema, [table.name, newName], 'not_null');
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
        `${helper !== undefined ? `, check ${helper} NOT VALID` : ''} and the two-way sync trigger ${syncName}`,
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

  // backfill: old → new where they differ, then validate the helper check.
  const userTriggers = (ctx.live.dependents?.triggers ?? []).filter(
    (x) => x.schema === table.schema && x.table === table.name,
  );
  const hazards: Hazard[] = userTriggers.length > 0 ? ['fires-user-triggers'] : [];
  const where = `${n} IS DISTINCT FROM (${convSql})`;
  const key = live.primaryKey?.columns;
  const range =
    key && key.length > 0 ? `(${identList(key)}) > ($cursor) AND (${identList(key)}) <= ($upper)` : 'ctid in $range';
  ctx.add(
    at.backfill('data'),
    {
      kind: 'backfill',
      summary:
        `backfill ${qualified(table.schema, table.name)}.${newName} = ${convSql} where they differ, in batches` +
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
    contractSql.push(
      `ALTER TABLE ${t} ALTER COLUMN ${n} ADD GENERATED ${to.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`,
    );
    contractSql.push(
      `SELECT pg_catalog.setval(${serial(newName)}, v) FROM (SELECT pg_catalog.pg_sequence_last_value(${serial(from.name)}::pg_catalog.regclass) AS v) AS old_sequence WHERE v IS NOT NULL`,
    );
  }
  contractSql.push(...carry.before);
  contractSql.push(`ALTER TABLE ${t} DROP COLUMN ${o}`);
  if (!rename) contractSql.push(`ALTER TABLE ${t} RENAME COLUMN ${n} TO ${f}`);
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
 * The type change's indexes and constraints on the shadow column: built in expand (indexes
 * CONCURRENTLY, constraints NOT VALID), validated in backfill, renamed to their old names in the
 * contract transaction once the old column (and with it the old objects) is gone.
 */
function carryOver(
  ctx: PlanContext,
  table: RelationRef,
  live: Table,
  column: string,
  shadow: string,
  refuse: (why: string) => void,
): Carry | undefined {
  const desired = rootTable(ctx.desired, table);
  if (desired === undefined) return undefined;
  const u = usesColumn(column);
  const t = rel(table);
  const touches = [tableTouch(table)];
  const same = (a: readonly object[], b: readonly object[]) =>
    stableStringify(a.map(withoutValid)) === stableStringify(b.map(withoutValid));
  const liveIx = live.indexes.filter(u.ix);
  const liveChecks = live.checks.filter(u.check);
  const liveFks = live.foreignKeys.filter(u.fk);
  const liveUniques = live.uniqueConstraints.filter(u.key);
  const livePk = live.primaryKey !== undefined && u.key(live.primaryKey) ? live.primaryKey : undefined;
  const desiredPk = desired.primaryKey !== undefined && u.key(desired.primaryKey) ? desired.primaryKey : undefined;
  if (
    !same(liveIx, desired.indexes.filter(u.ix)) ||
    !same(liveChecks, desired.checks.filter(u.check)) ||
    !same(liveFks, desired.foreignKeys.filter(u.fk)) ||
    !same(liveUniques, desired.uniqueConstraints.filter(u.key)) ||
    stableStringify(livePk) !== stableStringify(desiredPk)
  ) {
    refuse(
      'the indexes or constraints on the column change in the same plan: change the type first, then them, in a second plan',
    );
    return undefined;
  }
  if (
    live.exclusionConstraints.some((x) =>
      x.elements.some((e) => e.key.column === column || mentions(e.key.expression ?? '', column)),
    )
  ) {
    refuse('an exclusion constraint uses the column: not supported by the shadow-column recipe yet');
    return undefined;
  }
  if (live.partitionBy !== undefined) {
    refuse('the table is partitioned: not supported by the shadow-column recipe yet');
    return undefined;
  }
  const incoming = ctx.liveForeignKeysTo(table).filter(([, fk]) => fk.references.columns.includes(column));
  for (const [child] of incoming) {
    if (child.schema !== table.schema || child.name !== table.name) continue;
    refuse('a foreign key of the table refers to the column itself: not supported by the shadow-column recipe yet');
    return undefined;
  }

  const carry: Carry = { before: [], after: [], edits: [], locks: [], touches: [], revalidate: [] };
  const sub = (c: string) => (c === column ? shadow : c);
  const rewrite = (e: string) => renameIn(e, column, shadow);
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
    ctx.add(
      at.expand('indexes'),
      sqlStep(
        `build index ${tmp} on ${qualified(table.schema, table.name)} (${ix.name} on the shadow column), concurrently`,
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
        `build unique index ${tmp} on ${qualified(table.schema, table.name)} (for ${key.name} on the shadow column), concurrently`,
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
    for (const [child, fk] of incoming) {
      carry.after.push(`ALTER TABLE ${rel(child)} ADD ${foreignKeySql(fk, true)}`);
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
    const shadowCk: CheckConstraint = { ...ck, name: tmp, expression: rewrite(ck.expression), valid: false };
    ctx.add(
      at.expand('checks'),
      sqlStep(
        `add check ${tmp} (${ck.name} on the shadow column) NOT VALID on ${qualified(table.schema, table.name)}`,
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
    carry.after.push(`ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(ck.name)}`);
    const want = desired.checks.find((x) => x.name === ck.name)!;
    carry.edits.push(mapRel((r) => ({ ...r, checks: [...removeNamed(r.checks, tmp), { ...want, valid: ck.valid }] })));
  }

  for (const fk of liveFks) {
    const tmp = ctx.freshName(table.schema, [fk.name], 'zdm_new');
    const shadowFk: ForeignKey = { ...fk, name: tmp, columns: fk.columns.map(sub), valid: false };
    const target = { schema: fk.references.schema, name: fk.references.table };
    ctx.add(
      at.expand('foreignKeys'),
      sqlStep(
        `add foreign key ${tmp} (${fk.name} on the shadow column) NOT VALID on ${qualified(table.schema, table.name)}`,
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
    carry.after.push(`ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(fk.name)}`);
    carry.edits.push(
      mapRel((r) => ({ ...r, foreignKeys: [...removeNamed(r.foreignKeys, tmp), { ...fk, valid: fk.valid }] })),
    );
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
