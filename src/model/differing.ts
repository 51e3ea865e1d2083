/**
 * The parts of two models that differ: what the schema diff of `zdm plan` is written from. Writing
 * and diffing both whole models as YAML cost seconds and tens of MB on a schema of 10,000 tables
 * for a plan that changes a few; the objects both models have alike add nothing to the diff but
 * context lines.
 */

import { stableStringify } from './canonical.js';
import { isDefaultGrants } from './grants.js';
import { eachObject, objectKey, readObjectFingerprints, type SchemaObjectKind, subModel } from './objects.js';
import { routineKey, sortTriggers, triggerKey } from './routines.js';
import { collationKey, textSearchConfigurationKey } from './text-search.js';
import type { DatabaseModel, Grant, Routine, SchemaModel } from './types.js';

/**
 * `a` and `b` reduced to the objects (keys of objects.ts) whose YAML (src/desired/write.ts) can
 * differ: those on one side only, those whose fingerprint differs, and those that differ in what
 * fingerprints leave out but the YAML writes (writtenAlike, owners). Every extension and schema
 * (their own fields) is kept, as subModel keeps them, and with what changes how a kept object is
 * written: every type of its schema (a column's type is written unqualified when the schema has it)
 * and the routines of its name (an overloaded one is keyed by its signature).
 */
