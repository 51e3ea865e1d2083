/**
 * Composite types (`CREATE TYPE … AS (…)`, issue 12). None of these statements locks a table
 * (../shared/pg-locks.md: CREATE TYPE (composite), ALTER TYPE … ADD ATTRIBUTE: none).
 *
 * - New types in expand (group `compositeTypes`, after the enums and domains an attribute may be of,
 *   before the tables and columns of the type), a type used by another new one first.
 * - Attributes added or of another type, and comments, in expand; attributes dropped in contract
 *   (hazard `app-compat`: the old application version may still read them).
 * - Dropped types in contract, after the columns and tables of the type, a type used by another
 *   dropped one last.
 * Refused, naming the type: attributes changed while a table column is of the type (PostgreSQL
 * refuses without CASCADE, which would rewrite the table under ACCESS EXCLUSIVE), and a new
 * attribute order (ALTER TYPE only appends).
 */
import type { AlterCompositeType, Change, CreateCompositeType, DropCompositeType } from '../../diff/changes.js';
import { compositeTypesUsedFirst, elementTypeName } from '../../model/composite-types.js';
import { qualified } from '../../model/names.js';
import type { CompositeAttribute, CompositeType, DatabaseModel } from '../../model/types.js';
import {
  addAttributeSql,
  alterAttributeTypeSql,
  attributeCommentSql,
  compositeTypeCommentSql,
  createCompositeTypeSql,
  dropAttributeSql,
  dropCompositeTypeSql,
} from '../../sql/composite-types.js';
import { at, type PlanContext, sqlStep, type Touch } from '../context.js';
import { mapSchema, removeNamed } from '../model-edit.js';

export type CompositeTypeChange = CreateCompositeType | DropCompositeType | AlterCompositeType;

export function isCompositeTypeChange(c: Change): c is CompositeTypeChange {
  return c.kind === 'createCompositeType' || c.kind === 'dropCompositeType' || c.kind === 'alterCompositeType';
}

const touch = (t: CompositeType): Touch => ({ kind: 'compositeType', schema: t.schema, name: t.name });
const typeName = (t: CompositeType): string => qualified(t.schema, t.name);

const put = (t: CompositeType) => (m: DatabaseModel) =>
  mapSchema(m, t.schema, (s) => ({ ...s, compositeTypes: [...removeNamed(s.compositeTypes, t.name), t] }));

/** Plans every change to composite types, creates and drops in the order their attributes need. */
export function planCompositeTypes(ctx: PlanContext, changes: readonly CompositeTypeChange[]): void {
  const creates = changes.filter((c): c is CreateCompositeType => c.kind === 'createCompositeType').map((c) => c.type);
  for (const t of compositeTypesUsedFirst(creates)) planCreate(ctx, t);
  for (const c of changes) if (c.kind === 'alterCompositeType') planAlter(ctx, c);
  const drops = changes.filter((c): c is DropCompositeType => c.kind === 'dropCompositeType').map((c) => c.type);
  for (const t of compositeTypesUsedFirst(drops).reverse()) planDrop(ctx, t);
}

function commentsSql(t: CompositeType, from?: CompositeType): string[] {
  const sql: string[] = [];
  if (t.comment !== from?.comment) sql.push(compositeTypeCommentSql(t, t.comment));
  for (const a of t.attributes) {
    const before = from?.attributes.find((x) => x.name === a.name);
    if (a.comment !== before?.comment) sql.push(attributeCommentSql(t, a.name, a.comment));
  }
  return sql;
}

function planCreate(ctx: PlanContext, t: CompositeType): void {
  ctx.add(
    at.expand('compositeTypes'),
    sqlStep(`create type ${typeName(t)}`, [createCompositeTypeSql(t, ctx.schemas), ...commentsSql(t)]),
    put(t),
    [touch(t)],
  );
}

