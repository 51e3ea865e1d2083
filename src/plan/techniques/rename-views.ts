/**
 * Renames with no copy at all (`zdm plan --renames views`, or `options: { renames: views }` in the
 * desired state; issue 17): versioned schemas of views, as pgroll popularised.
 *
 *   expand    for each schema with a rename, two version schemas, each holding one simple,
 *             automatically updatable view per table of the schema: `<schema>_v<live checksum>`
 *             under the names of now (the old application version's), `<schema>_v<desired
 *             checksum>` under the desired names (the new version's, `SELECT name AS display_name`).
 *             Creating a view locks nothing the application waits for (ACCESS SHARE on the tables).
 *   backfill  the renames in place, one short transaction per table (`ALTER TABLE … RENAME [COLUMN]`:
 *             a catalog change under ACCESS EXCLUSIVE for an instant, behind the lock guard). The
 *             views follow the table by its oid and the column by its number: the old version's
 *             keep showing the old names, the new version's the new ones. Hazard `app-compat`:
 *             it breaks every session that still uses the base schema's names, so it runs only
 *             when the operator says (`--allow-hazards app-compat`) that the old application
 *             version now connects with its version schema first on its search_path.
 *   contract  both version schemas dropped (`app-compat`: the old version must be gone). The new
 *             version's `search_path` (`<schema>_v<new>, <schema>`) then resolves to the base
 *             schema's tables, which have the names it knows.
 *
 * The bootstrapping problem: before the rename in place, the old application version must already
 * read and write through views that keep the old names. Nothing in the database says which
 * search_path other sessions use, so zdm cannot check it: expand creates that schema, zdm prints
 * the search_path for each version after each phase, and the rename waits in backfill behind the
 * `app-compat` hazard, which the operator allows once the old version's connections use it.
 *
 * Rollback before contract renames back (the inverse of each RENAME) and drops both version
 * schemas; the search_paths then resolve to the base schema, which has the old names again.
 *
 * Refused here (the copy path, `--renames copy`, handles them): a rename that also changes the
 * column (type, default, nullability…), a renamed column that views, policies, generated columns,
 * defaults or triggers use (they name it, or deparse differently once it is renamed), tables with
 * INHERITS in the schema (their inherited columns are not in the model), row level security on
 * PostgreSQL 14 (no security_invoker views), changes other than renames, added or dropped
 * columns, tables and indexes, and comments in the same plan, and any of those on a renamed table
 * (they would run in expand, before the new names exist).
 */
import { type Change, describeChange, type RenameTable, type ReplaceColumn } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { renameColumnInExpression, renameColumnReferences, renameTableIn } from '../../diff/renames.js';
import { qualified } from '../../model/names.js';
import { objectKey } from '../../model/objects.js';
import type { Column, DatabaseModel, Grant, Table } from '../../model/types.js';
import { type VersionSchema, versionSchemaName } from '../../model/versions.js';
import { renameColumnSql } from '../../sql/columns.js';
import { grantSql } from '../../sql/grants.js';
import { renameTableSql } from '../../sql/tables.js';
import { createVersionSchemaSql, createVersionViewSql, dropVersionSchemaSql } from '../../sql/version-schemas.js';
import { at, lock, type PlanContext, sqlStep } from '../context.js';
import { chain, type ModelEdit, mapColumn } from '../model-edit.js';
import { notNullRenamesOfTable } from './not-null-names.js';

/** Which technique a rename takes: a second column kept in sync and backfilled, or views. */
export const RENAME_PATHS = ['copy', 'views'] as const;
export type RenamePath = (typeof RENAME_PATHS)[number];

/** Changes the view path plans alongside its renames (each by its own technique). */
const ALONGSIDE = new Set<Change['kind']>([
  'addColumn',
  'dropColumn',
  'createTable',
  'dropTable',
  'createIndex',
  'dropIndex',
  'setComment',
]);

