/**
 * Per-object fingerprints: the drift check's magnifying glass. A phase records the fingerprints of the
 * objects it touches (`Phase.objects`); when the live schema's fingerprint is not the one the phase
 * expects, comparing these per object says *what* drifted. The planner (which writes them) and apply
 * (which checks them) must use this one function.
 *
 * Keys are `<kind> <qualified name>`:
 *   `schema public`, `extension pgcrypto`, `table public.orders`, `enum public.order_status`,
 *   `domain public.email`, `sequence public.orders_id_seq`, `view public.active_customer`,
 *   `materializedView public.sales_by_region`, `function public.f(integer)`, `procedure public.p()`,
 *   `trigger t on public.orders` (routines.ts), `cast from public.a to public.b` (casts.ts).
 * A table's fingerprint covers its columns, constraints, indexes and partitions, a materialized
 * view's its indexes; a schema's only the schema itself (name, comment), not what it contains. The
 * same keys name the nodes of the dependency graph (dependencies.ts).
 */

import { canonicalizeForHash, memoized, sha256, stableStringify } from './canonical.js';
import { castKey } from './casts.js';
import { routineKey, triggerKey } from './routines.js';
import { collationKey, textSearchConfigurationKey } from './text-search.js';
import type { DatabaseModel, SchemaModel, Table } from './types.js';

/** Kinds of schema-qualified objects, as their keys spell them. */
export type SchemaObjectKind = 'enum' | 'domain' | 'compositeType' | 'sequence' | 'table' | 'view' | 'materializedView';

/** `table public.orders`: the key of a schema-qualified object (for fingerprints and the dependency graph). */
export function objectKey(kind: SchemaObjectKind, schema: string, name: string): string {
  return `${kind} ${schema}.${name}`;
}

/** A schema with nothing in it. */
export function emptySchema(name: string): SchemaModel {
  return {
    kind: 'schema',
    name,
    enums: [],
    domains: [],
    compositeTypes: [],
    sequences: [],
    tables: [],
    views: [],
    materializedViews: [],
    functions: [],
    triggers: [],
  };
}

const nameIndexes = new WeakMap<readonly { readonly name: string }[], Map<string, { readonly name: string }>>();

/**
 * The member of `xs` called `name`, found through an index built once per array (models are
 * immutable values): looking up each desired table among thousands of live ones stays linear.
 */
export function named<T extends { readonly name: string }>(xs: readonly T[] | undefined, name: string): T | undefined {
  if (xs === undefined) return undefined;
  let index = nameIndexes.get(xs);
  if (index === undefined) {
    index = new Map(xs.map((x) => [x.name, x]));
    nameIndexes.set(xs, index);
  }
  return index.get(name) as T | undefined;
}

/** A parent of INHERITS (`schema.name` in the model: the schema is the part before the first dot). */
export function inheritsParent(p: string): { readonly schema: string; readonly name: string } {
  const dot = p.indexOf('.');
  return { schema: p.slice(0, dot), name: p.slice(dot + 1) };
}

/** The attribute options of a column (`ALTER COLUMN … SET (…)`): the only two PostgreSQL accepts. */
export const COLUMN_OPTIONS: ReadonlySet<string> = new Set(['n_distinct', 'n_distinct_inherited']);

/** The schema apply keeps its journal in. It is not part of any user schema: fingerprints leave it out. */
export const JOURNAL_SCHEMA = 'zdm';

/**
 * The model without zdm's own journal schema. Every fingerprint that is compared with a live database
 * (plan `source.fingerprint`, `Phase.before`/`after`/`objects`) must be computed on this.
 */
export function withoutJournal(m: DatabaseModel): DatabaseModel {
  if (!m.schemas.some((s) => s.name === JOURNAL_SCHEMA)) return m;
  return { ...m, schemas: m.schemas.filter((s) => s.name !== JOURNAL_SCHEMA) };
}

/**
 * Value of `Phase.objects[key]` for an object that must not exist (yet): e.g. the table an expand
 * phase creates. Real fingerprints always start with `sha256:`.
 */
