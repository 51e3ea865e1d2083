/**
 * Columns of existing tables: add, drop, alter (type, default, NOT NULL, identity, generation).
 * New tables get their columns inline (tables.ts).
 */
import type { AddColumn, AlterColumn, DropColumn, RelationRef } from '../../diff/changes.js';
import { docPath } from '../../diff/paths.js';
import { isManagedKey } from '../../model/dependencies.js';
import { withoutDirectives } from '../../model/directives.js';
import { changedSettings, identitySettings } from '../../model/identity.js';
import { qualified } from '../../model/names.js';
import { objectKey, readObjectFingerprints } from '../../model/objects.js';
import { isRoutineKey } from '../../model/routines.js';
import type { Column } from '../../model/types.js';
import { displayType } from '../../model/types-text.js';
import {
  addColumnSql,
  addIdentitySql,
  alterIdentitySql,
  columnCompressionSql,
  columnOptionsSql,
  columnPropertiesSql,
  columnStatisticsSql,
  columnStorageSql,
  columnTypeSql,
  dropColumnSql,
  dropDefaultSql,
  dropExpressionSql,
  dropIdentitySql,
  dropNotNullSql,
  setDefaultSql,
  setExpressionSql,
  setGeneratedSql,
} from '../../sql/columns.js';
import { backfillBatchSql, isNullSql } from '../../sql/rows.js';
import { identityAfterMaxSql } from '../../sql/sequences.js';
import { at, type BackfillDraft, lock, type PlanContext, rootTable, sqlStep, tableTouch } from '../context.js';
import {
  chain,
  dropOwnedSequences,
  mapColumn,
  mapRelation,
  mapTable,
  noEdit,
  omit,
  withOptional,
} from '../model-edit.js';
import { anyExpression, baseType, mapExpressions, mentions, reparsedType, withoutCasts } from '../reparse.js';
import { hasBatchKey } from '../row-key.js';
import { storageParameterChange } from '../storage-parameters.js';
import type { Hazard } from '../types.js';
import { isVolatileDefault, unknownFunctions } from '../volatility.js';
import { planCollationChange } from './collation.js';
import { columnDependents, lockFirstSql, rebuildColumnDependents } from './column-dependents.js';
import { planNotNull } from './not-null.js';
import { NOT_NULL_NAMES_MAJOR, planNotNullRename } from './not-null-names.js';
import { rebuildViews, viewsReading } from './views.js';

/** How a new column of an existing table is added. */
export type AddColumnMode =
  /** One `ADD COLUMN`: nullable, or NOT NULL with a non-volatile default, generated, identity, or the table is empty. */
  | 'direct'
  /** Volatile default: add nullable, SET DEFAULT (new rows), batched backfill (old rows), then the NOT NULL recipe if wanted. */
  | 'volatileDefault'
  /** NOT NULL, no default, a `using` expression: add nullable, batched backfill with it, NOT NULL recipe. */
  | 'using'
  /** NOT NULL, no default, rows (maybe) present: refused. */
  | 'refuse';

export function addColumnMode(ctx: PlanContext, table: RelationRef, c: Column): AddColumnMode {
  if (c.generated !== undefined || c.identity !== undefined) return 'direct';
  if (c.default !== undefined && isVolatileDefault(c.default) && !ctx.isEmpty(table)) return 'volatileDefault';
  if (c.nullable || c.default !== undefined || ctx.isEmpty(table)) return 'direct';
  if (c.using !== undefined) return 'using';
  return 'refuse';
}

/** Whether `column` of `table` is NOT NULL once expand is done (a primary key may then be attached in expand). */
export function notNullAfterExpand(ctx: PlanContext, table: RelationRef, column: string): boolean {
  const live = ctx.liveColumn(table, column);
  if (live !== undefined) return !live.nullable;
  const desired = rootTable(ctx.desired, table)?.columns.find((c) => c.name === column);
  if (desired === undefined || desired.nullable) return false;
  return ctx.isNew(table) || addColumnMode(ctx, table, desired) === 'direct';
}