/** A column rename that changes nothing else about the column. */
export function isPureRename(ch: ReplaceColumn): boolean {
  const { from, to } = ch;
  const same = (k: keyof Column) => JSON.stringify(from[k]) === JSON.stringify(to[k]);
  return (
    from.name !== to.name &&
    (['type', 'nullable', 'default', 'identity', 'identityOptions', 'generated', 'collation'] as const).every(same)
  );
}

/** The renames the view path takes (the others are left to their techniques, or refused). */
export function isViewPathChange(c: Change): c is RenameTable | ReplaceColumn {
  return c.kind === 'renameTable' || (c.kind === 'replaceColumn' && c.from.name !== c.to.name);
}

interface TableRenames {
  readonly schema: string;
  /** The table's name in the database now, and once renamed (the same when only columns are). */
  readonly from: string;
  readonly to: string;
  readonly columns: readonly { readonly from: string; readonly to: string }[];
}

/**
 * Plans the view path for `changes` (every change of the plan). `fingerprints`: of the live
 * schema (the old version's short checksum) and of the desired one (the new version's).
 */
export function planRenamesWithViews(
  ctx: PlanContext,
  changes: readonly Change[],
  fingerprints: { readonly live: string; readonly desired: string },
): Set<Change> {
  // A plan without renames is planned as it would be without the option (a project-wide option).
  if (!changes.some(isViewPathChange)) return new Set();
  const handled = new Set<Change>(changes.filter((c) => isViewPathChange(c) || renamedColumnOf(c, changes)));
  const renames = collect(ctx, changes);
  if (renames === undefined) return handled;
  const schemas = [...new Set(renames.map((r) => r.schema))].sort();
  for (const schema of schemas) {
    const old: VersionSchema = { base: schema, name: versionSchemaName(schema, fingerprints.live), role: 'old' };
    const neu: VersionSchema = { base: schema, name: versionSchemaName(schema, fingerprints.desired), role: 'new' };
    if (!namesFree(ctx, schema, [old.name, neu.name])) continue;
    const inSchema = renames.filter((r) => r.schema === schema);
    planVersionSchemas(ctx, schema, inSchema, old, neu);
  }
  for (const r of renames) planRenameInPlace(ctx, r);
  return handled;
}

/**
 * The comment of a column renamed in place stays with it; the diff sets it on the new name as on a
 * new column. Kept when unchanged (a changed one is refused in collect: it would be set in expand,
 * before the rename).
 */
function renamedColumnOf(c: Change, changes: readonly Change[]): ReplaceColumn | undefined {
  if (c.kind !== 'setComment' || c.target.kind !== 'column') return undefined;
  const t = c.target;
  return changes.find(
    (r): r is ReplaceColumn =>
      r.kind === 'replaceColumn' &&
      r.from.name !== r.to.name &&
      r.table.schema === t.schema &&
      r.table.name === t.table &&
      r.to.name === t.column,
  );
}

