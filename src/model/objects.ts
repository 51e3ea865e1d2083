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
import type { DatabaseModel, SchemaModel } from './types.js';

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
  // Tables come as their memoized canonical text (see canonicalizeForHash): stableStringify writes it.
  const m = canonicalizeForHash(model);
  const out: Record<string, string> = {};
  const put = (key: string, value: unknown): void => {
    out[key] = sha256(stableStringify(value));
  };
  for (const e of m.extensions) put(`extension ${e.name}`, e);
  for (const c of m.casts ?? []) put(castKey(c), c);
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
    put(`schema ${s.name}`, own);
    for (const x of enums) put(objectKey('enum', s.name, x.name), x);
    for (const x of domains) put(objectKey('domain', s.name, x.name), x);
    for (const x of compositeTypes) put(objectKey('compositeType', s.name, x.name), x);
    for (const x of sequences) put(objectKey('sequence', s.name, x.name), x);
    for (const x of tables) put(objectKey('table', s.name, x.name), x);
    for (const x of views) put(objectKey('view', s.name, x.name), x);
    for (const x of materializedViews) put(objectKey('materializedView', s.name, x.name), x);
    for (const x of functions) put(routineKey(x), x);
    for (const x of triggers) put(triggerKey(x), x);
    for (const x of textSearchConfigurations ?? []) put(textSearchConfigurationKey(s.name, x.name), x);
    for (const x of collations ?? []) put(collationKey(s.name, x.name), x);
  }
  return out;
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