function backfillStep(ctx: PlanContext, table: RelationRef, column: string, expr: string, why: string): BackfillDraft {
  const root = rootTable(ctx.live, table);
  if (root?.partitionBy && !hasBatchKey(root)) {
    ctx.issue(
      `table ${qualified(table.schema, table.name)}`,
      `column ${column} needs a batched backfill (${why}), and a partitioned table can only be walked in batches by ` +
        'a primary key or a unique key over NOT NULL columns: declare one first (a plan of its own), or give the ' +
        'column a non-volatile default',
    );
  }
  const where = isNullSql(column);
  ctx.backfilledColumns.add(`${qualified(table.schema, table.name)}.${column}`);
  const triggers = ctx.userTriggersOn(table);
  const hazards: Hazard[] = triggers.length > 0 ? ['fires-user-triggers'] : [];
  const triggerNote = triggers.length > 0 ? `; fires trigger(s) ${triggers.map((t) => t.name).join(', ')}` : '';
  return {
    kind: 'backfill',
    summary: `backfill ${qualified(table.schema, table.name)}.${column} = ${expr} where NULL, in batches (${why})${triggerNote}`,
    table: { schema: table.schema, name: table.name },
    set: { [column]: expr },
    where,
    batchSize: ctx.input.batchSize,
    sql: [backfillBatchSql({ table, column, expression: expr, where, key: root?.primaryKey?.columns })],
    transaction: false,
    locks: [lock(table, 'ROW EXCLUSIVE')],
    hazards,
  };
}

function checkDefault(ctx: PlanContext, table: RelationRef, c: Column): void {
  if (c.default === undefined) return;
  const unknown = unknownFunctions(c.default);
  if (unknown.length > 0 && !isVolatileDefault(c.default)) {
    ctx.warn(
      `default of ${qualified(table.schema, table.name)}.${c.name} calls ${unknown.map((f) => `${f}()`).join(', ')}: ` +
        'zdm assumes it is not volatile; if it is, adding the column rewrites the table under ACCESS EXCLUSIVE',
    );
  }
}