function planDrop(ctx: PlanContext, t: CompositeType): void {
  ctx.add(
    at.contract('dropCompositeTypes'),
    sqlStep(`drop type ${typeName(t)}`, [dropCompositeTypeSql(t)], { hazards: ['app-compat'] }),
    (m) => mapSchema(m, t.schema, (s) => ({ ...s, compositeTypes: removeNamed(s.compositeTypes, t.name) })),
    [touch(t)],
  );
}

/** Columns of live tables (and their partitions) of the type or an array of it. */
function columnsOfType(m: DatabaseModel, t: CompositeType): string[] {
  const name = typeName(t);
  return m.schemas.flatMap((s) =>
    s.tables.flatMap((tb) =>
      tb.columns
        .filter((c) => elementTypeName(c.type) === name)
        .map((c) => `column ${qualified(s.name, tb.name)}.${c.name}`),
    ),
  );
}

function planAlter(ctx: PlanContext, ch: AlterCompositeType): void {
  const { from, to } = ch;
  const object = `type ${typeName(to)}`;
  const has = (list: readonly CompositeAttribute[], name: string) => list.some((a) => a.name === name);
  const dropped = from.attributes.filter((a) => !has(to.attributes, a.name));
  const added = to.attributes.filter((a) => !has(from.attributes, a.name));
  const altered = to.attributes.filter((a) => {
    const old = from.attributes.find((x) => x.name === a.name);
    return old !== undefined && (old.type !== a.type || old.collation !== a.collation);
  });
  // ALTER TYPE appends: the kept attributes must keep their order, the new ones come last.
  const reachable = [...from.attributes.filter((a) => has(to.attributes, a.name)), ...added].map((a) => a.name);
  if (reachable.join('\u0000') !== to.attributes.map((a) => a.name).join('\u0000')) {
    ctx.issue(
      object,
      `the attributes change order (${from.attributes.map((a) => a.name).join(', ')} → ${to.attributes.map((a) => a.name).join(', ')}): ` +
        'ALTER TYPE only appends attributes; keep the order, or create a type under a new name',
    );
    return;
  }
  const structural = dropped.length + added.length + altered.length > 0;
  const users = structural ? columnsOfType(ctx.live, from) : [];
  if (users.length > 0) {
    ctx.issue(
      object,
      `its attributes change while ${users.join(', ')} ${users.length === 1 ? 'is' : 'are'} of the type: PostgreSQL ` +
        'would rewrite the table under ACCESS EXCLUSIVE (ALTER TYPE … CASCADE); create a type under a new name and change ' +
        'the column to it',
    );
    return;
  }
  // Expand: the attributes added or altered, and the comments; the dropped ones are still there.
  const expanded: CompositeType = {
    ...to,
    attributes: [...from.attributes.map((a) => to.attributes.find((x) => x.name === a.name) ?? a), ...added],
  };
  const sql = [
    ...added.map((a) => addAttributeSql(to, a, ctx.schemas)),
    ...altered.map((a) => alterAttributeTypeSql(to, a, ctx.schemas)),
    ...commentsSql(to, from),
  ];
  if (sql.length > 0) {
    ctx.add(
      at.expand('compositeTypes'),
      sqlStep(
        added.length + altered.length > 0
          ? `alter type ${typeName(to)}: ${describe(added, altered)}`
          : `comment on type ${typeName(to)}`,
        sql,
      ),
      put(expanded),
      [touch(to)],
    );
  }
  if (dropped.length > 0) {
    ctx.add(
      at.contract('dropCompositeTypes'),
      sqlStep(
        `drop attribute${dropped.length === 1 ? '' : 's'} ${dropped.map((a) => a.name).join(', ')} of type ${typeName(to)}`,
        dropped.map((a) => dropAttributeSql(to, a.name)),
        { hazards: ['app-compat'] },
      ),
      put(to),
      [touch(to)],
    );
  }
}

function describe(added: readonly CompositeAttribute[], altered: readonly CompositeAttribute[]): string {
  return [
    ...added.map((a) => `add attribute ${a.name} ${a.type}`),
    ...altered.map((a) => `attribute ${a.name} to ${a.type}`),
  ].join(', ');
}
