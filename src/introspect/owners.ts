/**
 * Owners (issue 12): the `owner` column each catalog query of an object kind already reads, gathered
 * into the model's one map (src/model/owners.ts), keyed as the objects are.
 */
import { objectKey } from '../model/objects.js';
import { isZdmOwnName, routineKey } from '../model/routines.js';
import type { RelationRow, SchemaRow, SequenceRow, TypeRow, ViewRow } from './queries.js';
import { parseRoutine, type RoutineRow } from './routines.js';

export interface OwnerRows {
  readonly schemas: readonly SchemaRow[];
  readonly types: readonly TypeRow[];
  readonly sequences: readonly SequenceRow[];
  readonly relations: readonly RelationRow[];
  readonly views: readonly ViewRow[];
  readonly routineDefinitions: readonly RoutineRow[];
}

const TYPE_KINDS = { e: 'enum', d: 'domain', c: 'compositeType' } as const;

/** By object key, the owner of every object whose row has one (rows built by hand have none). */
export function ownersOf(rows: OwnerRows): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, owner: string | undefined): void => {
    if (owner !== undefined) out[key] = owner;
  };
  for (const s of rows.schemas) put(`schema ${s.name}`, s.owner);
  for (const t of rows.types) {
    const kind = TYPE_KINDS[t.type_type as keyof typeof TYPE_KINDS];
    if (kind !== undefined) put(objectKey(kind, t.schema, t.name), t.owner);
  }
  for (const q of rows.sequences) put(objectKey('sequence', q.schema, q.name), q.owner);
  for (const r of rows.relations) if (!r.is_partition) put(objectKey('table', r.schema, r.name), r.owner);
  for (const v of rows.views) put(objectKey(v.kind === 'm' ? 'materializedView' : 'view', v.schema, v.name), v.owner);
  for (const r of rows.routineDefinitions)
    if (r.owner !== undefined && r.kind !== 'a' && !isZdmOwnName(r.name)) put(routineKey(parseRoutine(r)), r.owner);
  return out;
}