export function planAddColumn(ctx: PlanContext, ch: AddColumn): void {
  const { table, column: c } = ch;
  const display = `${qualified(table.schema, table.name)}.${c.name}`;
  const touches = [tableTouch(table)];
  const added: Column = omit(withoutDirectives(c), 'comment');
  checkDefault(ctx, table, c);
  const mode = addColumnMode(ctx, table, c);
  switch (mode) {
    case 'refuse':
      ctx.issue(
        `column ${display}`,
        'a NOT NULL column without a default cannot be added to a table that may have rows: ' +
          'give it a default (or a `using` expression to fill the existing rows), or make it nullable',
        docPath(['schemas', table.schema, 'tables', table.name, 'columns', c.name]),
      );
      return;
    case 'direct': {
      const rewrite = (c.identity !== undefined || c.generated?.stored === true) && !ctx.isEmpty(table);
      const why =
        c.identity !== undefined
          ? 'an identity column fills every row'
          : 'a stored generated column computes every row';
      ctx.add(
        at.expand('columns'),
        sqlStep(
          rewrite
            ? `add column ${display} (rewrites the table under ACCESS EXCLUSIVE: ${why})`
            : `add column ${display}`,
          [addColumnSql(table, typed(c), { schemas: ctx.schemas }), ...columnPropertiesSql(table, c)],
          {
            locks: [lock(table, 'ACCESS EXCLUSIVE', rewrite ? 'scan' : 'instant')],
            hazards: rewrite ? ['table-rewrite', 'blocks-reads'] : [],
          },
        ),
        (m) => mapTable(m, table, (x) => ({ ...x, columns: [...x.columns, added] })),
        touches,
      );
      return;
    }
    case 'volatileDefault':
    case 'using': {
      const expr = mode === 'using' ? c.using! : c.default!;
      const sql = [addColumnSql(table, typed(c), { nullable: true, noDefault: true, schemas: ctx.schemas })];
      if (c.default !== undefined) sql.push(setDefaultSql(table, c.name, c.default));
      sql.push(...columnPropertiesSql(table, c));
      const nullableCol: Column = omit(omit({ ...added, nullable: true }, 'default'), 'notNullName');
      ctx.add(
        at.expand('columns'),
        sqlStep(
          c.default !== undefined
            ? `add column ${display} nullable, then SET DEFAULT ${c.default} for new rows (a volatile default in ADD COLUMN would rewrite the table)`
            : `add column ${display} nullable (filled by backfill)`,
          sql,
          { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
        ),
        (m) =>
          mapTable(m, table, (x) => ({
            ...x,
            columns: [...x.columns, withOptional(nullableCol, 'default', c.default)],
          })),
        touches,
      );
      ctx.add(
        at.backfill('data'),
        backfillStep(ctx, table, c.name, expr, mode === 'using' ? 'using' : 'volatile default'),
        (m) => m,
        touches,
      );
      if (!c.nullable) {
        planNotNull(ctx, table, c.name, {
          addAt: at.backfill('constraintsAfterData'),
          notNullName: c.notNullName,
        });
      }
      return;
    }
  }
}

/** The column with its type in the short spelling people write (`timestamptz`, `varchar(200)`). */
function typed(c: Column): Column {
  return { ...c, type: displayType(c.type) };
}

export function planDropColumn(ctx: PlanContext, ch: DropColumn): void {
  const { table, column } = ch;
  // Dropping a whole table drops its columns: nothing to do here then.
  if (ctx.desiredRelation(table) === undefined) return;
  // Views that read the column are changed or dropped before (techniques/views.ts, in contract's
  // first group); the policies, triggers and SQL-standard bodies the desired state keeps are taken
  // along (column-dependents.ts); objects zdm does not manage cannot be.
  const refusal = ctx.unmanagedRefusal(table, column.name, 'drop it', columnDependents(ctx, table, column.name));
  if (refusal !== undefined) {
    ctx.issue(
      `column ${qualified(table.schema, table.name)}.${column.name}`,
      refusal,
      docPath(['schemas', table.schema, 'tables', table.name]),
    );
    return;
  }
  const deps = rebuildColumnDependents(ctx, table, column.name, 'contract');
  ctx.add(
    at.contract('dropColumns'),
    sqlStep(
      `drop column ${qualified(table.schema, table.name)}.${column.name} and its data` + (deps ? `; ${deps.note}` : ''),
      [
        ...lockFirstSql(table, deps),
        ...(deps?.before ?? []),
        dropColumnSql(table, column.name),
        ...(deps?.after ?? []),
      ],
      { locks: [lock(table, 'ACCESS EXCLUSIVE'), ...(deps?.locks ?? [])], hazards: ['data-loss'] },
    ),
    // PostgreSQL drops the sequences the column owns with it.
    chain(
      (m) =>
        dropOwnedSequences(
          mapTable(m, table, (t) => ({ ...t, columns: t.columns.filter((c) => c.name !== column.name) })),
          table,
          column.name,
        ),
      deps?.edit ?? noEdit,
    ),
    [tableTouch(table), ...(deps?.touches ?? [])],
  );
}

/**
 * Storage strategy and compression method: catalog changes for the values written afterwards (no
 * rewrite, no scan), but under ACCESS EXCLUSIVE for an instant (measured: `SET STORAGE` may add a
 * TOAST table). Going back to the type's strategy (`SET STORAGE DEFAULT`) needs PostgreSQL 16.
 */
function planStorageAndCompression(ctx: PlanContext, table: RelationRef, from: Column, to: Column): void {
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const locks = [lock(table, 'ACCESS EXCLUSIVE')];
  const set = (fn: (col: Column) => Column) => (m: Parameters<typeof mapColumn>[0]) => mapColumn(m, table, to.name, fn);
  if (from.storage !== to.storage) {
    if (to.storage === undefined && ctx.input.serverMajor < 16) {
      ctx.issue(
        `column ${display}`,
        `going back to the type's storage strategy needs PostgreSQL 16 (SET STORAGE DEFAULT); the server is ${ctx.input.serverMajor}: write the strategy the column's type has by default`,
        docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, 'storage']),
      );
    } else {
      ctx.add(
        at.expand('columns'),
        sqlStep(
          `set the storage of ${display} to ${to.storage ?? "its type's default"} (values written from now on)`,
          [columnStorageSql(table, to.name, to.storage)],
          { locks },
        ),
        set((col) => withOptional(col, 'storage', to.storage)),
        [tableTouch(table)],
      );
    }
  }
  if (from.compression !== to.compression) {
    ctx.add(
      at.expand('columns'),
      sqlStep(
        `set the compression of ${display} to ${to.compression ?? 'the default'} (values written from now on)`,
        [columnCompressionSql(table, to.name, to.compression)],
        { locks },
      ),
      set((col) => withOptional(col, 'compression', to.compression)),
      [tableTouch(table)],
    );
  }
}

