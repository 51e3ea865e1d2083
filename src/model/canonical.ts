import { createHash } from 'node:crypto';
import { sortedCasts } from './casts.js';
import { withoutDirectives } from './directives.js';
import { withoutGrants } from './grants.js';
import { sortRoutines, sortTriggers } from './routines.js';
import { sortedCollations, sortedTextSearchConfigurations } from './text-search.js';
import type {
  Column,
  CompositeType,
  DatabaseModel,
  Domain,
  EnumType,
  Index,
  MaterializedView,
  Partition,
  RelationParts,
  Routine,
  SchemaModel,
  Sequence,
  Table,
  View,
  ViewColumn,
} from './types.js';

const byName = <T extends { readonly name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
const sorted = <T extends { readonly name: string }>(xs: readonly T[]): T[] => [...xs].sort(byName);

function canonicalIndex(ix: Index): Omit<Index, 'valid'> {
  // Validity is live state (a failed CONCURRENTLY build), not something a desired state declares.
  const { valid: _valid, ...rest } = ix;
  return rest;
}

function canonicalParts<T extends RelationParts>(r: T): T {
  return {
    ...r,
    uniqueConstraints: sorted(r.uniqueConstraints),
    checks: sorted(r.checks),
    foreignKeys: sorted(r.foreignKeys),
    exclusionConstraints: sorted(r.exclusionConstraints),
    indexes: sorted(r.indexes).map(canonicalIndex) as unknown as Index[],
    partitions: [...r.partitions]
      .sort((a, b) => byName({ name: `${a.schema}.${a.name}` }, { name: `${b.schema}.${b.name}` }))
      .map((p) => canonicalParts<Partition>(p)),
  };
}

function canonicalTable(t: Table): Table {
  const { renamedFrom: _r, grants: _g, ...rest } = canonicalParts(t);
  const { policies, ...others } = rest;
  return {
    ...others,
    // Column order of an existing table is not a difference.
    columns: sorted(t.columns).map((c) => withoutGrants(withoutDirectives(c)) as Column),
    // Policies (issue 12): absent when there are none, so a table's fingerprint stays what it was.
    ...(policies !== undefined && policies.length > 0 ? { policies: sorted(policies) } : {}),
  };
}

/** True when two tables describe the same table (desired-only directives and validity ignored). */
export function tablesEqual(a: Table, b: Table): boolean {
  return a === b || canonicalTableText(a) === canonicalTableText(b);
}

/**
 * `compute`, run once per argument object: models and their tables are immutable values, and the
 * planner compares and hashes the same ones again and again. Held weakly: a dropped model frees its
 * entries.
 */
export function memoized<K extends object, V>(compute: (k: K) => V): (k: K) => V {
  const cache = new WeakMap<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) {
      v = compute(k);
      cache.set(k, v);
    }
    return v;
  };
}

/** The canonical table as text. */
const canonicalTableText = memoized((t: Table): string => stableStringify(canonicalTable(t)));

/** True when two domains describe the same domain (check order ignored). */
export function domainsEqual(a: Domain, b: Domain): boolean {
  const c = (d: Domain): Domain => ({ ...(withoutGrants(d) as Domain), checks: sorted(d.checks) });
  return stableStringify(c(a)) === stableStringify(c(b));
}

/**
 * A view's columns follow from its definition and what it reads: only their comments are the
 * view's own (a desired state lists only the columns it comments).
 */
function canonicalViewColumns(columns: readonly ViewColumn[]): ViewColumn[] {
  return sorted(columns.filter((c) => c.comment !== undefined)).map((c) => ({ name: c.name, comment: c.comment! }));
}

export function canonicalView(v: View): View {
  return { ...v, columns: canonicalViewColumns(v.columns) };
}

export function canonicalMaterializedView(v: MaterializedView): MaterializedView {
  return {
    ...v,
    columns: canonicalViewColumns(v.columns),
    indexes: sorted(v.indexes).map(canonicalIndex) as unknown as Index[],
  };
}

/**
 * JSON already written by stableStringify, which writes it as it is: a table's memoized canonical
 * text stands in for the table when a whole model is hashed, so that no table is serialized twice.
 * It keeps the table's name (not part of the JSON it stands for), by which its fingerprint is keyed.
 */
class Serialized {
  constructor(
    readonly json: string,
    readonly name: string,
  ) {}
}

