import { createHash } from 'node:crypto';
import { sortedCasts } from './casts.js';
import { withoutGrants } from './grants.js';
import { sortRoutines, sortTriggers } from './routines.js';
import { sortedCollations, sortedTextSearchConfigurations } from './text-search.js';
import type {
  CompositeType,
  DatabaseModel,
  Domain,
  EnumType,
  Index,
  MaterializedView,
  Partition,
  Routine,
  SchemaModel,
  Sequence,
  Table,
  Trigger,
  View,
  ViewColumn,
} from './types.js';

const byName = <T extends { readonly name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
const sorted = <T extends { readonly name: string }>(xs: readonly T[]): T[] => [...xs].sort(byName);

/**
 * How a member of an object appears in the canonical form: `null`, left out; a list rule, the list
 * sorted by `order` (each element shaped by `each`), left out when empty if `dropEmpty`. A member
 * without a rule is kept as it is.
 */
interface ListRule {
  readonly order: (a: never, b: never) => number;
  readonly each?: Shape;
  readonly dropEmpty?: true;
}
type Shape = ReadonlyMap<string, ListRule | null>;

const byQualifiedName = (a: Partition, b: Partition): number =>
  byName({ name: `${a.schema}.${a.name}` }, { name: `${b.schema}.${b.name}` });

// Validity is live state (a failed CONCURRENTLY build), not something a desired state declares.
const INDEX_SHAPE: Shape = new Map([['valid', null]]);

const PARTS_RULES: [string, ListRule][] = [
  ['uniqueConstraints', { order: byName }],
  ['checks', { order: byName }],
  ['foreignKeys', { order: byName }],
  ['exclusionConstraints', { order: byName }],
  ['indexes', { order: byName, each: INDEX_SHAPE }],
];
const PARTITION_SHAPE: Shape = new Map<string, ListRule | null>([
  ...PARTS_RULES,
  ['partitions', { order: byQualifiedName, each: new Map() }],
]);
// A partition's partitions are shaped as the partition is.
(PARTITION_SHAPE.get('partitions') as { each: Shape }).each = PARTITION_SHAPE;

/** Desired-only directives (directives.ts) and privileges (compared by src/diff/grants.ts alone). */
const COLUMN_SHAPE: Shape = new Map([
  ['renamedFrom', null],
  ['using', null],
  ['reverse', null],
  ['grants', null],
]);

const TABLE_SHAPE: Shape = new Map<string, ListRule | null>([
  ...PARTITION_SHAPE,
  ['renamedFrom', null],
  ['grants', null],
  // Column order of an existing table is not a difference.
  ['columns', { order: byName, each: COLUMN_SHAPE }],
  // Policies (issue 12): absent when there are none, so a table's fingerprint stays what it was.
  ['policies', { order: byName, dropEmpty: true }],
]);

/** Whether the canonical form keeps a member of value `v` under `rule` (its rule in the shape). */
const kept = (rule: ListRule | null | undefined, v: unknown): boolean =>
  v !== undefined && rule !== null && !(rule?.dropEmpty && (v as readonly unknown[]).length === 0);

const sortedBy = (xs: readonly unknown[], rule: ListRule): unknown[] =>
  [...xs].sort(rule.order as (a: unknown, b: unknown) => number);

/** `o` in its canonical form, as a new object (what canonicalize returns). */
function shapedCopy<T extends object>(o: T, shape: Shape): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const rule = shape.get(k);
    if (!kept(rule, v)) continue;
    if (!rule) {
      out[k] = v;
      continue;
    }
    const { each } = rule;
    const list = sortedBy(v as readonly unknown[], rule);
    out[k] = each ? list.map((x) => shapedCopy(x as object, each)) : list;
  }
  return out as T;
}

/**
 * Writes `o` in its canonical form as stableStringify writes shapedCopy(o, shape), without making
 * the copy: a table's canonical text is written for every table of both models, and the copies
 * were most of what a large plan allocated.
 */
function writeShaped(o: object, shape: Shape, out: Sink): void {
  const keys = Object.keys(o).sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    const v = (o as Record<string, unknown>)[k];
    const rule = shape.get(k);
    if (!kept(rule, v)) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    if (!rule) {
      writeStable(v, out);
      continue;
    }
    out.push('[');
    const list = sortedBy(v as readonly unknown[], rule);
    for (let j = 0; j < list.length; j++) {
      if (j > 0) out.push(',');
      const x = list[j];
      if (x === undefined) continue;
      if (rule.each) writeShaped(x as object, rule.each, out);
      else writeStable(x, out);
    }
    out.push(']');
  }
  out.push('}');
}

