/**
 * Properties of existing tables and partitions: storage parameters (of the relation and of its
 * indexes), row level security and replica identity. A new relation gets its own in its creation
 * step (tables.ts). Each is one statement under lock_timeout, retried; which phase it belongs to
 * follows from what the application versions see between the phases:
 *
 * - Storage parameters: expand. They change how rows are stored and vacuumed, never what a query
 *   returns. SHARE UPDATE EXCLUSIVE on the table (reads and writes go on), on the index alone for an
 *   index's; a few take ACCESS EXCLUSIVE for an instant (storage-parameters.ts). A parameter only an
 *   index build reads (BRIN's pages_per_range) rebuilds the index instead (the diff says so).
 * - ENABLE / FORCE ROW LEVEL SECURITY on: contract, `app-compat`. From then on queries see only the
 *   rows the table's policies allow (with FORCE, also the owner's): the old application version,
 *   which may not set what the policies read, must be gone; the new one runs with and without them.
 * - … off: expand, `app-compat`. The new version must never run under policies it does not expect;
 *   the old one, still running, may rely on them to hide rows.
 * - REPLICA IDENTITY: what logical replication logs of a row's old version. Expand when the change
 *   only adds to it (to FULL, or from NOTHING) and its index exists already; contract otherwise
 *   (consumers of the old version's changes may rely on what it logged), after the keys and indexes
 *   it may use are built and before indexes are dropped. To NOTHING, or to DEFAULT on a table
 *   without a primary key: `app-compat`, since UPDATE and DELETE fail on such a table while a
 *   publication replicates them.
 *
 * Every one but the storage parameters takes ACCESS EXCLUSIVE on the table for an instant
 * (test/integration/table-properties-locks.test.ts proves the modes from pg_locks).
 */
import type {
  RelationRef,
  SetClusterOn,
  SetReplicaIdentity,
  SetRowLevelSecurity,
  SetStorageParameters,
} from '../../diff/changes.js';
import { replicaIdentityText } from '../../diff/changes.js';
import { qualified } from '../../model/names.js';
import type { ReplicaIdentity } from '../../model/types.js';
import { clusterOnSql, replicaIdentitySql, rowLevelSecuritySql, setStorageParametersSql } from '../../sql/tables.js';
import { at, lock, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapRelation, withOptional } from '../model-edit.js';
import { storageParameterChange, storageParameterLock } from '../storage-parameters.js';
import type { Hazard, LockInfo } from '../types.js';

const name = (r: RelationRef) => qualified(r.schema, r.name);

export function planSetStorageParameters(ctx: PlanContext, ch: SetStorageParameters): void {
  const { table, index } = ch;
  const target: RelationRef = index === undefined ? table : { schema: table.schema, name: index };
  const change = storageParameterChange(ch.from, ch.to);
  const named = [...change.reset, ...Object.keys(change.set)];
  const what = [
    ...Object.keys(change.set).map((k) => `${k} = ${change.set[k]}`),
    ...change.reset.map((k) => `reset ${k}`),
  ];
  ctx.add(
    at.expand('tableOptions'),
    sqlStep(
      `set storage parameters of ${index === undefined ? '' : 'index '}${name(target)}: ${what.join(', ')}`,
      [setStorageParametersSql(index === undefined ? 'TABLE' : 'INDEX', target, change)],
      { locks: [lock(target, storageParameterLock(named))] },
    ),
    (m) =>
      mapRelation(m, table, (r) =>
        index === undefined
          ? withOptional(r, 'with', ch.to)
          : { ...r, indexes: r.indexes.map((i) => (i.name === index ? withOptional(i, 'with', ch.to) : i)) },
      ),
    [tableTouch(table)],
  );
}

const RLS_SUMMARY: Readonly<Record<SetRowLevelSecurity['setting'], Readonly<Record<'on' | 'off', string>>>> = {
  enable: {
    on: 'enable row level security on {t} (from now on queries see only the rows its policies allow; its owner and BYPASSRLS roles excepted)',
    off: 'disable row level security on {t} (its policies stop hiding rows)',
  },
  force: {
    on: 'force row level security on {t} (its policies apply to its owner too)',
    off: 'stop forcing row level security on {t} (its owner sees every row again)',
  },
};

