/**
 * The lock `ALTER TABLE|INDEX … SET (…)` / `RESET (…)` takes: PostgreSQL takes the strongest mode any
 * of the parameters asks for (reloptions.c, AlterTableGetRelOptionsLockLevel), on the table for a
 * table's parameters and on the index alone for an index's. Measured with pg_locks on 14, 15 and 18
 * (test/integration/table-properties-locks.test.ts): SHARE UPDATE EXCLUSIVE for the parameters
 * below, which lets reads and writes go on; ACCESS EXCLUSIVE for the ones in ACCESS_EXCLUSIVE.
 * An extension's own parameters (bloom's `length`, …) are not known here: counted as ACCESS
 * EXCLUSIVE, which is what PostgreSQL gives a parameter that does not say.
 */
import type { LockMode } from './types.js';

const SHARE_UPDATE_EXCLUSIVE: ReadonlySet<string> = new Set([
  // heap (and, as toast.*, the TOAST table's)
  'fillfactor',
  'toast_tuple_target',
  'parallel_workers',
  'autovacuum_enabled',
  'autovacuum_vacuum_threshold',
  'autovacuum_vacuum_max_threshold',
  'autovacuum_vacuum_insert_threshold',
  'autovacuum_vacuum_scale_factor',
  'autovacuum_vacuum_insert_scale_factor',
  'autovacuum_analyze_threshold',
  'autovacuum_analyze_scale_factor',
  'autovacuum_vacuum_cost_delay',
  'autovacuum_vacuum_cost_limit',
  'autovacuum_freeze_min_age',
  'autovacuum_freeze_max_age',
  'autovacuum_freeze_table_age',
  'autovacuum_multixact_freeze_min_age',
  'autovacuum_multixact_freeze_max_age',
  'autovacuum_multixact_freeze_table_age',
  'log_autovacuum_min_duration',
  'vacuum_index_cleanup',
  'vacuum_truncate',
  'vacuum_max_eager_freeze_failure_rate',
  // btree
  'deduplicate_items',
]);

/** Built-in parameters whose change takes ACCESS EXCLUSIVE (every query on the relation waits, for an instant). */
export const ACCESS_EXCLUSIVE_PARAMETERS: ReadonlySet<string> = new Set([
  'user_catalog_table',
  // gin
  'fastupdate',
  'gin_pending_list_limit',
  // gist
  'buffering',
  // brin
  'pages_per_range',
  'autosummarize',
]);

/** The mode `ALTER … SET/RESET` of these parameters takes (names as written: `toast.x` counts as `x`). */
export function storageParameterLock(names: Iterable<string>): LockMode {
  for (const n of names) {
    const base = n.slice(n.indexOf('.') + 1);
    if (!SHARE_UPDATE_EXCLUSIVE.has(base)) return 'ACCESS EXCLUSIVE';
  }
  return 'SHARE UPDATE EXCLUSIVE';
}

/** What `ALTER … RESET (reset), SET (set)` must name to turn `from` into `to`. */
export interface StorageParameterChange {
  readonly reset: readonly string[];
  /** In the order to write them. */
  readonly set: Readonly<Record<string, string>>;
}

/**
 * The smallest RESET/SET that turns `from` into `to` with the parameters in `to`'s order. PostgreSQL
 * keeps parameters in the order set, and a SET removes the parameter and appends it again: setting
 * only the changed ones leaves the unchanged ones first; when that is not `to`'s order, all of `to`
 * is set (which may name a parameter whose change takes a stronger lock: storageParameterLock
 * looks at every name in the statement).
 */
export function storageParameterChange(
  from: Readonly<Record<string, string>> | undefined,
  to: Readonly<Record<string, string>> | undefined,
): StorageParameterChange {
  const a = from ?? {};
  const b = to ?? {};
  const reset = Object.keys(a).filter((n) => !Object.hasOwn(b, n));
  const changed = Object.keys(b).filter((n) => a[n] !== b[n]);
  const kept = Object.keys(a).filter((n) => Object.hasOwn(b, n) && !changed.includes(n));
  const order = [...kept, ...changed];
  const all = Object.keys(b);
  const inOrder = order.every((n, i) => n === all[i]);
  const names = inOrder ? changed : all;
  return { reset, set: Object.fromEntries(names.map((n) => [n, b[n]!])) };
}