/** A table in the hashed form of a model: its canonical text, written once per table object. */
const serializedTable = memoized((t: Table): Serialized => new Serialized(canonicalTableText(t), t.name));

function canonicalSchema(s: SchemaModel, table: (t: Table) => Table = canonicalTable): SchemaModel {
  const { textSearchConfigurations: _t, collations: _c, ...rest } = withoutGrants(s) as SchemaModel;
  const ts = sortedTextSearchConfigurations(s.textSearchConfigurations);
  const collations = sortedCollations(s.collations);
  return {
    ...rest,
    enums: sorted(s.enums).map((e) => withoutGrants(e) as EnumType),
    domains: sorted(s.domains).map((d) => ({ ...(withoutGrants(d) as Domain), checks: sorted(d.checks) })),
    compositeTypes: sorted(s.compositeTypes).map((t) => withoutGrants(t) as CompositeType),
    sequences: sorted(s.sequences).map((q) => withoutGrants(q) as Sequence),
    tables: sorted(s.tables).map(table),
    views: sorted(s.views).map(canonicalView),
    materializedViews: sorted(s.materializedViews).map(canonicalMaterializedView),
    functions: sortRoutines(s.functions).map((r) => withoutGrants(r) as Routine),
    triggers: sortTriggers(s.triggers),
    ...(ts !== undefined ? { textSearchConfigurations: ts } : {}),
    ...(collations !== undefined ? { collations } : {}),
  };
}

/**
 * The canonical model as fingerprints hash it: lists of kinds added after version 0.1 are left out
 * when empty, so the fingerprints of a schema without them stay what they were, and plans written
 * before stay valid.
 */
function hashedForm(m: DatabaseModel): unknown {
  return {
    ...m,
    schemas: m.schemas.map(({ views, materializedViews, compositeTypes, functions, triggers, ...rest }) => ({
      ...rest,
      ...(compositeTypes.length > 0 ? { compositeTypes } : {}),
      ...(views.length > 0 ? { views } : {}),
      ...(materializedViews.length > 0 ? { materializedViews } : {}),
      ...(functions.length > 0 ? { functions } : {}),
      ...(triggers.length > 0 ? { triggers } : {}),
    })),
  };
}

/**
 * The comparable form of a model: named sets sorted, desired-only directives (`renamedFrom`,
 * `using`, `reverse`) and live-only facts (index validity, dependents, dependencies, server version)
 * removed, column order ignored, view columns reduced to their comments. Two models describe the same
 * schema exactly when their canonical forms are deep-equal.
 */
export function canonicalize(m: DatabaseModel): DatabaseModel {
  return canonicalWith(m, canonicalTable);
}

/**
 * canonicalize, with each table as its memoized canonical text: the same JSON from stableStringify,
 * without a second copy and serialization of every table. Of a table only its `name` may be read
 * here; the rest is for stableStringify.
 */
export function canonicalizeForHash(m: DatabaseModel): DatabaseModel {
  return canonicalWith(m, serializedTable as unknown as (t: Table) => Table);
}

function canonicalWith(m: DatabaseModel, table: (t: Table) => Table): DatabaseModel {
  const casts = sortedCasts(m.casts);
  return {
    kind: 'database',
    extensions: sorted(m.extensions).map(({ version: _v, installedVersion: _i, ...e }) => e),
    schemas: sorted(m.schemas).map((s) => canonicalSchema(s, table)),
    ...(casts !== undefined ? { casts } : {}),
  };
}

/**
 * JSON with object keys sorted at every level: the byte form that fingerprints hash. (Keys sorted
 * by UTF-16 code units, as `Array.prototype.sort` does; `undefined` members left out.) Written as
 * loops over one growing string: planning a large schema spends much of its time here.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Serialized) return value.json;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      // As `map(stableStringify).join(',')` did: an undefined member prints as nothing.
      if (v !== undefined) out += stableStringify(v) ?? '';
    }
    return `${out}]`;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(k)}:${stableStringify(v)}`;
  }
  return `${out}}`;
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** `sha256:<hex>` of the canonical model: equal models, equal fingerprints. */
export function fingerprint(m: DatabaseModel): string {
  return sha256(canonicalText(m));
}

/** The canonical model as text. */
const canonicalText = memoized((m: DatabaseModel): string => stableStringify(hashedForm(canonicalizeForHash(m))));

export function modelsEqual(a: DatabaseModel, b: DatabaseModel): boolean {
  return a === b || canonicalText(a) === canonicalText(b);
}
