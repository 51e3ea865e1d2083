/**
 * Owners (issue 12): compared only where the desired state manages them (an `owner:` key), against
 * the live owner. An object the plan creates has no live owner yet: it will belong to the role that
 * applies the plan, so its `owner:` is always a change (the statement is a no-op when the two agree).
 */
import { named } from '../model/objects.js';
import { liveOwnerOf, ownerOf, ownerTargets } from '../model/owners.js';
import type { DatabaseModel } from '../model/types.js';
import type { Change } from './changes.js';

export function diffOwners(live: DatabaseModel, desired: DatabaseModel): Change[] {
  if (desired.owners === undefined) return [];
  const out: Change[] = [];
  for (const s of desired.schemas) {
    for (const on of ownerTargets(s)) {
      const to = ownerOf(desired, on);
      if (to === undefined) continue;
      // A renamed table (`renamedFrom`) is renamed in expand before its owner changes.
      const was = on.kind === 'table' ? named(s.tables, on.name)?.renamedFrom : undefined;
      const from = liveOwnerOf(live, was !== undefined ? { ...on, name: was } : on);
      if (from !== to) out.push({ kind: 'changeOwner', on, ...(from !== undefined ? { from } : {}), to });
    }
  }
  return out;
}