export function planAlterColumn(ctx: PlanContext, ch: AlterColumn): void {
  const { table, from, to } = ch;
  const c = to.name;
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const touches = [tableTouch(table)];
  const locks = [lock(table, 'ACCESS EXCLUSIVE')];
  const set = (fn: (col: Column) => Column) => (m: Parameters<typeof mapColumn>[0]) => mapColumn(m, table, to.name, fn);

  if (from.collation !== to.collation) {
    // Also refuses a type change that comes with it (two plans).
    planCollationChange(ctx, table, from, to);
    if (from.type !== to.type) return;
  } else if (from.type !== to.type) planTypeChange(ctx, table, from, to);

  // Attribute options and the statistics target: catalog changes under SHARE UPDATE EXCLUSIVE (reads
  // and writes go on), for the planner's statistics only.
  const options = storageParameterChange(from.options, to.options);
  const optionsSql = columnOptionsSql(table, c, options);
  if (optionsSql.length > 0) {
    ctx.add(
      at.expand('columns'),
      sqlStep(
        `set attribute options of ${display}: ${[
          ...Object.keys(options.set).map((k) => `${k} = ${options.set[k]}`),
          ...options.reset.map((k) => `reset ${k}`),
        ].join(', ')}`,
        optionsSql,
        { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE')] },
      ),
      set((col) => withOptional(col, 'options', to.options)),
      touches,
    );
  }
  if (from.statistics !== to.statistics) {
    ctx.add(
      at.expand('columns'),
      sqlStep(
        `set the statistics target of ${display} to ${to.statistics ?? 'the default'}`,
        [columnStatisticsSql(table, c, to.statistics)],
        { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE')] },
      ),
      set((col) => withOptional(col, 'statistics', to.statistics)),
      touches,
    );
  }
  planStorageAndCompression(ctx, table, from, to);

  if (!sameGenerated(from, to)) {
    if (to.generated === undefined) {
      ctx.add(
        at.expand('columns'),
        sqlStep(`make ${display} a plain column (keeps its values)`, [dropExpressionSql(table, c)], {
          locks,
        }),
        set((col) => omit(col, 'generated')),
        touches,
      );
    } else if (ctx.input.serverMajor < 17) {
      ctx.issue(
        `column ${display}`,
        `changing a generation expression needs PostgreSQL 17 (ALTER COLUMN … SET EXPRESSION); the server is ${ctx.input.serverMajor}`,
        docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, 'generated']),
      );
    } else {
      const rewrite = to.generated.stored && !ctx.isEmpty(table);
      ctx.add(
        at.expand('columns'),
        sqlStep(
          rewrite
            ? `change generation expression of ${display} (rewrites the table under ACCESS EXCLUSIVE: stored values are recomputed)`
            : `change generation expression of ${display}`,
          [setExpressionSql(table, c, to.generated.expression)],
          {
            locks: [lock(table, 'ACCESS EXCLUSIVE', rewrite ? 'scan' : 'instant')],
            hazards: rewrite ? ['table-rewrite', 'blocks-reads'] : [],
          },
        ),
        set((col) => ({ ...col, generated: to.generated! })),
        touches,
      );
    }
  }

  const identityAdded = from.identity === undefined && to.identity !== undefined;
  const nullableToNotNull = from.nullable && !to.nullable;
  // An identity column must be NOT NULL: with the NOT NULL recipe pending, identity waits for contract.
  if (identityAdded) planAddIdentity(ctx, table, from, to, nullableToNotNull);
  else if (from.identity !== undefined && to.identity === undefined) {
    ctx.add(
      at.contract('columns'),
      sqlStep(`drop identity of ${display} (its sequence goes; values stay)`, [dropIdentitySql(table, c)], {
        locks,
      }),
      set((col) => omit(omit(col, 'identity'), 'identityOptions')),
      touches,
    );
  } else if (from.identity !== to.identity && to.identity !== undefined) {
    ctx.add(
      at.expand('columns'),
      sqlStep(
        to.identity === 'always'
          ? `make ${display} GENERATED ALWAYS (inserts that give a value fail from now on)`
          : `make ${display} GENERATED BY DEFAULT`,
        [setGeneratedSql(table, c, to.identity)],
        { locks, hazards: to.identity === 'always' ? ['app-compat'] : [] },
      ),
      set((col) => ({ ...col, identity: to.identity! })),
      touches,
    );
  }
  if (from.identity !== undefined && to.identity !== undefined) planIdentityOptions(ctx, table, from, to);

  if (from.default !== to.default && !identityAdded) {
    if (to.default !== undefined) {
      checkDefault(ctx, table, to);
      ctx.add(
        at.expand('columns'),
        sqlStep(`set default of ${display} to ${to.default}`, [setDefaultSql(table, c, to.default)], {
          locks,
        }),
        set((col) => ({ ...col, default: to.default! })),
        touches,
      );
    } else {
      // The old application version may rely on the default: it goes once that version is gone.
      ctx.add(
        at.contract('columns'),
        sqlStep(`drop default of ${display}`, [dropDefaultSql(table, c)], { locks }),
        set((col) => omit(col, 'default')),
        touches,
      );
    }
  }

  // Before PostgreSQL 18 a name is refused (checkNotNullNamesSupported): none to give.
  const named = { notNullName: ctx.input.serverMajor >= NOT_NULL_NAMES_MAJOR ? to.notNullName : undefined };
  if (nullableToNotNull && to.identity === undefined) {
    if (to.using !== undefined && from.type === to.type) {
      ctx.add(at.backfill('data'), backfillStep(ctx, table, to.name, to.using, 'using'), (m) => m, touches);
      planNotNull(ctx, table, to.name, { addAt: at.backfill('constraintsAfterData'), ...named });
    } else {
      planNotNull(ctx, table, to.name, named);
    }
  } else if (nullableToNotNull) {
    planNotNull(ctx, table, to.name, named);
  } else if (!from.nullable && !to.nullable) {
    planNotNullRename(ctx, table, from, to);
  } else if (!from.nullable && to.nullable) {
    // A primary key column cannot drop NOT NULL while the key exists: wait until contract drops the key.
    const inLivePk = rootTable(ctx.live, table)?.primaryKey?.columns.includes(to.name) ?? false;
    ctx.add(
      inLivePk ? at.contract('columns') : at.expand('columns'),
      sqlStep(`drop NOT NULL of ${display}`, [dropNotNullSql(table, c)], { locks }),
      // The NOT NULL constraint goes, and its name with it.
      set((col) => omit({ ...col, nullable: true }, 'notNullName')),
      touches,
    );
  }
}

