/** Facts about composite types the layers share (issue 12). */
import { qualified } from './names.js';
import type { CompositeType } from './types.js';

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