/** The renames by table, or undefined after reporting why the view path cannot take them. */
function collect(ctx: PlanContext, changes: readonly Change[]): TableRenames[] | undefined {
  const byTable = new Map<
    string,
    { schema: string; from: string; to: string; columns: { from: string; to: string }[] }
  >();
  const entry = (schema: string, table: string) => {
    const key = qualified(schema, table);
    let e = byTable.get(key);
    if (e === undefined) {
      e = { schema, from: table, to: table, columns: [] };
      byTable.set(key, e);
    }
    return e;
  };
  let refused = false;
  const tableRenamed = changes.some((c) => c.kind === 'renameTable');
  for (const c of changes) {
    const commented = renamedColumnOf(c, changes);
    if (commented !== undefined) {
      if (c.kind === 'setComment' && commented.from.comment !== c.comment) {
        refused = true;
        ctx.issue(
          `column ${qualified(commented.table.schema, commented.table.name)}.${commented.to.name}`,
          '--renames views: change its comment in a plan of its own',
        );
      }
      continue;
    }
    if (c.kind === 'renameTable') {
      const e = entry(c.schema, c.to);
      e.from = c.from;
    } else if (c.kind === 'replaceColumn' && c.from.name !== c.to.name) {
      const why = columnRefusal(ctx, c);
      if (why !== undefined) {
        refused = true;
        ctx.issue(
          `column ${qualified(c.table.schema, c.table.name)}.${c.to.name}`,
          `renaming ${c.from.name} to ${c.to.name} with --renames views: ${why}`,
          docPath(['schemas', c.table.schema, 'tables', c.table.name, 'columns', c.to.name, 'renamedFrom']),
        );
        continue;
      }
      entry(c.table.schema, c.table.name).columns.push({ from: c.from.name, to: c.to.name });
    } else if ((tableRenamed || !ALONGSIDE.has(c.kind)) && c.kind !== 'unsupported') {
      refused = true;
      ctx.issue(
        'plan',
        `--renames views plans renames with added or dropped columns, tables and indexes and comments only ` +
          `(a table rename: renames alone); ` +
          `plan "${describeChange(c)}" on its own first, or use --renames copy`,
      );
    }
  }
  // Beside a rename, a change of the same table would run in expand under the new names, which
  // exist only once backfill renamed in place.
  const renamedTables = new Set([...byTable.keys()]);
  for (const c of changes) {
    if (!ALONGSIDE.has(c.kind) || c.kind === 'setComment' || c.kind === 'createTable' || !('table' in c)) continue;
    const t = c.table as { readonly schema: string; readonly name: string };
    if (renamedTables.has(qualified(t.schema, t.name))) {
      refused = true;
      ctx.issue(
        `table ${qualified(t.schema, t.name)}`,
        `--renames views renames in place in backfill: plan "${describeChange(c)}" on its own, before or after`,
      );
    }
  }
  const out = [...byTable.values()];
  for (const schema of new Set(out.map((r) => r.schema))) {
    const tables = ctx.live.schemas.find((s) => s.name === schema)?.tables ?? [];
    for (const t of tables) {
      if (t.inherits !== undefined || tables.some((x) => x.inherits?.includes(qualified(schema, t.name)))) {
        refused = true;
        ctx.issue(
          `table ${qualified(schema, t.name)}`,
          '--renames views makes a view of every table of the schema, and zdm does not model inherited columns: use --renames copy',
        );
      }
      if (ctx.input.serverMajor < 15 && t.rowLevelSecurity) {
        refused = true;
        ctx.issue(
          `table ${qualified(schema, t.name)}`,
          '--renames views needs security_invoker views (PostgreSQL 15+) for a table with row level security: use --renames copy',
        );
      }
    }
  }
  return refused ? undefined : out.sort((a, b) => qualified(a.schema, a.to).localeCompare(qualified(b.schema, b.to)));
}

function columnRefusal(ctx: PlanContext, c: ReplaceColumn): string | undefined {
  if (!isPureRename(c))
    return 'the view path renames in place and changes nothing else about the column; change it in a plan of its own, or use --renames copy';
  const ref = c.table;
  const deps = ctx.liveGraph.dependentsOf(objectKey('table', ref.schema, ref.name), c.from.name);
  if (deps.length > 0) {
    return `${deps.join(', ')} use${deps.length === 1 ? 's' : ''} the column by name: use --renames copy`;
  }
  const t = ctx.live.schemas.find((s) => s.name === ref.schema)?.tables.find((x) => x.name === ref.name);
  const triggers = [
    ...ctx.userTriggersOn(ref).map((x) => x.name),
    ...(ctx.live.schemas.find((s) => s.name === ref.schema)?.triggers ?? [])
      .filter((x) => x.table === ref.name)
      .map((x) => x.name),
  ];
  if (triggers.length > 0) {
    return `the table has trigger(s) ${triggers.join(', ')}, whose functions may name the column: use --renames copy`;
  }
  if ((t?.policies?.length ?? 0) > 0) return 'the table has row level security policies: use --renames copy';
  const uses = (e: string | undefined) => e !== undefined && renameColumnInExpression(e, c.from.name, '\u0000') !== e;
  const user = t?.columns.find((x) => x.name !== c.from.name && (uses(x.default) || uses(x.generated?.expression)));
  if (user !== undefined)
    return `the default or generated expression of column ${user.name} uses it: use --renames copy`;
  return undefined;
}