/**
 * A binary-coercible type change (the diff refuses anything else): a catalog change, no rewrite, no
 * index rebuild. PostgreSQL re-parses the expressions that use the column (checks, index keys and
 * predicates) from their text: when the base type changes (varchar → text, cidr → inet) the
 * implicit casts in them disappear, and the model after expand must say so to match what
 * introspection reads back.
 */
function planTypeChange(ctx: PlanContext, table: RelationRef, from: Column, to: Column): void {
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const path = docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, 'type']);
  const refuse = (why: string) => ctx.issue(`column ${display}`, why, path);
  const carried = columnDependents(ctx, table, to.name);
  const refusal = ctx.unmanagedRefusal(table, to.name, 'change its type', carried);
  if (refusal !== undefined) {
    refuse(refusal);
    return;
  }
  // A policy, trigger or function the desired state drops goes in contract: in expand it still
  // reads the column.
  const dropped = ctx.liveGraph
    .columnDependentsOf(objectKey('table', table.schema, table.name), to.name)
    .filter((k) => !carried.has(k) && (k.startsWith('policy ') || k.startsWith('trigger ') || isRoutineKey(k)))
    .filter((k) => isManagedKey(k) && (k.startsWith('policy ') || k in readObjectFingerprints(ctx.live)));
  if (dropped.length > 0) {
    const one = dropped.length === 1;
    refuse(
      `${dropped.join(', ')} depend${one ? 's' : ''} on the column, and the desired state drops ${one ? 'it' : 'them'} ` +
        `(in contract, after this type change in expand): PostgreSQL refuses to change the type under ${one ? 'it' : 'them'}; ` +
        `drop ${one ? 'it' : 'them'} in a plan of ${one ? 'its' : 'their'} own first`,
    );
    return;
  }
  const root = rootTable(ctx.live, table);
  if (root?.partitionBy?.columns.includes(to.name)) {
    refuse('the column is in the partition key: PostgreSQL refuses to change its type');
    return;
  }
  const uses = (expr: string | undefined) => expr !== undefined && mentions(expr, to.name);
  if (root?.columns.some((c) => c.name !== to.name && uses(c.generated?.expression))) {
    refuse('a generated column uses the column: PostgreSQL refuses to change its type');
    return;
  }
  let rewrite: ((expr: string) => string) | undefined;
  if (baseType(from.type) !== baseType(to.type)) {
    const cast = reparsedType(from.type, to.type);
    if (cast !== undefined) rewrite = (e) => withoutCasts(e, to.name, cast);
    else if (root !== undefined && anyExpression(root, uses)) {
      refuse(
        `changing ${from.type} → ${to.type} makes PostgreSQL re-parse the expressions that use the column with new casts; ` +
          'that is not supported yet (drop those checks or indexes first, or keep the type)',
      );
      return;
    }
  }
  // PostgreSQL refuses ALTER COLUMN … TYPE under a view that reads the column, even a catalog-only
  // one, and under a policy, a trigger or a SQL-standard body that does: each dropped (or emptied)
  // and created again, as the desired state has it, in the same transaction.
  const views = rebuildViews(ctx, viewsReading(ctx, table, from.name), 'expand');
  const deps = rebuildColumnDependents(ctx, table, to.name, 'expand');
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `change type of ${display} ${from.type} → ${to.type} (binary-coercible: no rewrite)` +
        (views ? `; ${views.note}` : '') +
        (deps ? `; ${deps.note}` : ''),
      [
        // The views first: a query of a view locks it before the table (see replace-column's swap).
        ...(views?.drop ?? []),
        ...lockFirstSql(table, deps),
        ...(deps?.before ?? []),
        columnTypeSql(table, to.name, displayType(to.type)),
        ...(views?.create ?? []),
        ...(deps?.after ?? []),
      ],
      {
        locks: [lock(table, 'ACCESS EXCLUSIVE'), ...(views?.locks ?? []), ...(deps?.locks ?? [])],
        hazards: views?.hazards ?? [],
      },
    ),
    chain(
      (m) => {
        const typed = mapColumn(m, table, to.name, (col) => ({ ...col, type: to.type }));
        return rewrite ? mapRelation(typed, table, (r) => mapExpressions(r, rewrite)) : typed;
      },
      views?.edit ?? noEdit,
      deps?.edit ?? noEdit,
    ),
    [tableTouch(table), ...(views?.touches ?? []), ...(deps?.touches ?? [])],
  );
}