export function differingParts(a: DatabaseModel, b: DatabaseModel): { a: DatabaseModel; b: DatabaseModel } {
  const fa = readObjectFingerprints(a);
  const fb = readObjectFingerprints(b);
  const keep = new Set<string>();
  for (const k of Object.keys(fa)) if (fa[k] !== fb[k]) keep.add(k);
  for (const k of Object.keys(fb)) if (!(k in fa)) keep.add(k);
  const inA = new Map<string, Written>();
  eachObject(a, (k, v) => {
    if (!keep.has(k)) inA.set(k, v as Written);
  });
  eachObject(b, (k, v) => {
    const w = inA.get(k);
    if (w !== undefined && !writtenAlike(w, v as Written)) keep.add(k);
  });
  for (const k of new Set([...Object.keys(a.owners ?? {}), ...Object.keys(b.owners ?? {})])) {
    if (a.owners?.[k] !== b.owners?.[k]) keep.add(k);
  }
  for (const m of [a, b]) {
    for (const s of m.schemas) {
      for (const t of [...s.enums, ...s.domains, ...s.compositeTypes]) keep.add(`${t.kind} ${s.name}.${t.name}`);
    }
  }
  const routineNames = new Set<string>();
  for (const k of keep) {
    const r = /^(?:function|procedure|aggregate) ([^(]*)\(/.exec(k);
    if (r) routineNames.add(r[1]!);
  }
  if (routineNames.size > 0) {
    for (const m of [a, b]) {
      for (const s of m.schemas) {
        for (const r of s.functions) if (routineNames.has(`${s.name}.${r.name}`)) keep.add(routineKey(r));
      }
    }
  }
  anchor(a, b, keep);
  anchor(b, a, keep);
  return { a: subModel(a, keep), b: subModel(b, keep) };
}

/** The collections of a schema as the YAML writes them, each with the keys of its members in order. */
function collections(s: SchemaModel): string[][] {
  const keyed = <T extends { readonly name: string }>(kind: SchemaObjectKind, xs: readonly T[]) =>
    xs.map((x) => objectKey(kind, s.name, x.name)).sort();
  const routines = (kind: Routine['kind']) =>
    s.functions
      .filter((r) => r.kind === kind)
      .map(routineKey)
      .sort();
  return [
    keyed('sequence', s.sequences),
    keyed('table', s.tables),
    keyed('view', s.views),
    keyed('materializedView', s.materializedViews),
    routines('function'),
    routines('procedure'),
    routines('aggregate'),
    sortTriggers(s.triggers).map(triggerKey),
    (s.textSearchConfigurations ?? []).map((x) => textSearchConfigurationKey(s.name, x.name)).sort(),
    (s.collations ?? []).map((x) => collationKey(s.name, x.name)).sort(),
  ];
}

/**
 * Where `to` has kept members of a collection (tables of a schema, …) and `from` has members but
 * none kept, keeps the member of `from` next to where the first of `to` goes, one both have alike:
 * without it the collection's key (`tables:`), or the whole schema (`public: {}`), would read as
 * added or removed, where the diff of the whole models has them as context.
 */
function anchor(from: DatabaseModel, to: DatabaseModel, keep: Set<string>): void {
  const toSchemas = new Map(to.schemas.map((s) => [s.name, collections(s)]));
  const typesOf = (s: SchemaModel | undefined) => (s ? s.enums.length + s.domains.length + s.compositeTypes.length : 0);
  const toTypes = new Map(to.schemas.map((s) => [s.name, typesOf(s)]));
  for (const s of from.schemas) {
    const other = toSchemas.get(s.name);
    if (other === undefined) continue;
    const mine = collections(s);
    mine.forEach((keys, i) => {
      if (keys.length === 0 || keys.some((k) => keep.has(k))) return;
      const first = other[i]!.find((k) => keep.has(k));
      if (first === undefined) return;
      const before = keys.findLast((k) => k < first);
      keep.add(before ?? keys[0]!);
    });
    // The other side's kept members are all of collections this one has none of (or of types):
    // one member of any, so that the schema is not written `{}`.
    const kept = (c: string[][]) => c.some((keys) => keys.some((k) => keep.has(k)));
    if (typesOf(s) === 0 && !kept(mine) && (kept(other) || (toTypes.get(s.name) ?? 0) > 0)) {
      const some = mine.find((keys) => keys.length > 0);
      if (some !== undefined) keep.add(some[0]!);
    }
  }
}

interface Written {
  readonly kind?: string;
  readonly name?: string;
  readonly grants?: readonly Grant[];
  readonly renamedFrom?: unknown;
  readonly with?: object;
  readonly columns?: readonly (Written & {
    readonly using?: unknown;
    readonly reverse?: unknown;
    readonly options?: object;
  })[];
  readonly indexes?: readonly { readonly name: string; readonly valid?: boolean; readonly with?: object }[];
  readonly partitions?: readonly Written[];
  readonly checks?: readonly { readonly name: string }[];
}

/** Equal values: the same, or (rarely: both present, not the same object) the same JSON. */
const same = (x: unknown, y: unknown): boolean =>
  x === y || (x !== undefined && y !== undefined && stableStringify(x) === stableStringify(y));

/** Lists of equal length whose members are alike, in order. */
const alikeLists = <T>(xs: readonly T[] | undefined, ys: readonly T[] | undefined, alike: (x: T, y: T) => boolean) =>
  (xs?.length ?? 0) === (ys?.length ?? 0) &&
  (xs ?? []).every((x, i) => {
    const y = ys?.[i];
    return y !== undefined && alike(x, y);
  });

const sameKeys = (x: object | undefined, y: object | undefined): boolean =>
  alikeLists(Object.keys(x ?? {}), Object.keys(y ?? {}), (a, b) => a === b);

/** The privileges the YAML writes: PostgreSQL's default ones of a routine or type are left out. */
function writtenGrants(o: Written): readonly Grant[] | undefined {
  const kind =
    o.kind === 'function' || o.kind === 'procedure' || o.kind === 'aggregate'
      ? 'routine'
      : o.kind === 'enum' || o.kind === 'domain' || o.kind === 'compositeType'
        ? 'type'
        : undefined;
  return kind !== undefined && isDefaultGrants(kind, o.grants) ? undefined : o.grants;
}

/**
 * Whether two objects of a key (fingerprints alike) are alike in what their fingerprint leaves out
 * (canonical.ts) and their YAML writes: privileges, column order, desired-state directives, index
 * validity, the order of a domain's checks and of storage parameters.
 */
function writtenAlike(x: Written, y: Written): boolean {
  const relation = x.kind === 'table' || x.kind === 'partition';
  return (
    same(writtenGrants(x), writtenGrants(y)) &&
    same(x.renamedFrom, y.renamedFrom) &&
    sameKeys(x.with, y.with) &&
    alikeLists(x.indexes, y.indexes, (a, b) => a.name === b.name && a.valid === b.valid && sameKeys(a.with, b.with)) &&
    (!relation ||
      (alikeLists(
        x.columns,
        y.columns,
        (a, b) =>
          a.name === b.name &&
          same(a.grants, b.grants) &&
          same(a.renamedFrom, b.renamedFrom) &&
          same(a.using, b.using) &&
          same(a.reverse, b.reverse) &&
          sameKeys(a.options, b.options),
      ) &&
        alikeLists(x.partitions, y.partitions, writtenAlike))) &&
    (x.kind !== 'domain' || alikeLists(x.checks, y.checks, (a, b) => a.name === b.name))
  );
}