export const ABSENT = 'absent';

/** `sha256:…` of every object of the model, keyed `<kind> <qualified name>` (see the module comment). */
export function objectFingerprints(model: DatabaseModel): Record<string, string> {
  // A copy of the memoized record, so that no caller can change what the next one gets.
  return { ...cachedObjectFingerprints(model) };
}

/** objectFingerprints to read, not to change: the memoized record itself (frozen), no copy. */
export function readObjectFingerprints(model: DatabaseModel): Readonly<Record<string, string>> {
  return cachedObjectFingerprints(model);
}
const cachedObjectFingerprints = memoized((model: DatabaseModel) => Object.freeze(computeObjectFingerprints(model)));

function computeObjectFingerprints(model: DatabaseModel): Record<string, string> {
  const out: Record<string, string> = {};
  // Tables come as their memoized canonical text (see canonicalizeForHash): stableStringify writes it.
  eachObject(canonicalizeForHash(model), (key, value) => {
    out[key] = objectFingerprint(value);
  });
  return out;
}

/**
 * sha256 of an object's canonical text, memoized per object: a table (its memoized canonical text),
 * a trigger, … that a phase's model edits leave alone is the same object in every model of a plan,
 * so each model's record hashes only what the phase changed (a plan's four models of 10,000
 * tables hashed every object four times). Models are not changed once made.
 */
const objectFingerprint = (value: unknown): string =>
  value !== null && typeof value === 'object' ? memoizedObjectFingerprint(value) : sha256(stableStringify(value));
const memoizedObjectFingerprint = memoized((value: object) => sha256(stableStringify(value)));

/**
 * Calls `fn` with the key and value of every object of `m`: extensions, casts, each schema (its own
 * fields only, what its key's fingerprint covers) and every object in it, in model order.
 */
export function eachObject(m: DatabaseModel, fn: (key: string, value: unknown, schema?: string) => void): void {
  for (const e of m.extensions) fn(`extension ${e.name}`, e);
  for (const c of m.casts ?? []) fn(castKey(c), c);
  for (const s of m.schemas) {
    const {
      enums,
      domains,
      compositeTypes,
      sequences,
      tables,
      views,
      materializedViews,
      functions,
      triggers,
      textSearchConfigurations,
      collations,
      ...own
    } = s;
    fn(`schema ${s.name}`, own);
    for (const x of enums) fn(objectKey('enum', s.name, x.name), x, s.name);
    for (const x of domains) fn(objectKey('domain', s.name, x.name), x, s.name);
    for (const x of compositeTypes) fn(objectKey('compositeType', s.name, x.name), x, s.name);
    for (const x of sequences) fn(objectKey('sequence', s.name, x.name), x, s.name);
    for (const x of tables) fn(objectKey('table', s.name, x.name), x, s.name);
    for (const x of views) fn(objectKey('view', s.name, x.name), x, s.name);
    for (const x of materializedViews) fn(objectKey('materializedView', s.name, x.name), x, s.name);
    for (const x of functions) fn(routineKey(x), x, s.name);
    for (const x of triggers) fn(triggerKey(x), x, s.name);
    for (const x of textSearchConfigurations ?? []) fn(textSearchConfigurationKey(s.name, x.name), x, s.name);
    for (const x of collations ?? []) fn(collationKey(s.name, x.name), x, s.name);
  }
}

/**
 * What of a table others can need: its columns (their types, defaults, identity), its keys and
 * unique indexes (what a foreign key can reference), how it is partitioned (no partition), whom it
 * inherits from, whether it is logged. Its foreign keys, checks, other indexes, policies and
 * properties are left out: the rehearsal copies a table the plan does not change this way when only
 * what the plan changes needs it, so that a chain of foreign keys stops at the first table.
 */
