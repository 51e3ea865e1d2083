/**
 * Privileges (issue 12): compared only where the desired state manages them (a `grants` key on the
 * schema, table, column, sequence, function, procedure or type; a table's key manages its columns
 * too), against the live lists (where the live object is new: none, or for a function or type the
 * EXECUTE / USAGE to PUBLIC that CREATE gives it). One change per object.
 */
import { defaultPrivilegeKey, implicitDefaultPrivileges, sortDefaultPrivileges } from '../model/default-privileges.js';
import { compareGrants, DEFAULT_GRANTS, grantKey } from '../model/grants.js';
import { named } from '../model/objects.js';
import { routineKey } from '../model/routines.js';
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
    const liveRoutines = new Map((ls?.functions ?? []).map((r) => [routineKey(r), r]));
    for (const r of s.functions) {
      const { kind, schema, name, arguments: args } = r;
      add(
        { kind, schema, name, arguments: args },
        liveRoutines.get(routineKey(r))?.grants ?? DEFAULT_GRANTS.routine,
        r.grants,
      );
    }
    for (const [kind, list, liveList] of [
      ['enum', s.enums, ls?.enums],
      ['domain', s.domains, ls?.domains],
      ['compositeType', s.compositeTypes, ls?.compositeTypes],
    ] as const) {
      for (const t of list) {
        const lt = named<{ readonly name: string; readonly grants?: readonly Grant[] }>(liveList, t.name);
        add({ kind, schema: s.name, name: t.name }, lt?.grants ?? DEFAULT_GRANTS.type, t.grants);
      }
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
  // Default privileges (issue 12): managed as a whole where the desired state has the list; an
  // entry either side leaves out stands for PostgreSQL's default.
  if (desired.defaultPrivileges !== undefined) {
    const liveEntries = new Map((live.defaultPrivileges ?? []).map((e) => [defaultPrivilegeKey(e), e]));
    const desiredEntries = new Map(desired.defaultPrivileges.map((e) => [defaultPrivilegeKey(e), e]));
    const keys = sortDefaultPrivileges([...liveEntries.values(), ...desired.defaultPrivileges]).map(
      defaultPrivilegeKey,
    );
    for (const k of new Set(keys)) {
      const e = (desiredEntries.get(k) ?? liveEntries.get(k))!;
      const on = {
        kind: 'defaultPrivileges',
        role: e.role,
        ...(e.schema !== undefined ? { schema: e.schema } : {}),
        on: e.on,
      } as const;
      const implicit = implicitDefaultPrivileges(e);
      add(on, liveEntries.get(k)?.grants ?? implicit, desiredEntries.get(k)?.grants ?? implicit);
    }
  }
  return out;
}

/** The change that takes `on`'s privileges from `from` to `to`, or undefined when they are the same. */
export function grantChange(on: GrantTarget, from: readonly Grant[], to: readonly Grant[]): Change | undefined {
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
