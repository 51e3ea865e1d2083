/**
 * Table rename (`renamedFrom` on a table). `ALTER TABLE … RENAME` alone breaks the running
 * application version at once. Instead, in expand, one transaction renames the table and creates
 * a view under the old name: `SELECT *` of one table is an automatically updatable view, so the old
 * version's reads, INSERTs (defaults included), UPDATEs and DELETEs go through it to the table.
 * Contract drops the view once the old version is gone.
 *
 * The view lists the columns the table has when expand runs; columns the plan drops later are
 * dropped in contract after the view (group `dropViews` comes first).
 */
import type { RenameTable } from '../../diff/changes.js';
import { renameTableIn } from '../../diff/renames.js';
import { qualified } from '../../model/names.js';
import { TRANSITIONAL_COMMENT_PREFIX } from '../../model/views.js';
import { renameTableSql } from '../../sql/tables.js';
import { commentOnViewSql, createViewOfTableSql, dropViewSql } from '../../sql/views.js';
import { at, lock, type PlanContext, sqlStep } from '../context.js';
import { notNullRenamesOfTable } from './not-null-names.js';

export function planRenameTable(ctx: PlanContext, ch: RenameTable): void {
  const { schema, from, to } = ch;
  const oldName = { schema, name: from };
  const newName = { schema, name: to };
  const touches = [
    { kind: 'table' as const, schema, name: from },
    { kind: 'table' as const, schema, name: to },
  ];
  const notNull = notNullRenamesOfTable(ctx, ch);
  ctx.add(
    at.expand('tables'),
    sqlStep(
      `rename table ${qualified(schema, from)} to ${to}, and leave an updatable view ${qualified(schema, from)} over it for the old application version` +
        (notNull.sql.length > 0 ? ` (and its NOT NULL constraints named after ${from})` : ''),
      [
        renameTableSql(oldName, to),
        ...notNull.sql,
        createViewOfTableSql(oldName, newName),
        // The marker that keeps this view out of the user's schema (introspection leaves it out).
        commentOnViewSql(
          oldName,
          `${TRANSITIONAL_COMMENT_PREFIX}the old name of ${qualified(schema, to)} until contract`,
        ),
      ],
      { locks: [lock(oldName, 'ACCESS EXCLUSIVE'), ...notNull.partitions.map((p) => lock(p, 'ACCESS EXCLUSIVE'))] },
    ),
    (m) => renameTableIn(m, schema, from, to),
    touches,
  );
  ctx.add(
    at.contract('dropViews'),
    sqlStep(`drop view ${qualified(schema, from)} (the old name of ${qualified(schema, to)})`, [dropViewSql(oldName)], {
      locks: [lock(oldName, 'ACCESS EXCLUSIVE')],
      hazards: ['app-compat'],
    }),
    (m) => m,
    [{ kind: 'table', schema, name: to }],
  );
}