/**
 * stableStringify of an object without some of its top-level keys, written without copying it:
 * `textWithout('comment')(x)` is `stableStringify` of x's other members.
 */
export function textWithout(...keys: string[]): (o: object) => string {
  const shape: Shape = new Map(keys.map((k) => [k, null]));
  return (o) => {
    const out: string[] = [];
    writeShaped(o, shape, out);
    return out.join('');
  };
}

function canonicalIndex(ix: Index): Omit<Index, 'valid'> {
  return shapedCopy(ix, INDEX_SHAPE);
}

function canonicalTable(t: Table): Table {
  return shapedCopy(t, TABLE_SHAPE);
}

/** True when two tables describe the same table (desired-only directives and validity ignored). */
export function tablesEqual(a: Table, b: Table): boolean {
  if (a === b) return true;
  const ta = canonicalTableText(a);
  const tb = canonicalTableText(b);
  if (ta !== tb) return false;
  // Equal tables (a desired state is mostly tables written as the live ones) share one text: on
  // 10,000 tables the second copy was 15 MB held to the end of the plan.
  canonicalTableText.cache.set(b, ta);
  return true;
}

/**
 * `compute`, run once per argument object: models and their tables are immutable values, and the
 * planner compares and hashes the same ones again and again. Held weakly: a dropped model frees its
 * entries.
 */
export function memoized<K extends object, V>(compute: (k: K) => V): ((k: K) => V) & { readonly cache: WeakMap<K, V> } {
  const cache = new WeakMap<K, V>();
  const get = (k: K): V => {
    let v = cache.get(k);
    if (v === undefined) {
      v = compute(k);
      cache.set(k, v);
    }
    return v;
  };
  // The cache itself, for a caller that knows an argument's value already (tablesEqual).
  return Object.assign(get, { cache });
}

/** The canonical table as text. */
const canonicalTableText = memoized((t: Table): string => {
  const out: string[] = [];
  writeShaped(t, TABLE_SHAPE, out);
  return out.join('');
});

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
 * JSON already written by stableStringify, which writes it as it is: an object's memoized canonical
 * text stands in for the object when a whole model is hashed, so that no object is serialized twice
 * (a plan hashes the live model, the model after each phase and the desired one; the objects a
 * phase leaves alone are the same objects in each). It keeps the members of the object its key
 * (objects.ts) is made of (not part of the JSON it stands for), by which its fingerprint is keyed.
 */
class Serialized {
  readonly name: string;
  readonly kind?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly arguments?: unknown;
  constructor(
    readonly json: string,
    of: { readonly name: string; readonly kind?: string; readonly schema?: string; readonly table?: string },
  ) {
    this.name = of.name;
    if (of.kind !== undefined) this.kind = of.kind;
    if (of.schema !== undefined) this.schema = of.schema;
    if (of.table !== undefined) this.table = of.table;
    if ('arguments' in of) this.arguments = of.arguments;
  }
}

/** A table in the hashed form of a model: its canonical text, written once per table object. */
const serializedTable = memoized((t: Table): Serialized => new Serialized(canonicalTableText(t), t));

/** An object of a schema in the hashed form of a model: its canonical form's text, written once per object. */
const serializedAs = <T extends { readonly name: string }>(canonical: (x: T) => unknown) =>
  memoized((x: T): Serialized => new Serialized(stableStringify(canonical(x)), x));
const canonicalDomain = (d: Domain): Domain => ({ ...(withoutGrants(d) as Domain), checks: sorted(d.checks) });
const HASHED = {
  enum: serializedAs((e: EnumType) => withoutGrants(e)),
  domain: serializedAs(canonicalDomain),
  compositeType: serializedAs((t: CompositeType) => withoutGrants(t)),
  sequence: serializedAs((q: Sequence) => withoutGrants(q)),
  view: serializedAs(canonicalView),
  materializedView: serializedAs(canonicalMaterializedView),
  routine: serializedAs((r: Routine) => withoutGrants(r)),
  trigger: serializedAs((t: Trigger) => t),
};

