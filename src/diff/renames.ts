/**
 * Table renames (`renamedFrom` on a desired table): the live model as it is once the renames are
 * done, and one `renameTable` change per rename. Everything else is diffed against the renamed
 * model, so that a renamed table's columns, keys and indexes compare with their desired selves,
 * and foreign keys of other tables that point at it (PostgreSQL follows the table by oid) are not
 * seen as changed.
 */
import type { DatabaseModel, ForeignKey, Partition, RelationParts, Table } from '../model/types.js';
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