/** False (and the plan refused) when a version schema's name is taken or too long. */
function namesFree(ctx: PlanContext, schema: string, names: readonly string[]): boolean {
  for (const n of names) {
    const taken = ctx.live.schemas.some((s) => s.name === n) || ctx.desired.schemas.some((s) => s.name === n);
    if (taken || Buffer.byteLength(n) > 63) {
      ctx.issue(
        `schema ${schema}`,
        taken
          ? `--renames views needs the version schema ${n}, and a schema of that name exists`
          : `--renames views: the version schema name ${n} is longer than 63 bytes`,
      );
      return false;
    }
  }
  return true;
}

const VIEW_PRIVILEGES = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

function planVersionSchemas(
  ctx: PlanContext,
  schema: string,
  renames: readonly TableRenames[],
  old: VersionSchema,
  neu: VersionSchema,
): void {
  // ctx.live has the renamed tables under their new names already (src/plan/planner.ts).
  const liveSchema = ctx.live.schemas.find((s) => s.name === schema)!;
  const desiredSchema = ctx.desired.schemas.find((s) => s.name === schema);
  const renameOf = (t: string) => renames.find((r) => r.to === t);
  const invoker = ctx.input.serverMajor >= 15;
  const grantees = new Set((liveSchema.grants ?? []).filter((g) => g.privilege === 'USAGE').map((g) => g.grantee));
  const oldSql: string[] = createVersionSchemaSql(old);
  const newSql: string[] = createVersionSchemaSql(neu);
  const oldViews: string[] = [];
  const newViews: string[] = [];
  const grants = (v: VersionSchema, name: string, t: Table, as: (c: string) => string | undefined): string[] => {
    const table: Grant[] = (t.grants ?? []).filter((g) => VIEW_PRIVILEGES.has(g.privilege));
    for (const g of table) grantees.add(g.grantee);
    const out = grantSql({ kind: 'table', schema: v.name, name }, table);
    for (const c of t.columns) {
      const cg = (c.grants ?? []).filter((g) => VIEW_PRIVILEGES.has(g.privilege));
      const n = as(c.name);
      if (cg.length === 0 || n === undefined) continue;
      for (const g of cg) grantees.add(g.grantee);
      out.push(...grantSql({ kind: 'column', schema: v.name, name, column: n }, cg));
    }
    return out;
  };
  for (const t of liveSchema.tables) {
    const r = renameOf(t.name);
    const now = { schema, name: r?.from ?? t.name };
    const oldName = r?.from ?? t.name;
    oldViews.push(oldName);
    oldSql.push(
      createVersionViewSql(
        { schema: old.name, name: oldName },
        now,
        t.columns.map((c) => ({ column: c.name, as: c.name })),
        invoker,
      ),
      ...grants(old, oldName, t, (c) => c),
    );
    const want = desiredSchema?.tables.find((x) => x.name === t.name);
    if (want === undefined) continue; // dropped in contract: the new version does not know it
    const newName = (c: string) => r?.columns.find((x) => x.from === c)?.to ?? c;
    // The new version sees the desired columns: those it keeps (under their new names) and those
    // expand adds (the 'views' group comes after the 'columns' group).
    const kept = t.columns.filter((c) => want.columns.some((w) => w.name === newName(c.name)));
    const added = want.columns.filter((w) => !kept.some((c) => newName(c.name) === w.name));
    newViews.push(t.name);
    newSql.push(
      createVersionViewSql(
        { schema: neu.name, name: t.name },
        now,
        [
          ...kept.map((c) => ({ column: c.name, as: newName(c.name) })),
          ...added.map((c) => ({ column: c.name, as: c.name })),
        ],
        invoker,
      ),
      ...grants(neu, t.name, want, (c) => c),
    );
  }
  for (const v of [old, neu]) {
    const usage = grantSql(
      { kind: 'schema', name: v.name },
      [...grantees].sort().map((grantee) => ({ grantee, privilege: 'USAGE' })),
    );
    (v === old ? oldSql : newSql).push(...usage);
  }
  const reads = liveSchema.tables.map((t) => lock({ schema, name: renameOf(t.name)?.from ?? t.name }, 'ACCESS SHARE'));
  const touches = renames.map((r) => ({ kind: 'table' as const, schema, name: r.to }));
  ctx.add(
    at.expand('views'),
    sqlStep(
      `create version schema ${old.name}: a view of each table of ${schema} under the names of now, for the old application version (search_path ${old.name}, ${schema})`,
      oldSql,
      { locks: reads },
    ),
    (m) => m,
    touches,
  );
  ctx.add(
    at.expand('views'),
    sqlStep(
      `create version schema ${neu.name}: a view of each table of ${schema} under the desired names, for the new application version (search_path ${neu.name}, ${schema})`,
      newSql,
      { locks: reads },
    ),
    (m) => m,
    touches,
  );
  ctx.add(
    at.contract('dropViews'),
    sqlStep(
      `drop version schemas ${old.name} and ${neu.name}: the new application version's search_path now resolves to ${schema}`,
      [...dropVersionSchemaSql(old.name, oldViews), ...dropVersionSchemaSql(neu.name, newViews)],
      {
        locks: [
          ...oldViews.map((v) => lock({ schema: old.name, name: v }, 'ACCESS EXCLUSIVE')),
          ...newViews.map((v) => lock({ schema: neu.name, name: v }, 'ACCESS EXCLUSIVE')),
        ],
        hazards: ['app-compat'],
      },
    ),
    (m) => m,
    touches,
  );
}