/**
 * New options of an identity column's sequence (INCREMENT, CACHE, MAXVALUE, …): expand. They shape
 * the values of rows inserted from now on, which both application versions take as they come.
 * ACCESS EXCLUSIVE on the table for an instant.
 */
function planIdentityOptions(ctx: PlanContext, table: RelationRef, from: Column, to: Column): void {
  const was = identitySettings(from.type, from.identityOptions);
  const want = identitySettings(to.type, to.identityOptions);
  const fields = changedSettings(was, want);
  if (fields.length === 0) return;
  const what = fields.map((f) => `${f} ${String(was[f])} → ${String(want[f])}`);
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `change the identity sequence of ${qualified(table.schema, table.name)}.${to.name}: ${what.join(', ')}`,
      [alterIdentitySql(table, to.name, want, fields)],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) => mapColumn(m, table, to.name, (col) => withOptional(col, 'identityOptions', to.identityOptions)),
    [tableTouch(table)],
  );
}

function sameGenerated(a: Column, b: Column): boolean {
  return a.generated?.expression === b.generated?.expression && a.generated?.stored === b.generated?.stored;
}

/**
 * `ADD GENERATED … AS IDENTITY` on an existing column, and the identity's sequence moved past the
 * largest value in the same transaction: inserts right after it must not collide with old rows.
 */
function planAddIdentity(
  ctx: PlanContext,
  table: RelationRef,
  from: Column,
  to: Column,
  waitForNotNull: boolean,
): void {
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  const sql: string[] = [];
  if (from.default !== undefined) sql.push(dropDefaultSql(table, to.name));
  sql.push(addIdentitySql(table, to.name, to));
  sql.push(identityAfterMaxSql(table, to.name));
  const indexed = ctx.hasIndexLeadingWith(table, [to.name], 'live');
  const hazards: Hazard[] = indexed || ctx.isEmpty(table) ? [] : ['blocks-reads'];
  ctx.add(
    waitForNotNull ? at.contract('columns') : at.expand('columns'),
    sqlStep(
      `make ${display} an identity column and start its sequence after the largest value` +
        (hazards.length > 0 ? ' (max() scans the table under ACCESS EXCLUSIVE: no index leads with the column)' : ''),
      sql,
      { locks: [lock(table, 'ACCESS EXCLUSIVE', hazards.length > 0 ? 'scan' : 'instant')], hazards },
    ),
    (m) =>
      mapColumn(m, table, to.name, (col) =>
        withOptional({ ...omit(col, 'default'), identity: to.identity! }, 'identityOptions', to.identityOptions),
      ),
    [tableTouch(table)],
  );
}
