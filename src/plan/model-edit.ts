/**
 * Pure edits of a model: what one step does to the schema, so that the planner can compute the
 * model (and fingerprint) expected after each phase. Each returns a new model; nothing is mutated.
 */
import type { RelationRef } from '../diff/changes.js';
import type {
  Column,
  DatabaseModel,
  MaterializedView,
  Partition,
  RelationParts,
  SchemaModel,
  Sequence,
  Table,
  View,
  ViewColumn,
} from '../model/types.js';

export type ModelEdit = (m: DatabaseModel) => DatabaseModel;

export const noEdit: ModelEdit = (m) => m;

export function chain(...edits: readonly ModelEdit[]): ModelEdit {
  return (m) => edits.reduce((acc, e) => e(acc), m);
}

export function mapSchema(m: DatabaseModel, name: string, fn: (s: SchemaModel) => SchemaModel): DatabaseModel {
  if (!m.schemas.some((s) => s.name === name)) throw new Error(`model edit: no schema ${name}`);
  return { ...m, schemas: m.schemas.map((s) => (s.name === name ? fn(s) : s)) };
}

type Relation = Table | Partition;

function mapInPartitions<T extends RelationParts>(
  r: T,
  ref: RelationRef,
  fn: (r: Relation) => Relation,
  found: { hit: boolean },
): T {
  if (r.partitions.length === 0) return r;
  let changed = false;
  const partitions = r.partitions.map((p) => {
    if (p.schema === ref.schema && p.name === ref.name) {
      found.hit = true;
      changed = true;
      return fn(p) as Partition;
    }
    const q = mapInPartitions(p, ref, fn, found);
    if (q !== p) changed = true;
    return q;
  });
  return changed ? { ...r, partitions } : r;
}

/** Applies `fn` to the table or (possibly nested) partition `ref`. */
export function mapRelation(m: DatabaseModel, ref: RelationRef, fn: (r: Relation) => Relation): DatabaseModel {
  // A table of that name (no partition can have it too: relation names are unique in a schema):
  // found and replaced without walking every table of the model, as each step of a plan of a large
  // schema edits the model again.
  const schema = m.schemas.find((s) => s.name === ref.schema);
  const at = schema === undefined ? -1 : schema.tables.findIndex((t) => t.name === ref.name);
  if (schema !== undefined && at >= 0) {
    const table = fn(schema.tables[at]!) as Table;
    if (table === schema.tables[at]) return { ...m, schemas: [...m.schemas] };
    const tables = [...schema.tables];
    tables[at] = table;
    return { ...m, schemas: m.schemas.map((s) => (s === schema ? { ...s, tables } : s)) };
  }
  const found = { hit: false };
  const schemas = m.schemas.map((s) => {
    const tables = s.tables.map((t) => {
      if (s.name === ref.schema && t.name === ref.name) {
        found.hit = true;
        return fn(t) as Table;
      }
      return mapInPartitions(t, ref, fn, found);
    });
    return tables.some((t, i) => t !== s.tables[i]) ? { ...s, tables } : s;
  });
  if (!found.hit) throw new Error(`model edit: no table or partition ${ref.schema}.${ref.name}`);
  return { ...m, schemas };
}

/** Applies `fn` to the top-level table `ref` (columns live on tables, not on partitions). */
export function mapTable(m: DatabaseModel, ref: RelationRef, fn: (t: Table) => Table): DatabaseModel {
  return mapRelation(m, ref, (r) => {
    if (r.kind !== 'table') throw new Error(`model edit: ${ref.schema}.${ref.name} is a partition, not a table`);
    return fn(r);
  });
}

export function mapColumn(
  m: DatabaseModel,
  ref: RelationRef,
  column: string,
  fn: (c: Column) => Column,
): DatabaseModel {
  return mapTable(m, ref, (t) => {
    if (!t.columns.some((c) => c.name === column))
      throw new Error(`model edit: no column ${ref.schema}.${ref.name}.${column}`);
    return { ...t, columns: t.columns.map((c) => (c.name === column ? fn(c) : c)) };
  });
}

/** Replaces the item named `name` (or appends `item` when none has that name). */
export function upsert<T extends { readonly name: string }>(xs: readonly T[], item: T, name = item.name): T[] {
  return xs.some((x) => x.name === name) ? xs.map((x) => (x.name === name ? item : x)) : [...xs, item];
}

export function removeNamed<T extends { readonly name: string }>(xs: readonly T[], name: string): T[] {
  return xs.filter((x) => x.name !== name);
}

/** Removes a property, keeping the object otherwise equal (optional properties are absent, never undefined). */
export function omit<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

/** Sets or removes an optional property. */
export function withOptional<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): T {
  if (value === undefined) return omit(o, key) as T;
  return { ...o, [key]: value };
}

/** The sequences PostgreSQL drops with a column (or a whole table) that owns them. */
export function dropOwnedSequences(m: DatabaseModel, ref: RelationRef, column?: string): DatabaseModel {
  const owned = (q: Sequence) =>
    q.ownedBy !== undefined &&
    q.ownedBy.schema === ref.schema &&
    q.ownedBy.table === ref.name &&
    (column === undefined || q.ownedBy.column === column);
  return {
    ...m,
    schemas: m.schemas.map((s) =>
      s.sequences.some(owned) ? { ...s, sequences: s.sequences.filter((q) => !owned(q)) } : s,
    ),
  };
}

/** Applies `fn` to view `schema.name`. */
export function mapView(m: DatabaseModel, schema: string, name: string, fn: (v: View) => View): DatabaseModel {
  return mapSchema(m, schema, (s) => {
    if (!s.views.some((v) => v.name === name)) throw new Error(`model edit: no view ${schema}.${name}`);
    return { ...s, views: s.views.map((v) => (v.name === name ? fn(v) : v)) };
  });
}

/** Applies `fn` to materialized view `schema.name`. */
export function mapMaterializedView(
  m: DatabaseModel,
  schema: string,
  name: string,
  fn: (v: MaterializedView) => MaterializedView,
): DatabaseModel {
  return mapSchema(m, schema, (s) => {
    if (!s.materializedViews.some((v) => v.name === name)) {
      throw new Error(`model edit: no materialized view ${schema}.${name}`);
    }
    return { ...s, materializedViews: s.materializedViews.map((v) => (v.name === name ? fn(v) : v)) };
  });
}

/** Applies `fn` to column `column` of a view's or materialized view's column list. */
export function mapViewColumn<T extends { readonly columns: readonly ViewColumn[]; readonly name: string }>(
  v: T,
  column: string,
  fn: (c: ViewColumn) => ViewColumn,
): T {
  if (!v.columns.some((c) => c.name === column)) throw new Error(`model edit: no column ${column} in view ${v.name}`);
  return { ...v, columns: v.columns.map((c) => (c.name === column ? fn(c) : c)) };
}
