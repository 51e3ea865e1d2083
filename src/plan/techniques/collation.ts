/**
 * A column's collation changed (its type did not).
 *
 * `ALTER COLUMN … TYPE same_type COLLATE new` rewrites no row (the table keeps its relfilenode), but
 * under ACCESS EXCLUSIVE it rebuilds every index that has the column as a key without an explicit
 * collation equal to the new one (measured on PostgreSQL 14 and 18, docs/techniques.md). So:
 *
 * - no index keyed on the column: the column changed in place in expand (ACCESS EXCLUSIVE, instant);
 *   indexes keyed on it that the desired state drops: the same, in contract once they are dropped;
 * - plain indexes keyed on it: each is built again `CONCURRENTLY` under a fresh name in expand with
 *   an explicit `COLLATE new` on the column's keys (readers and writers go on), contract drops the
 *   old one `CONCURRENTLY` and gives the new one its name, and only then changes the column: nothing
 *   left to rebuild, ACCESS EXCLUSIVE for an instant. The explicit collation then equals the
 *   column's, which PostgreSQL no longer prints: the index is the desired one.
 *
 * What would still rebuild or re-check under ACCESS EXCLUSIVE, or what PostgreSQL refuses, is refused
 * with the reason: keys and constraints over the column, expression or partial indexes that use it,
 * INCLUDE columns, partitioned tables, views and objects zdm does not manage that read the column.
 */
import type { RelationRef } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { stableStringify } from '../../model/canonical.js';
import { qualified } from '../../model/names.js';
import type { Column, Index } from '../../model/types.js';
import { displayType } from '../../model/types-text.js';
import { columnCollationSql } from '../../sql/columns.js';
import { at, lock, type PlanContext, rootTable, sqlStep, tableTouch } from '../context.js';
import { mapColumn, mapRelation, withOptional } from '../model-edit.js';
import { mentions } from '../reparse.js';
import { planCreateIndex } from './indexes.js';
import { viewsReading } from './views.js';

export function planCollationChange(ctx: PlanContext, table: RelationRef, from: Column, to: Column): void {
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const change = `${from.collation ?? 'default'} → ${to.collation ?? 'default'}`;
  const refuse = (why: string) =>
    ctx.issue(
      `column ${display}`,
      `changing the collation (${change}): ${why}`,
      docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, 'collation']),
    );
  const reason = collationRefusal(ctx, table, from, to);
  if (reason !== undefined) {
    refuse(reason);
    return;
  }
  const live = ctx.liveRelation(table)!;
  const desired = ctx.desiredRelation(table)!;
  const col = to.name;
  const keyed = (ix: Index) => ix.keys.some((k) => k.column === col && k.collation === undefined);
  const keyedLive = live.indexes.filter(keyed);
  // Indexes the desired state drops go in contract before the column changes: nothing to rebuild.
  const rebuilt = keyedLive.filter((ix) => desired.indexes.some((d) => d.name === ix.name));
  const collation = to.collation ?? 'default';
  for (const ix of rebuilt) {
    const collated: Index = {
      ...ix,
      keys: ix.keys.map((k) => (k.column === col && k.collation === undefined ? { ...k, collation } : k)),
    };
    planCreateIndex(ctx, {
      kind: 'createIndex',
      table,
      index: withOptional(collated, 'comment', desired.indexes.find((d) => d.name === ix.name)?.comment),
      replaces: ix,
    });
  }
  const touches = [tableTouch(table)];
  ctx.add(
    keyedLive.length === 0 ? at.expand('columns') : at.contract('columns'),
    sqlStep(
      `change collation of ${display} (${change}; no rewrite` +
        (rebuilt.length > 0
          ? `, its indexes already built with it: ${rebuilt.map((i) => i.name).join(', ')})`
          : keyedLive.length > 0
            ? ', after the indexes on it are dropped)'
            : ', no index to rebuild)'),
      [columnCollationSql(table, col, displayType(to.type), collation, ctx.schemas)],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) => {
      const withColumn = mapColumn(m, table, col, (c) => withOptional(c, 'collation', to.collation));
      // A key collation equal to the column's is the default: PostgreSQL does not print it.
      return mapRelation(withColumn, table, (r) => ({
        ...r,
        indexes: r.indexes.map((ix) => ({
          ...ix,
          keys: ix.keys.map((k) =>
            k.column === col && k.collation === collation ? withOptional(k, 'collation', undefined) : k,
          ),
        })),
      }));
    },
    touches,
  );
}

