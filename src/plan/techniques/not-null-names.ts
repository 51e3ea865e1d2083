/**
 * Names of NOT NULL constraints (PostgreSQL 18 keeps one per NOT NULL column in pg_constraint,
 * contype 'n'). The model holds a name only where it is not the one PostgreSQL gives itself
 * (`Column.notNullName`, `Partition.notNullNames`): new tables, columns and partitions get theirs
 * where they are created (`CONSTRAINT name NOT NULL`), an existing column's is renamed here.
 * PostgreSQL 14–17 have no such names: a desired state that has one cannot be planned there.
 */
import type { RelationRef } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { defaultNotNullName, qualified } from '../../model/names.js';
import type { Column, DatabaseModel, Partition } from '../../model/types.js';
import { renameConstraintSql } from '../../sql/constraints.js';
import { at, lock, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapColumn, withOptional } from '../model-edit.js';

/** The first PostgreSQL major version whose NOT NULL constraints have names. */
export const NOT_NULL_NAMES_MAJOR = 18;

/** Refuses every NOT NULL constraint name of the desired state when the server is older than 18. */
export function checkNotNullNamesSupported(ctx: PlanContext, desired: DatabaseModel): void {
  const major = ctx.input.serverMajor;
  if (major >= NOT_NULL_NAMES_MAJOR) return;
  const why = `PostgreSQL ${major} has no names for NOT NULL constraints (they are PostgreSQL 18's): remove`;
  const partitions = (list: readonly Partition[], path: readonly string[]): void => {
    for (const p of list) {
      const ppath = [...path, 'partitions', p.name];
      if (p.notNullNames !== undefined) {
        ctx.issue(
          `partition ${qualified(p.schema, p.name)}`,
          `${why} \`notNullNames\``,
          docPath([...ppath, 'notNullNames']),
        );
      }
      partitions(p.partitions, ppath);
    }
  };
  for (const s of desired.schemas) {
    for (const t of s.tables) {
      const path = ['schemas', s.name, 'tables', t.name];
      for (const c of t.columns) {
        if (c.notNullName === undefined) continue;
        ctx.issue(
          `column ${qualified(s.name, t.name)}.${c.name}`,
          `${why} \`notNullName\``,
          docPath([...path, 'columns', c.name, 'notNullName']),
        );
      }
      partitions(t.partitions, path);
    }
  }
}

/** The name the NOT NULL constraint of `table.column` has (or gets from SET NOT NULL). */
export function notNullNameOf(table: string, c: Pick<Column, 'name' | 'notNullName'>): string {
  return c.notNullName ?? defaultNotNullName(table, c.name);
}

/**
 * A column NOT NULL before and after whose constraint name changes: `RENAME CONSTRAINT`, a catalog
 * change under ACCESS EXCLUSIVE for an instant (measured from pg_locks on PostgreSQL 18,
 * test/integration/not-null-names.test.ts). In expand: nothing an application does reads the name.
 */
export function planNotNullRename(ctx: PlanContext, table: RelationRef, from: Column, to: Column): void {
  if (ctx.input.serverMajor < NOT_NULL_NAMES_MAJOR) return; // refused by checkNotNullNamesSupported
  const was = notNullNameOf(table.name, from);
  const becomes = notNullNameOf(table.name, to);
  if (was === becomes) return;
  // The rename goes down to every partition (each under ACCESS EXCLUSIVE, measured), and fails on
  // the first that has a name of its own for the column.
  const partitions = descendants(ctx.liveRelation(table)?.partitions ?? []);
  const own = partitions.find((p) => p.notNullNames?.[to.name] !== undefined);
  if (own !== undefined) {
    ctx.issue(
      `column ${qualified(table.schema, table.name)}.${to.name}`,
      `the NOT NULL constraint cannot be renamed from ${was} to ${becomes}: partition ${qualified(own.schema, own.name)} names its own ${own.notNullNames?.[to.name]}, and PostgreSQL renames a partitioned table's constraint only together with its partitions' of the same name`,
      docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, 'notNullName']),
    );
    return;
  }
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `rename the NOT NULL constraint of ${qualified(table.schema, table.name)}.${to.name} from ${was} to ${becomes}` +
        (partitions.length > 0 ? ` (and of its ${partitions.length} partitions)` : ''),
      [renameConstraintSql(table, was, becomes)],
      { locks: [table, ...partitions].map((r) => lock({ schema: r.schema, name: r.name }, 'ACCESS EXCLUSIVE')) },
    ),
    (m) => mapColumn(m, table, to.name, (c) => withOptional(c, 'notNullName', to.notNullName)),
    [tableTouch(table)],
  );
}

function descendants(list: readonly Partition[]): Partition[] {
  return list.flatMap((p) => [p, ...descendants(p.partitions)]);
}

/**
 * PostgreSQL 18 keeps the NOT NULL constraint names of a renamed table or column
 * (`customer_id_not_null` on `client`). The model names them after the table and column (the
 * default is `<table>_<column>_not_null`), so a rename renames those that have the old default name,
 * in the same transaction (after the table and columns are renamed): the rename goes down to the
 * partitions that share the name (each under ACCESS EXCLUSIVE). A partition with a name of its own
 * for the column stops it: refused, with what to do.
 */
export function notNullRenamesOfTable(
  ctx: PlanContext,
  r: {
    readonly schema: string;
    readonly from: string;
    readonly to: string;
    readonly columns?: readonly { readonly from: string; readonly to: string }[];
  },
): { readonly sql: string[]; readonly partitions: RelationRef[] } {
  const none = { sql: [], partitions: [] };
  if (ctx.input.serverMajor < NOT_NULL_NAMES_MAJOR) return none;
  // The live model has the table under its new name already (withTableRenames), its columns under their old ones.
  const live = ctx.liveRelation({ schema: r.schema, name: r.to });
  if (live === undefined || live.kind !== 'table') return none;
  const renamedColumns = new Map((r.columns ?? []).map((c) => [c.from, c.to]));
  const partitions = descendants(live.partitions);
  const sql: string[] = [];
  for (const c of live.columns) {
    if (c.nullable || c.notNullName !== undefined) continue;
    const was = defaultNotNullName(r.from, c.name);
    const becomes = defaultNotNullName(r.to, renamedColumns.get(c.name) ?? c.name);
    if (was === becomes) continue;
    const own = partitions.find((p) => p.notNullNames?.[c.name] !== undefined);
    if (own !== undefined) {
      ctx.issue(
        `table ${qualified(r.schema, r.from)}`,
        `its NOT NULL constraint ${was} cannot follow the rename to ${becomes}: partition ${qualified(own.schema, own.name)} names its own, and PostgreSQL renames a partitioned table's constraint only together with its partitions' of the same name; rename the table in a plan of its own and run the RENAME CONSTRAINT by hand`,
        docPath(['schemas', r.schema, 'tables', r.to]),
      );
      return none;
    }
    sql.push(renameConstraintSql({ schema: r.schema, name: r.to }, was, becomes));
  }
  return {
    sql,
    partitions: sql.length === 0 ? [] : partitions.map((p) => ({ schema: p.schema, name: p.name })),
  };
}