function canonicalSchema(s: SchemaModel, forHash = false): SchemaModel {
  const { textSearchConfigurations: _t, collations: _c, ...rest } = withoutGrants(s) as SchemaModel;
  const ts = sortedTextSearchConfigurations(s.textSearchConfigurations);
  const collations = sortedCollations(s.collations);
  // The hashed form has each object as its memoized text (Serialized), which stableStringify writes.
  const as = <T, C>(canonical: (x: T) => C, hashed: (x: T) => Serialized): ((x: T) => C) =>
    forHash ? (hashed as unknown as (x: T) => C) : canonical;
  return {
    ...rest,
    enums: sorted(s.enums).map(as((e) => withoutGrants(e) as EnumType, HASHED.enum)),
    domains: sorted(s.domains).map(as(canonicalDomain, HASHED.domain)),
    compositeTypes: sorted(s.compositeTypes).map(as((t) => withoutGrants(t) as CompositeType, HASHED.compositeType)),
    sequences: sorted(s.sequences).map(as((q) => withoutGrants(q) as Sequence, HASHED.sequence)),
    tables: sorted(s.tables).map(as(canonicalTable, serializedTable)),
    views: sorted(s.views).map(as(canonicalView, HASHED.view)),
    materializedViews: sorted(s.materializedViews).map(as(canonicalMaterializedView, HASHED.materializedView)),
    functions: sortRoutines(s.functions).map(as((r) => withoutGrants(r) as Routine, HASHED.routine)),
    triggers: sortTriggers(s.triggers).map(as((t) => t, HASHED.trigger)),
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
  return canonicalWith(m, false);
}

/**
 * canonicalize, with each table as its memoized canonical text: the same JSON from stableStringify,
 * without a second copy and serialization of every table. Of a table only its `name` may be read
 * here; the rest is for stableStringify.
 */
export function canonicalizeForHash(m: DatabaseModel): DatabaseModel {
  return canonicalWith(m, true);
}

function canonicalWith(m: DatabaseModel, forHash: boolean): DatabaseModel {
  const casts = sortedCasts(m.casts);
  return {
    kind: 'database',
    extensions: sorted(m.extensions).map(({ version: _v, installedVersion: _i, ...e }) => e),
    schemas: sorted(m.schemas).map((s) => canonicalSchema(s, forHash)),
    ...(casts !== undefined ? { casts } : {}),
  };
}

/**
 * JSON with object keys sorted at every level: the byte form that fingerprints hash. (Keys sorted
 * by UTF-16 code units, as `Array.prototype.sort` does; `undefined` members left out.) Written as
 * pieces pushed on one list and joined once: planning a large schema spends much of its time here,
 * and a string grown by `+=` is a rope of every piece (V8 keeps the pieces until the rope is first
 * compared or hashed), several times the size of the text: on 10,000 tables, hundreds of MB of
 * memoized canonical texts.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Serialized) return value.json;
  const out: string[] = [];
  writeStable(value, out);
  return out.join('');
}

/** Where writeStable puts its pieces: a list to join (stableStringify), or a hash fed in chunks. */
interface Sink {
  push(a: string, b?: string): unknown;
}

/**
 * A sha256 fed the pieces of a text, joined a chunk at a time: a model's canonical text (tens of MB
 * at 10,000 tables) is hashed without being held whole. The pieces are whole JSON tokens, so the
 * UTF-8 of the chunks is the UTF-8 of the text.
 */
class HashSink implements Sink {
  private readonly hash = createHash('sha256');
  private parts: string[] = [];

  push(a: string, b?: string): void {
    this.parts.push(a);
    if (b !== undefined) this.parts.push(b);
    if (this.parts.length >= 4096) this.flush();
  }

  digest(): string {
    this.flush();
    return `sha256:${this.hash.digest('hex')}`;
  }

  private flush(): void {
    this.hash.update(this.parts.join(''));
    this.parts = [];
  }
}

function writeStable(value: unknown, out: Sink): void {
  if (value === null || typeof value !== 'object') {
    // As JSON.stringify: undefined (and functions) print as nothing.
    const text = JSON.stringify(value) as string | undefined;
    if (text !== undefined) out.push(text);
    return;
  }
  if (value instanceof Serialized) {
    out.push(value.json);
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const v: unknown = value[i];
      // As `map(stableStringify).join(',')` did: an undefined member prints as nothing.
      if (v !== undefined) writeStable(v, out);
    }
    out.push(']');
    return;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    writeStable(v, out);
  }
  out.push('}');
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The canonical model as text: what its fingerprint is the sha256 of. */
export function canonicalText(m: DatabaseModel): string {
  return stableStringify(hashedForm(canonicalizeForHash(m)));
}

/**
 * `sha256:<hex>` of the canonical model (the sha256 of its stableStringify text, hashed as it is
 * written): equal models, equal fingerprints.
 */
export const fingerprint = memoized((m: DatabaseModel): string => {
  const sink = new HashSink();
  writeStable(hashedForm(canonicalizeForHash(m)), sink);
  return sink.digest();
});

/**
 * True when two models describe the same schema: their canonical texts are equal, which their
 * fingerprints (sha256 of those texts) say without either text being held.
 */
export function modelsEqual(a: DatabaseModel, b: DatabaseModel): boolean {
  return a === b || fingerprint(a) === fingerprint(b);
}