/** An index as far as its definition goes (what the diff compares). */
const indexShape = ({ valid: _v, comment: _c, with: _w, ...rest }: Index): string => stableStringify(rest);

/** Why the collation of the column cannot be changed without a rebuild under ACCESS EXCLUSIVE, or undefined. */
function collationRefusal(ctx: PlanContext, table: RelationRef, from: Column, to: Column): string | undefined {
  const col = to.name;
  if (from.type !== to.type) return 'the type changes too: change the type in one plan and the collation in the next';
  const unmanaged = ctx.unmanagedRefusal(table, col, 'change its collation');
  if (unmanaged !== undefined) return unmanaged;
  const views = viewsReading(ctx, table, col);
  if (views.length > 0) return `${views.join(', ')} read${views.length === 1 ? 's' : ''} the column: not supported yet`;
  const root = rootTable(ctx.live, table);
  const live = ctx.liveRelation(table);
  const desired = ctx.desiredRelation(table);
  if (root === undefined || live === undefined || desired === undefined) return 'the table is not found';
  if (live.partitionBy !== undefined || root !== live) return 'not supported yet on a partitioned table';
  const uses = (expr: string | undefined) => expr !== undefined && mentions(expr, col);
  if (root.columns.some((c) => c.name !== col && uses(c.generated?.expression))) {
    return 'a generated column uses the column: not supported yet';
  }
  const keys = [...(live.primaryKey ? [live.primaryKey] : []), ...live.uniqueConstraints];
  const key = keys.find((k) => k.columns.includes(col) || k.include.includes(col));
  if (key !== undefined) {
    return `key ${key.name} is over the column: PostgreSQL would rebuild its index under ACCESS EXCLUSIVE; not supported yet`;
  }
  const check = live.checks.find((c) => uses(c.expression));
  if (check !== undefined) return `check ${check.name} uses the column: not supported yet`;
  const fk = [
    ...live.foreignKeys.filter((f) => f.columns.includes(col)),
    ...ctx
      .liveForeignKeysTo(table)
      .map(([, f]) => f)
      .filter((f) => f.references.columns.includes(col)),
  ][0];
  if (fk !== undefined) return `foreign key ${fk.name} is over the column: not supported yet`;
  const exclusion = live.exclusionConstraints.find(
    (x) => x.elements.some((e) => e.key.column === col || uses(e.key.expression)) || uses(x.where),
  );
  if (exclusion !== undefined) return `exclusion constraint ${exclusion.name} uses the column: not supported yet`;
  for (const ix of live.indexes) {
    const usesColumn = ix.keys.some((k) => uses(k.expression)) || uses(ix.where) || ix.include.includes(col);
    if (!usesColumn) continue;
    // An index the desired state drops is gone (contract) before the column changes.
    if (!desired.indexes.some((d) => d.name === ix.name)) continue;
    return `index ${ix.name} uses the column in an expression, a predicate or INCLUDE: PostgreSQL would rebuild it under ACCESS EXCLUSIVE; not supported yet`;
  }
  for (const ix of live.indexes) {
    const d = desired.indexes.find((x) => x.name === ix.name);
    if (d === undefined || !ix.keys.some((k) => k.column === col && k.collation === undefined)) continue;
    if (indexShape(d) !== indexShape(ix)) {
      return `index ${ix.name} on the column changes too: change it in one plan and the collation in the next`;
    }
  }
  return undefined;
}
