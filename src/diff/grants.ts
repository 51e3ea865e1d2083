/**
 * Privileges (issue 12): compared only where the desired state manages them (a `grants` key on the
 * schema, table, column or sequence; a table's key manages its columns too), against the live lists
 * (none where the live object is new). One change per object.
 */
import { compareGrants, grantKey } from '../model/grants.js';
import { named } from '../model/objects.js';
import type { DatabaseModel, Grant } from '../model/types.js';
import type { Change, GrantTarget } from './changes.js';

export function diffGrants(live: DatabaseModel, desired: DatabaseModel): Change[] {
  const out: Change[] = [];
  const add = (on: GrantTarget, from: readonly Grant[] | undefined, to: readonly Grant[] | undefined): void => {
    if (to === undefined) return;
    const c = grantChange(on, from ?? [], to);
    if (c !== undefined) out.push(c);
  };
  for (const s of desired.schemas) {
    const ls = named(live.schemas, s.name);
    add({ kind: 'schema', name: s.name }, ls?.grants, s.grants);
    for (const q of s.sequences) {
      add({ kind: 'sequence', schema: s.name, name: q.name }, named(ls?.sequences, q.name)?.grants, q.grants);
    }
    for (const t of s.tables) {
      const lt = named(ls?.tables, t.name);
      add({ kind: 'table', schema: s.name, name: t.name }, lt?.grants, t.grants);
      for (const c of t.columns) {
        const wanted = c.grants ?? (t.grants !== undefined ? [] : undefined);
        const lc = named(lt?.columns, c.name);
        add({ kind: 'column', schema: s.name, name: t.name, column: c.name }, lc?.grants, wanted);
      }
    }
  }
  return out;
}

function grantChange(on: GrantTarget, from: readonly Grant[], to: readonly Grant[]): Change | undefined {
  const had = new Map(from.map((g) => [grantKey(g), g]));
  const want = new Map(to.map((g) => [grantKey(g), g]));
  // New privileges, and existing ones that gain the grant option.
  const grant = to.filter((g) => {
    const h = had.get(grantKey(g));
    return h === undefined || (g.grantable === true && h.grantable !== true);
  });
  const revoke = from.filter((g) => !want.has(grantKey(g)));
  const revokeOption = from.filter(
    (g) => g.grantable === true && want.get(grantKey(g))?.grantable === undefined && want.has(grantKey(g)),
  );
  if (grant.length + revoke.length + revokeOption.length === 0) return undefined;
  return {
    kind: 'changeGrants',
    on,
    grant: grant.sort(compareGrants),
    revoke: revoke.sort(compareGrants),
    revokeOption: revokeOption.sort(compareGrants),
    to: [...to].sort(compareGrants),
  };
}
