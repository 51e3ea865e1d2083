/**
 * Schema-level objects (extensions, schemas, enums, domains, sequences) and comments. None of them
 * locks a table, except a domain constraint, which PostgreSQL checks against every column of the
 * domain while holding SHARE on those tables (writes wait): there is no online technique for it.
 */
import type {
  AddEnumValue,
  AlterDomain,
  AlterExtensionSchema,
  AlterExtensionVersion,
  AlterSequence,
  CommentTarget,
  CreateDomain,
  CreateEnum,
  CreateExtension,
  CreateSchema,
  CreateSequence,
  DropDomain,
  DropEnum,
  DropExtension,
  DropSchema,
  DropSequence,
  RelationRef,
  SetComment,
} from '../../diff/changes.js';
import { assertNever, commentTargetName } from '../../diff/changes.js';
import { isDomainOverCompositeType } from '../../model/composite-types.js';
import { qualified } from '../../model/names.js';
import { emptySchema } from '../../model/objects.js';
import type { DatabaseModel, Domain, MaterializedView, Sequence, View } from '../../model/types.js';
import { commentSql, domainCheckCommentsSql } from '../../sql/comments.js';
import { qualifiedName } from '../../sql/quote.js';
import {
  alterExtensionSchemaSql,
  alterExtensionVersionSql,
  createExtensionSql,
  createSchemaSql,
  dropExtensionSql,
  dropSchemaSql,
} from '../../sql/schemas.js';
import {
  alterSequenceSql,
  createSequenceSql,
  dropSequenceSql,
  SEQUENCE_FIELDS,
  setOwnedBySql,
} from '../../sql/sequences.js';
import {
  addEnumValueSql,
  createDomainSql,
  createEnumSql,
  domainAddCheckSql,
  domainDropConstraintSql,
  domainDropDefaultSql,
  domainNotNullSql,
  domainSetDefaultSql,
  domainValidateConstraintSql,
  dropDomainSql,
  dropTypeSql,
  enumPositionSql,
} from '../../sql/types.js';
import { at, lock, type PlanContext, sqlStep, type Touch, tableTouch } from '../context.js';
import {
  type ModelEdit,
  mapColumn,
  mapMaterializedView,
  mapRelation,
  mapSchema,
  mapView,
  mapViewColumn,
  removeNamed,
  upsert,
  withOptional,
} from '../model-edit.js';
import type { Hazard, LockInfo } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Extensions and schemas

export function planCreateExtension(ctx: PlanContext, ch: CreateExtension): void {
  const e = ch.extension;
  ctx.add(
    at.expand('extensions'),
    sqlStep(`create extension ${e.name}`, [createExtensionSql(e)]),
    (m) => ({ ...m, extensions: [...m.extensions, e] }),
    [{ kind: 'extension', name: e.name }],
  );
}

export function planDropExtension(ctx: PlanContext, ch: DropExtension): void {
  const e = ch.extension;
  ctx.add(
    at.contract('dropExtensions'),
    sqlStep(`drop extension ${e.name} and every object it created`, [dropExtensionSql(e.name)], {
      hazards: ['data-loss'],
    }),
    (m) => ({ ...m, extensions: m.extensions.filter((x) => x.name !== e.name) }),
    [{ kind: 'extension', name: e.name }],
  );
}

/**
 * The version the desired state pins: the extension's update script runs (it locks no table by
 * itself: ../shared/pg-locks.md), in expand before anything that may use what the new version adds.
 */
export function planAlterExtensionVersion(ctx: PlanContext, ch: AlterExtensionVersion): void {
  const version = ch.to.version!;
  ctx.add(
    at.expand('extensions'),
    sqlStep(
      `update extension ${ch.to.name} from version ${ch.from.installedVersion ?? '?'} to ${version} (its update script may change functions the application calls)`,
      [alterExtensionVersionSql(ch.to.name, version)],
      { hazards: ['app-compat'] },
    ),
    (m) => ({
      ...m,
      extensions: m.extensions.map((x) => (x.name === ch.to.name ? { ...x, installedVersion: version } : x)),
    }),
    [{ kind: 'extension', name: ch.to.name }],
  );
}

