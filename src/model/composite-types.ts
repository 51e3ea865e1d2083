/** Facts about composite types the layers share (issue 12). */
import { qualified } from './names.js';
import type { CompositeType, DatabaseModel, Domain } from './types.js';

/** The type an attribute or column is of, arrays unwrapped: `public.point2[]` → `public.point2`. */
export const elementTypeName = (type: string): string => type.replace(/(\[\])+$/, '');

/** The types in an order where each comes after every type of the list its attributes are of. */
export function compositeTypesUsedFirst(types: readonly CompositeType[]): CompositeType[] {
  const out: CompositeType[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const byName = new Map(types.map((t) => [qualified(t.schema, t.name), t]));
  const visit = (t: CompositeType): void => {
    const key = qualified(t.schema, t.name);
    if (done.has(key) || visiting.has(key)) return;
    visiting.add(key);
    for (const a of t.attributes) {
      const used = byName.get(elementTypeName(a.type));
      if (used !== undefined) visit(used);
    }
    visiting.delete(key);
    done.add(key);
    out.push(t);
  };
  for (const t of types) visit(t);
  return out;
}

/**
 * Whether a domain is over one of the composite types of `m` (`CREATE DOMAIN d AS point2`): it is
 * created after the composite types, not with the other domains before them.
 */
export function isDomainOverCompositeType(d: Pick<Domain, 'type'>, m: DatabaseModel): boolean {
  const name = elementTypeName(d.type);
  return m.schemas.some((s) => s.compositeTypes.some((t) => qualified(s.name, t.name) === name));
}