export function stubTable(t: Table): Table {
  return {
    kind: 'table',
    schema: t.schema,
    name: t.name,
    unlogged: t.unlogged,
    columns: t.columns,
    ...(t.inherits !== undefined ? { inherits: t.inherits } : {}),
    ...(t.primaryKey !== undefined ? { primaryKey: t.primaryKey } : {}),
    uniqueConstraints: t.uniqueConstraints,
    checks: [],
    foreignKeys: [],
    exclusionConstraints: [],
    indexes: t.indexes.filter((i) => i.unique),
    ...(t.partitionBy !== undefined ? { partitionBy: t.partitionBy } : {}),
    partitions: [],
  };
}

/**
 * The part of `m` made of the objects `keep` names (keys as above): every extension and schema (their
 * own fields), and in each schema only the objects kept, the tables of `stubs` as `stubTable`
 * has them; dependencies from kept objects. A database
 * built from it and read back has the fingerprint of the part (lists emptied are left out as
 * introspection leaves them out). The rehearsal copies such a part of the live schema.
 */
export function subModel(
  m: DatabaseModel,
  keep: ReadonlySet<string>,
  stubs: ReadonlySet<string> = new Set(),
): DatabaseModel {
  const some = <T>(xs: readonly T[] | undefined, key: (x: T) => string): T[] | undefined => {
    const kept = xs?.filter((x) => keep.has(key(x)));
    return kept === undefined || kept.length === 0 ? undefined : kept;
  };
  const casts = some(m.casts, castKey);
  const { casts: _c, owners, liveOwners, ...rest } = m;
  const ownersOf = (o: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith('schema ') || keep.has(k)));
  return {
    ...rest,
    ...(casts !== undefined ? { casts } : {}),
    ...(owners !== undefined ? { owners: ownersOf(owners) } : {}),
    ...(liveOwners !== undefined ? { liveOwners: ownersOf(liveOwners) } : {}),
    schemas: m.schemas.map((s) => {
      const { textSearchConfigurations: ts0, collations: co0, ...own } = s;
      const ts = some(ts0, (x) => textSearchConfigurationKey(s.name, x.name));
      const co = some(co0, (x) => collationKey(s.name, x.name));
      const kept = <T extends { readonly name: string }>(kind: SchemaObjectKind, xs: readonly T[]): T[] =>
        xs.filter((x) => keep.has(objectKey(kind, s.name, x.name)));
      return {
        ...own,
        enums: kept('enum', s.enums),
        domains: kept('domain', s.domains),
        compositeTypes: kept('compositeType', s.compositeTypes),
        sequences: kept('sequence', s.sequences),
        tables: kept('table', s.tables).map((t) => (stubs.has(objectKey('table', s.name, t.name)) ? stubTable(t) : t)),
        views: kept('view', s.views),
        materializedViews: kept('materializedView', s.materializedViews),
        functions: s.functions.filter((x) => keep.has(routineKey(x))),
        triggers: s.triggers.filter((x) => keep.has(triggerKey(x))),
        ...(ts !== undefined ? { textSearchConfigurations: ts } : {}),
        ...(co !== undefined ? { collations: co } : {}),
      };
    }),
    ...(m.dependencies !== undefined ? { dependencies: m.dependencies.filter((d) => keep.has(d.from)) } : {}),
  };
}

export interface ObjectDifference {
  /** `table public.orders` */
  readonly object: string;
  /** `changed`: exists on both sides, differently; `missing`: expected, absent; `unexpected`: expected absent, exists. */
  readonly difference: 'changed' | 'missing' | 'unexpected';
}

/**
 * The objects of `expected` (a `Phase.objects` map, `ABSENT` for objects that must not exist) whose
 * live fingerprint differs. Objects the map does not mention are not compared.
 */
export function compareObjects(
  expected: Readonly<Record<string, string>>,
  live: Readonly<Record<string, string>>,
): ObjectDifference[] {
  const out: ObjectDifference[] = [];
  for (const object of Object.keys(expected).sort()) {
    const want = expected[object];
    const have = live[object];
    if (want === ABSENT) {
      if (have !== undefined) out.push({ object, difference: 'unexpected' });
    } else if (have === undefined) {
      out.push({ object, difference: 'missing' });
    } else if (have !== want) {
      out.push({ object, difference: 'changed' });
    }
  }
  return out;
}