export function planAlterExtensionSchema(ctx: PlanContext, ch: AlterExtensionSchema): void {
  const to = ch.to.schema ?? 'public';
  ctx.add(
    at.expand('extensions'),
    sqlStep(
      `move extension ${ch.to.name} to schema ${to} (references qualified with the old schema break)`,
      [alterExtensionSchemaSql(ch.to.name, to)],
      { hazards: ['app-compat'] },
    ),
    (m) => ({ ...m, extensions: m.extensions.map((x) => (x.name === ch.to.name ? ch.to : x)) }),
    [{ kind: 'extension', name: ch.to.name }],
  );
}

export function planCreateSchema(ctx: PlanContext, ch: CreateSchema): void {
  ctx.add(
    at.expand('schemas'),
    sqlStep(`create schema ${ch.name}`, [createSchemaSql(ch.name)]),
    (m) => ({
      ...m,
      schemas: [...m.schemas, emptySchema(ch.name)],
    }),
    [{ kind: 'schema', name: ch.name }],
  );
}

export function planDropSchema(ctx: PlanContext, ch: DropSchema): void {
  // No CASCADE: zdm dropped what it manages in earlier steps; anything else left in the schema makes
  // this fail rather than vanish silently.
  ctx.add(
    at.contract('dropSchemas'),
    sqlStep(`drop schema ${ch.name}`, [dropSchemaSql(ch.name)]),
    (m) => ({ ...m, schemas: m.schemas.filter((s) => s.name !== ch.name) }),
    [{ kind: 'schema', name: ch.name }],
  );
}

// ---------------------------------------------------------------------------------------------
// Enums

export function planCreateEnum(ctx: PlanContext, ch: CreateEnum): void {
  const e = ch.enum;
  ctx.add(
    at.expand('enums'),
    sqlStep(`create enum ${qualified(e.schema, e.name)}`, [createEnumSql(e)]),
    (m) => mapSchema(m, e.schema, (s) => ({ ...s, enums: [...s.enums, withOptional(e, 'comment', undefined)] })),
    [{ kind: 'enum', schema: e.schema, name: e.name }],
  );
}

export function planDropEnum(ctx: PlanContext, ch: DropEnum): void {
  const e = ch.enum;
  ctx.add(
    at.contract('dropEnums'),
    sqlStep(`drop enum ${qualified(e.schema, e.name)}`, [dropTypeSql(e)]),
    (m) => mapSchema(m, e.schema, (s) => ({ ...s, enums: removeNamed(s.enums, e.name) })),
    [{ kind: 'enum', schema: e.schema, name: e.name }],
  );
}

export function planAddEnumValue(ctx: PlanContext, ch: AddEnumValue): void {
  const where = enumPositionSql(ch.position);
  // Its own transaction: a label added in a transaction cannot be used before that transaction
  // commits. IF NOT EXISTS makes a retry after a lost acknowledgement harmless.
  ctx.add(
    at.expand('enums'),
    sqlStep(
      `add value '${ch.value}' to enum ${qualified(ch.schema, ch.name)}${where.replace(/^ (BEFORE|AFTER)/, (x) => x.toLowerCase())}`,
      [addEnumValueSql(ch, ch.value, ch.position)],
    ),
    (m) =>
      mapSchema(m, ch.schema, (s) => ({
        ...s,
        enums: s.enums.map((e) => {
          if (e.name !== ch.name) return e;
          const values = [...e.values];
          if (ch.position === undefined) values.push(ch.value);
          else if ('before' in ch.position) values.splice(values.indexOf(ch.position.before), 0, ch.value);
          else values.splice(values.indexOf(ch.position.after) + 1, 0, ch.value);
          return { ...e, values };
        }),
      })),
    [{ kind: 'enum', schema: ch.schema, name: ch.name }],
  );
}

