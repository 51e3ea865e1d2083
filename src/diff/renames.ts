/**
 * Table renames (`renamedFrom` on a desired table): the live model as it is once the renames are
 * done, and one `renameTable` change per rename. Everything else is diffed against the renamed
 * model, so that a renamed table's columns, keys and indexes compare with their desired selves,
 * and foreign keys of other tables that point at it (PostgreSQL follows the table by oid) are not
 * seen as changed.
 */

import { named } from '../model/objects.js';
import type { DatabaseModel, ForeignKey, IndexKey, Partition, RelationParts, Table } from '../model/types.js';
import { quoteIdent } from '../sql/quote.js';
import type { RenameTable } from './changes.js';

export function tableRenames(live: DatabaseModel, desired: DatabaseModel): RenameTable[] {
  const out: RenameTable[] = [];
  for (const ds of desired.schemas) {
    const ls = live.schemas.find((s) => s.name === ds.name);
    if (ls === undefined) continue;
    const names = new Set(ls.tables.map((t) => t.name));
    for (const t of ds.tables) {
      if (t.renamedFrom !== undefined && names.has(t.renamedFrom) && !names.has(t.name)) {
        out.push({ kind: 'renameTable', schema: ds.name, from: t.renamedFrom, to: t.name });
      }
    }
  }
  return out;
}

/** The model after `ALTER TABLE schema.from RENAME TO to`. */
export function renameTableIn(m: DatabaseModel, schema: string, from: string, to: string): DatabaseModel {
  const fk = (f: ForeignKey): ForeignKey =>
    f.references.schema === schema && f.references.table === from
      ? { ...f, references: { ...f.references, table: to } }
      : f;
  const parts = <T extends RelationParts>(r: T): T => ({
    ...r,
    foreignKeys: r.foreignKeys.map(fk),
    partitions: r.partitions.map((p) => parts<Partition>(p)),
  });
  return {
    ...m,
    schemas: m.schemas.map((s) => ({
      ...s,
      tables: s.tables.map((t): Table => {
        const renamed = parts(t);
        return s.name === schema && t.name === from ? { ...renamed, name: to } : renamed;
      }),
      sequences: s.sequences.map((q) =>
        q.ownedBy !== undefined && q.ownedBy.schema === schema && q.ownedBy.table === from
          ? { ...q, ownedBy: { ...q.ownedBy, table: to } }
          : q,
      ),
    })),
  };
}

/** The live model with every table rename of `desired` done. */
export function withTableRenames(live: DatabaseModel, desired: DatabaseModel): DatabaseModel {
  return tableRenames(live, desired).reduce((m, r) => renameTableIn(m, r.schema, r.from, r.to), live);
}

/** A column renamed with `renamedFrom` (the table under its new name when it is renamed too). */
export interface ColumnRename {
  readonly schema: string;
  readonly table: string;
  readonly from: string;
  readonly to: string;
}

/** The column renames of `desired` that `live` (tables already renamed) has yet to do. */
export function columnRenames(live: DatabaseModel, desired: DatabaseModel): ColumnRename[] {
  const out: ColumnRename[] = [];
  for (const ds of desired.schemas) {
    const ls = named(live.schemas, ds.name);
    for (const t of ds.tables) {
      if (!t.columns.some((c) => c.renamedFrom !== undefined)) continue;
      const lt = named(ls?.tables, t.name);
      if (lt === undefined) continue;
      for (const c of t.columns) {
        if (c.renamedFrom !== undefined && named(lt.columns, c.renamedFrom) && !named(lt.columns, c.name)) {
          out.push({ schema: ds.name, table: t.name, from: c.renamedFrom, to: c.name });
        }
      }
    }
  }
  return out;
}

/**
 * Replaces the column name `from` by `to` in an SQL expression where it stands as a whole
 * identifier (plain or quoted), outside string literals.
 */