function planRenameInPlace(ctx: PlanContext, r: TableRenames): void {
  const { schema, from, to } = r;
  const sql: string[] = [];
  const edits: ModelEdit[] = [];
  if (from !== to) {
    sql.push(renameTableSql({ schema, name: from }, to));
    edits.push((m) => renameTableIn(m, schema, from, to));
  }
  for (const c of r.columns) {
    sql.push(renameColumnSql({ schema, name: to }, c.from, c.to));
    edits.push((m: DatabaseModel) =>
      mapColumn(
        renameColumnReferences(m, { schema, table: to, from: c.from, to: c.to }),
        { schema, name: to },
        c.from,
        (x) => ({
          ...x,
          name: c.to,
        }),
      ),
    );
  }
  // PostgreSQL 18: the NOT NULL constraints named after the old names follow.
  const notNull = notNullRenamesOfTable(ctx, r);
  sql.push(...notNull.sql);
  const what = [
    ...(from !== to ? [`table ${qualified(schema, from)} to ${to}`] : []),
    ...r.columns.map((c) => `column ${c.from} to ${c.to}`),
  ].join(', ');
  ctx.add(
    at.backfill('renameInPlace'),
    sqlStep(`rename in place ${what} (the version schemas' views follow)`, sql, {
      locks: [
        lock({ schema, name: from }, 'ACCESS EXCLUSIVE'),
        ...notNull.partitions.map((p) => lock(p, 'ACCESS EXCLUSIVE')),
      ],
      hazards: ['app-compat'],
    }),
    chain(...edits),
    [
      { kind: 'table', schema, name: from },
      { kind: 'table', schema, name: to },
    ],
  );
}