export function planSetRowLevelSecurity(ctx: PlanContext, ch: SetRowLevelSecurity): void {
  const { table, setting, on } = ch;
  const key = setting === 'enable' ? 'rowLevelSecurity' : 'forceRowLevelSecurity';
  ctx.add(
    on ? at.contract('tableOptions') : at.expand('tableOptions'),
    sqlStep(
      RLS_SUMMARY[setting][on ? 'on' : 'off'].replace('{t}', name(table)),
      [rowLevelSecuritySql(table, setting, on)],
      {
        locks: [lock(table, 'ACCESS EXCLUSIVE')],
        hazards: ['app-compat'],
      },
    ),
    (m) => mapRelation(m, table, (r) => withOptional(r, key, on ? true : undefined)),
    [tableTouch(table)],
  );
}

/** Whether the live relation has, under this name, an index or key that the desired state keeps. */
function liveKeyOrIndex(ctx: PlanContext, table: RelationRef, index: string): boolean {
  const r = ctx.liveRelation(table);
  if (r === undefined) return false;
  return (
    r.primaryKey?.name === index ||
    r.uniqueConstraints.some((u) => u.name === index) ||
    r.indexes.some((i) => i.name === index && i.valid)
  );
}

/** Only adds to what is logged of an old row: to FULL, or from NOTHING. */
const onlyAdds = (from: ReplicaIdentity | undefined, to: ReplicaIdentity | undefined): boolean =>
  to?.kind === 'full' || from?.kind === 'nothing';

export function planSetReplicaIdentity(ctx: PlanContext, ch: SetReplicaIdentity): void {
  const { table, from, to } = ch;
  const indexReady = to?.kind !== 'index' || liveKeyOrIndex(ctx, table, to.index);
  const breaksWrites =
    to?.kind === 'nothing' || (to === undefined && ctx.desiredRelation(table)?.primaryKey === undefined);
  const hazards: Hazard[] = breaksWrites ? ['app-compat'] : [];
  const locks: LockInfo[] = [lock(table, 'ACCESS EXCLUSIVE')];
  if (to?.kind === 'index') locks.push(lock({ schema: table.schema, name: to.index }, 'SHARE'));
  ctx.add(
    indexReady && onlyAdds(from, to) ? at.expand('tableOptions') : at.contract('tableOptions'),
    sqlStep(
      `set replica identity of ${name(table)} to ${replicaIdentityText(to)} (was ${replicaIdentityText(from)})` +
        (breaksWrites
          ? ': logical replication gets no old key, so UPDATE and DELETE fail while a publication replicates them'
          : ''),
      [replicaIdentitySql(table, to)],
      { locks, hazards },
    ),
    (m) => mapRelation(m, table, (r) => withOptional(r, 'replicaIdentity', to)),
    [tableTouch(table)],
  );
}

/**
 * CLUSTER ON marks the index a bare `CLUSTER` uses: a catalog change under SHARE UPDATE EXCLUSIVE on
 * the table and on that index (reads and writes go on; measured in test/integration/table-properties-locks.test.ts). zdm never
 * runs CLUSTER itself. On an index that exists now it goes in expand; on one this plan builds, in
 * contract, once it is there.
 */
export function planSetClusterOn(ctx: PlanContext, ch: SetClusterOn): void {
  const { table, from, to } = ch;
  const ready = to === undefined || liveKeyOrIndex(ctx, table, to);
  ctx.add(
    ready ? at.expand('tableOptions') : at.contract('tableOptions'),
    sqlStep(
      to === undefined
        ? `set ${name(table)} without cluster (was clustered on ${from})`
        : `cluster ${name(table)} on ${to}${from !== undefined ? ` (was ${from})` : ''}: marks the index, reorders no row`,
      [clusterOnSql(table, to)],
      {
        locks: [
          lock(table, 'SHARE UPDATE EXCLUSIVE'),
          ...(to !== undefined ? [lock({ schema: table.schema, name: to }, 'SHARE UPDATE EXCLUSIVE')] : []),
        ],
      },
    ),
    (m) => mapRelation(m, table, (r) => withOptional(r, 'clusterOn', to)),
    [tableTouch(table)],
  );
}
