/**
 * Owners (issue 12): `ALTER <kind> … OWNER TO role` in expand (group `owners`), after the objects
 * exist. On an object the plan creates it only hands the new object over (the role applying the
 * plan created it): no hazard. On an existing object it is hazard `app-compat`: the role that owned
 * it loses the owner's implicit privileges (every privilege, ALTER, DROP; PostgreSQL moves the
 * owner's own ACL entries to the new owner), and the running application version may be that role.
 *
 * Locks (measured from pg_locks, test/integration/owner-locks.test.ts, ../shared/pg-locks.md):
 * ALTER TABLE / VIEW / MATERIALIZED VIEW / SEQUENCE … OWNER TO and ALTER TYPE of a composite type
 * take ACCESS EXCLUSIVE on the relation (a table's indexes and OWNED BY sequences too, a
 * materialized view's indexes), for the statement only: lock timeout and retry, as for other
 * instant DDL. An enum, a domain and a schema take no relation lock; a function or procedure takes
 * an object lock on itself, which no query of it takes. Owners are not part of the fingerprints: the
 * steps leave the model as it is.
 */
import { type ChangeOwner, ownerTargetName } from '../../diff/changes.js';
import { type OwnerTarget, ownerOf } from '../../model/owners.js';
import { routineKey } from '../../model/routines.js';
import { alterOwnerSql } from '../../sql/owners.js';
import { at, lock, type PlanContext, sqlStep, type Touch, tableTouch } from '../context.js';
import type { LockInfo } from '../types.js';

function touchOf(on: OwnerTarget): Touch {
  switch (on.kind) {
    case 'schema':
      return { kind: 'schema', name: on.name };
    case 'function':
    case 'procedure':
      return { kind: on.kind, schema: on.schema, name: on.name, key: routineKey(on) };
    case 'table':
      return tableTouch(on);
    default:
      return { kind: on.kind, schema: on.schema, name: on.name };
  }
}

function locksOf(ctx: PlanContext, on: OwnerTarget): LockInfo[] {
  switch (on.kind) {
    case 'table': {
      // ALTER TABLE … OWNER TO takes the OWNED BY sequences along, under the same lock.
      const owned = (ctx.live.schemas.find((s) => s.name === on.schema)?.sequences ?? []).filter(
        (q) => q.ownedBy?.table === on.name && q.ownedBy.schema === on.schema,
      );
      return [lock(on, 'ACCESS EXCLUSIVE'), ...owned.map((q) => lock(q, 'ACCESS EXCLUSIVE'))];
    }
    case 'sequence':
    case 'view':
    case 'materializedView':
    case 'compositeType':
      return [lock(on, 'ACCESS EXCLUSIVE')];
    default:
      return [];
  }
}

export function planChangeOwner(ctx: PlanContext, ch: ChangeOwner): void {
  const { on, from, to } = ch;
  const name = ownerTargetName(on);
  ctx.add(
    at.expand('owners'),
    sqlStep(
      from === undefined ? `owner of new ${name}: ${to}` : `owner of ${name}: ${from} → ${to}`,
      [alterOwnerSql(on, to)],
      { locks: locksOf(ctx, on), ...(from !== undefined ? { hazards: ['app-compat'] } : {}) },
    ),
    (m) => m,
    [touchOf(on)],
  );
}

/**
 * The statement that gives an object dropped and created again (a view rebuilt, a materialized view
 * swapped in, a function re-created) back to the owner the desired state names, in the step that
 * re-creates it; none where the desired state does not manage its owner (the new object belongs to
 * the role that applies the plan).
 */
export function ownerAgainSql(ctx: PlanContext, on: OwnerTarget): string[] {
  const owner = ownerOf(ctx.desired, on);
  return owner === undefined ? [] : [alterOwnerSql(on, owner)];
}