// ---------------------------------------------------------------------------------------------
// Domains

export function planCreateDomain(ctx: PlanContext, ch: CreateDomain): void {
  const d = ch.domain;
  ctx.add(
    at.expand(isDomainOverCompositeType(d, ctx.desired) ? 'compositeDomains' : 'domains'),
    sqlStep(`create domain ${qualified(d.schema, d.name)}`, [
      createDomainSql(d, ctx.schemas),
      ...domainCheckCommentsSql(d),
    ]),
    (m) => mapSchema(m, d.schema, (s) => ({ ...s, domains: [...s.domains, withOptional(d, 'comment', undefined)] })),
    [{ kind: 'domain', schema: d.schema, name: d.name }],
  );
}

export function planDropDomain(ctx: PlanContext, ch: DropDomain): void {
  const d = ch.domain;
  ctx.add(
    at.contract('dropDomains'),
    sqlStep(`drop domain ${qualified(d.schema, d.name)}`, [dropDomainSql(d)]),
    (m) => mapSchema(m, d.schema, (s) => ({ ...s, domains: removeNamed(s.domains, d.name) })),
    [{ kind: 'domain', schema: d.schema, name: d.name }],
  );
}

/** Tables with a column of the domain (or an array of it): PostgreSQL checks them when a domain constraint is added. */
function tablesUsing(m: DatabaseModel, d: Domain): RelationRef[] {
  const type = qualifiedName(d.schema, d.name);
  const out: RelationRef[] = [];
  for (const s of m.schemas) {
    for (const t of s.tables) {
      if (t.columns.some((c) => c.type === type || c.type.startsWith(`${type}[`)))
        out.push({ schema: s.name, name: t.name });
    }
  }
  return out;
}