export function renameColumnInExpression(expr: string, from: string, to: string): string {
  const pattern = quoteIdent(from).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\w$."])${pattern}(?![\\w$"])`, 'g');
  return expr
    .split(/('(?:[^']|'')*')/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(re, () => quoteIdent(to))))
    .join('');
}

/**
 * The keys, indexes and constraints of `m` as they read once the column `schema.table.from` is
 * called `to` (the column itself keeps its name): those of the table and its partitions, and the
 * foreign keys of every table that reference the column. A column rename is diffed against this,
 * so that what only follows the rename is carried over by the rename itself
 * (src/plan/techniques/replace-column/), not planned as a change of its own.
 */
export function renameColumnReferences(m: DatabaseModel, r: ColumnRename): DatabaseModel {
  const col = (c: string) => (c === r.from ? r.to : c);
  const expr = (e: string) => renameColumnInExpression(e, r.from, r.to);
  const key = (k: IndexKey): IndexKey =>
    k.column !== undefined
      ? { ...k, column: col(k.column) }
      : k.expression !== undefined
        ? { ...k, expression: expr(k.expression) }
        : k;
  const own = <T extends RelationParts>(p: T): T => {
    const out: T = {
      ...p,
      uniqueConstraints: p.uniqueConstraints.map((u) => ({
        ...u,
        columns: u.columns.map(col),
        include: u.include.map(col),
      })),
      checks: p.checks.map((c) => ({ ...c, expression: expr(c.expression) })),
      foreignKeys: p.foreignKeys.map((f) => ({ ...f, columns: f.columns.map(col) })),
      exclusionConstraints: p.exclusionConstraints.map((x) => ({
        ...x,
        elements: x.elements.map((e) => ({ ...e, key: key(e.key) })),
        include: x.include.map(col),
        ...(x.where !== undefined ? { where: expr(x.where) } : {}),
      })),
      indexes: p.indexes.map((ix) => ({
        ...ix,
        keys: ix.keys.map(key),
        include: ix.include.map(col),
        ...(ix.where !== undefined ? { where: expr(ix.where) } : {}),
      })),
      partitions: p.partitions.map((x) => own<Partition>(x)),
    };
    const pk = p.primaryKey;
    const pb = p.partitionBy;
    return {
      ...out,
      ...(pk !== undefined
        ? { primaryKey: { ...pk, columns: pk.columns.map(col), include: pk.include.map(col) } }
        : {}),
      ...(pb !== undefined
        ? { partitionBy: { ...pb, columns: pb.columns.map((c) => (c === r.from ? r.to : expr(c))) } }
        : {}),
    };
  };
  // Other tables are left as they are (the same objects) unless a foreign key of theirs points at the column.
  const points = (p: RelationParts): boolean =>
    p.foreignKeys.some(
      (f) =>
        f.references.schema === r.schema && f.references.table === r.table && f.references.columns.includes(r.from),
    ) || p.partitions.some(points);
  const incoming = <T extends RelationParts>(p: T): T =>
    points(p)
      ? {
          ...p,
          foreignKeys: p.foreignKeys.map((f) =>
            f.references.schema === r.schema && f.references.table === r.table
              ? { ...f, references: { ...f.references, columns: f.references.columns.map(col) } }
              : f,
          ),
          partitions: p.partitions.map((x) => incoming<Partition>(x)),
        }
      : p;
  return {
    ...m,
    schemas: m.schemas.map((s) => {
      const tables = s.tables.map((t): Table => {
        const t2 = incoming(t);
        return s.name === r.schema && t.name === r.table ? own(t2) : t2;
      });
      return tables.some((t, i) => t !== s.tables[i]) ? { ...s, tables } : s;
    }),
  };
}

/** The live model (tables already renamed) with the references of every column rename of `desired` renamed. */
export function withColumnReferencesRenamed(live: DatabaseModel, desired: DatabaseModel): DatabaseModel {
  return columnRenames(live, desired).reduce(renameColumnReferences, live);
}