export function planAlterDomain(ctx: PlanContext, ch: AlterDomain): void {
  const { from, to } = ch;
  const d = to;
  const display = qualified(to.schema, to.name);
  const touch: Touch = { kind: 'domain', schema: to.schema, name: to.name };
  const users = tablesUsing(ctx.live, to);
  const edit =
    (fn: (x: Domain) => Domain): ModelEdit =>
    (m) =>
      mapSchema(m, to.schema, (s) => ({ ...s, domains: s.domains.map((x) => (x.name === to.name ? fn(x) : x)) }));
  const scanLocks: LockInfo[] = users.map((u) => lock(u, 'SHARE', 'scan'));
  const scanHazards: Hazard[] = users.length > 0 ? ['blocks-writes'] : [];
  const scanNote =
    users.length > 0
      ? ` (checks every row of ${users.map((u) => qualified(u.schema, u.name)).join(', ')} holding SHARE: writes wait)`
      : '';

  if (from.default !== to.default) {
    if (to.default !== undefined) {
      ctx.add(
        at.expand('domains'),
        sqlStep(`set default of domain ${display} to ${to.default}`, [domainSetDefaultSql(d, to.default)]),
        edit((x) => ({ ...x, default: to.default! })),
        [touch],
      );
    } else {
      ctx.add(
        at.contract('columns'),
        sqlStep(`drop default of domain ${display}`, [domainDropDefaultSql(d)]),
        edit((x) => withOptional(x, 'default', undefined)),
        [touch],
      );
    }
  }
  if (from.nullable !== to.nullable) {
    ctx.add(
      at.expand('domains'),
      to.nullable
        ? sqlStep(`drop NOT NULL of domain ${display}`, [domainNotNullSql(d, false)])
        : sqlStep(`set domain ${display} NOT NULL${scanNote}`, [domainNotNullSql(d, true)], {
            locks: scanLocks,
            hazards: scanHazards,
          }),
      edit((x) => ({ ...x, nullable: to.nullable })),
      [touch],
    );
  }
  const liveChecks = new Map(from.checks.map((c) => [c.name, c]));
  const wantChecks = new Map(to.checks.map((c) => [c.name, c]));
  for (const [n, c] of [...liveChecks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (wantChecks.has(n)) continue;
    ctx.add(
      at.contract('dropConstraints'),
      sqlStep(`drop check ${n} of domain ${display}`, [domainDropConstraintSql(d, c.name)]),
      edit((x) => ({ ...x, checks: removeNamed(x.checks, n) })),
      [touch],
    );
  }
  for (const [n, c] of [...wantChecks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = liveChecks.get(n);
    if (old !== undefined && old.expression === c.expression) continue;
    const sql = old ? [domainDropConstraintSql(d, n)] : [];
    sql.push(domainAddCheckSql(d, n, c.expression));
    // The check is new: its comment, if any, goes with it (the diff plans only comments of kept checks).
    sql.push(...domainCheckCommentsSql(to, [c]));
    ctx.add(
      at.expand('domains'),
      sqlStep(`${old ? 'replace' : 'add'} check ${n} of domain ${display} NOT VALID`, sql, {
        hazards: old ? ['not-validated'] : [],
      }),
      edit((x) => ({ ...x, checks: upsert(x.checks, c) })),
      [touch],
    );
    ctx.add(
      at.backfill('validateChecks'),
      sqlStep(`validate check ${n} of domain ${display}${scanNote}`, [domainValidateConstraintSql(d, n)], {
        locks: scanLocks,
        hazards: scanHazards,
      }),
      (m) => m,
      [touch],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Sequences

const seqRef = (q: Sequence): RelationRef => ({ schema: q.schema, name: q.name });

function planOwnership(ctx: PlanContext, q: Sequence): void {
  const display = qualified(q.schema, q.name);
  ctx.add(
    at.expand('sequenceOwnership'),
    sqlStep(
      q.ownedBy === undefined
        ? `sequence ${display} is owned by no column`
        : `sequence ${display} is owned by ${qualified(q.ownedBy.schema, q.ownedBy.table)}.${q.ownedBy.column}`,
      [setOwnedBySql(q, q.ownedBy)],
      { locks: [lock(seqRef(q), 'SHARE ROW EXCLUSIVE')] },
    ),
    (m) =>
      mapSchema(m, q.schema, (s) => ({
        ...s,
        sequences: s.sequences.map((x) => (x.name === q.name ? withOptional(x, 'ownedBy', q.ownedBy) : x)),
      })),
    [{ kind: 'sequence', schema: q.schema, name: q.name }],
  );
}

export function planCreateSequence(ctx: PlanContext, ch: CreateSequence): void {
  const q = ch.sequence;
  ctx.add(
    at.expand('sequences'),
    sqlStep(`create sequence ${qualified(q.schema, q.name)}`, [createSequenceSql(q)]),
    (m) =>
      mapSchema(m, q.schema, (s) => ({
        ...s,
        sequences: [...s.sequences, withOptional(withOptional(q, 'comment', undefined), 'ownedBy', undefined)],
      })),
    [{ kind: 'sequence', schema: q.schema, name: q.name }],
  );
  // OWNED BY needs the column, which may be created by a later step.
  if (q.ownedBy !== undefined) planOwnership(ctx, q);
}

export function planAlterSequence(ctx: PlanContext, ch: AlterSequence): void {
  const { from, to } = ch;
  const changed = SEQUENCE_FIELDS.filter((f) => from[f] !== to[f]);
  // A new type changes the implicit bounds: state them.
  if (changed.includes('type')) {
    for (const f of ['minValue', 'maxValue'] as const) if (!changed.includes(f)) changed.push(f);
  }
  if (changed.length > 0) {
    const fields = SEQUENCE_FIELDS.filter((f) => changed.includes(f));
    ctx.add(
      at.expand('sequences'),
      sqlStep(
        `alter sequence ${qualified(to.schema, to.name)} (${fields.join(', ')})`,
        [alterSequenceSql(to, fields)],
        { locks: [lock(seqRef(to), 'SHARE ROW EXCLUSIVE')] },
      ),
      (m) =>
        mapSchema(m, to.schema, (s) => ({
          ...s,
          sequences: s.sequences.map((x) =>
            x.name === to.name ? { ...x, ...Object.fromEntries(fields.map((f) => [f, to[f]])) } : x,
          ),
        })),
      [{ kind: 'sequence', schema: to.schema, name: to.name }],
    );
  }
  const owner = (q: Sequence) => (q.ownedBy ? `${q.ownedBy.schema}.${q.ownedBy.table}.${q.ownedBy.column}` : '');
  if (owner(from) !== owner(to)) planOwnership(ctx, to);
}

export function planDropSequence(ctx: PlanContext, ch: DropSequence): void {
  const q = ch.sequence;
  // PostgreSQL drops a sequence with the column (or table) that owns it.
  const o = q.ownedBy;
  if (o !== undefined) {
    const owner = ctx.desiredRelation({ schema: o.schema, name: o.table });
    if (owner === undefined || (owner.kind === 'table' && !owner.columns.some((c) => c.name === o.column))) {
      return;
    }
  }
  ctx.add(
    at.contract('dropSequences'),
    sqlStep(`drop sequence ${qualified(q.schema, q.name)} (its current value is lost)`, [dropSequenceSql(q)], {
      hazards: ['data-loss'],
    }),
    (m) => mapSchema(m, q.schema, (s) => ({ ...s, sequences: removeNamed(s.sequences, q.name) })),
    [{ kind: 'sequence', schema: q.schema, name: q.name }],
  );
}

// ---------------------------------------------------------------------------------------------
// Comments

function commentEdit(t: CommentTarget, text: string | undefined): ModelEdit {
  switch (t.kind) {
    case 'schema':
      return (m) => mapSchema(m, t.name, (s) => withOptional(s, 'comment', text));
    case 'table':
      return (m) => mapRelation(m, t, (r) => withOptional(r, 'comment', text));
    case 'column':
      return (m) =>
        mapColumn(m, { schema: t.schema, name: t.table }, t.column, (c) => withOptional(c, 'comment', text));
    case 'index':
      return (m) =>
        mapRelation(m, { schema: t.schema, name: t.table }, (r) => ({
          ...r,
          indexes: r.indexes.map((i) => (i.name === t.name ? withOptional(i, 'comment', text) : i)),
        }));
    case 'constraint': {
      const set = <T extends { readonly name: string; readonly comment?: string }>(xs: readonly T[]): T[] =>
        xs.map((x) => (x.name === t.name ? withOptional(x, 'comment', text) : x));
      return (m) =>
        mapRelation(m, { schema: t.schema, name: t.table }, (r) => ({
          ...r,
          ...(r.primaryKey?.name === t.name ? { primaryKey: withOptional(r.primaryKey, 'comment', text) } : {}),
          uniqueConstraints: set(r.uniqueConstraints),
          checks: set(r.checks),
          foreignKeys: set(r.foreignKeys),
          exclusionConstraints: set(r.exclusionConstraints),
        }));
    }
    case 'domainConstraint':
      return (m) =>
        mapSchema(m, t.schema, (s) => ({
          ...s,
          domains: s.domains.map((d) =>
            d.name === t.domain
              ? { ...d, checks: d.checks.map((c) => (c.name === t.name ? withOptional(c, 'comment', text) : c)) }
              : d,
          ),
        }));
    case 'enum':
      return (m) =>
        mapSchema(m, t.schema, (s) => ({
          ...s,
          enums: s.enums.map((e) => (e.name === t.name ? withOptional(e, 'comment', text) : e)),
        }));
    case 'domain':
      return (m) =>
        mapSchema(m, t.schema, (s) => ({
          ...s,
          domains: s.domains.map((e) => (e.name === t.name ? withOptional(e, 'comment', text) : e)),
        }));
    case 'sequence':
      return (m) =>
        mapSchema(m, t.schema, (s) => ({
          ...s,
          sequences: s.sequences.map((e) => (e.name === t.name ? withOptional(e, 'comment', text) : e)),
        }));
    case 'view':
      return (m) => mapView(m, t.schema, t.name, (v) => withOptional(v, 'comment', text));
    case 'materializedView':
      return (m) => mapMaterializedView(m, t.schema, t.name, (v) => withOptional(v, 'comment', text));
    case 'viewColumn': {
      const set = <T extends View | MaterializedView>(v: T): T =>
        mapViewColumn(v, t.column, (c) => withOptional(c, 'comment', text));
      return t.materialized
        ? (m) => mapMaterializedView(m, t.schema, t.view, set)
        : (m) => mapView(m, t.schema, t.view, set);
    }
    default:
      return assertNever(t);
  }
}

/** The object whose step a comment joins: a table for its own, its columns' and its indexes' comments. */
function commentOwner(t: CommentTarget): Touch {
  switch (t.kind) {
    case 'schema':
      return { kind: 'schema', name: t.name };
    case 'table':
      return tableTouch(t);
    case 'column':
    case 'index':
    case 'constraint':
      return tableTouch({ schema: t.schema, name: t.table });
    case 'domainConstraint':
      return { kind: 'domain', schema: t.schema, name: t.domain };
    case 'enum':
    case 'domain':
    case 'sequence':
    case 'view':
    case 'materializedView':
      return { kind: t.kind, schema: t.schema, name: t.name };
    case 'viewColumn':
      return { kind: t.materialized ? 'materializedView' : 'view', schema: t.schema, name: t.view };
    default:
      return assertNever(t);
  }
}

function commentLock(t: CommentTarget): LockInfo[] {
  switch (t.kind) {
    case 'table':
      return [lock(t, 'SHARE UPDATE EXCLUSIVE')];
    case 'column':
      return [lock({ schema: t.schema, name: t.table }, 'SHARE UPDATE EXCLUSIVE')];
    case 'index':
    case 'view':
    case 'materializedView':
      return [lock(t, 'SHARE UPDATE EXCLUSIVE')];
    case 'constraint':
      return [lock({ schema: t.schema, name: t.table }, 'ACCESS SHARE')];
    case 'viewColumn':
      return [lock({ schema: t.schema, name: t.view }, 'SHARE UPDATE EXCLUSIVE')];
    default:
      return [];
  }
}

/** One step per object for all its comments (a new table's comment and its columns' together). */
export function planComments(ctx: PlanContext, changes: readonly SetComment[]): void {
  const groups = new Map<string, SetComment[]>();
  for (const c of changes) {
    const owner = commentOwner(c.target);
    const key = `${owner.kind} ${owner.schema ?? ''}.${owner.name}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of groups.values()) {
    const owner = commentOwner(group[0]!.target);
    const ownerName = owner.schema === undefined ? owner.name : qualified(owner.schema, owner.name);
    const recreated = owner.kind === 'table' && ctx.isRecreatedInContract({ schema: owner.schema!, name: owner.name });
    const summary =
      group.length === 1
        ? `${group[0]!.comment === undefined ? 'remove' : 'set'} comment on ${commentTargetName(group[0]!.target)}`
        : `set ${group.length} comments on ${owner.kind} ${ownerName} and its parts`;
    ctx.add(
      recreated ? at.contract('addPartitions') : at.expand('comments'),
      sqlStep(
        summary,
        group.map((c) => commentSql(c.target, c.comment)),
        { locks: group.flatMap((c) => commentLock(c.target)) },
      ),
      (m) => group.reduce((acc, c) => commentEdit(c.target, c.comment)(acc), m),
      [owner],
    );
  }
}
