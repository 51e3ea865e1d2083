/**
 * Owners (issue 12), opt-in: a desired state manages the owner of an object only where its YAML has
 * an `owner:` key. Owners are kept off the objects, in maps of the database model keyed by object
 * key (`DatabaseModel.owners` of a desired state, `liveOwners` of a live one): no comparison of
 * objects, no fingerprint and no canonical form sees them, as none sees privileges;
 * src/diff/owners.ts compares them where the desired state has one.
 *
 * What PostgreSQL does that this relies on (measured on 15):
 * - `ALTER TABLE … OWNER TO` takes the table's indexes, its OWNED BY and identity sequences along;
 *   an OWNED BY sequence cannot be given an owner of its own ("Sequence is linked to table"), so a
 *   desired state may not name one (src/desired/convert.ts).
 * - It does not recurse to partitions: each keeps the owner it had, and a new partition belongs to
 *   whoever created it. Partitions' owners are not managed.
 */
import { objectKey } from './objects.js';
import { routineKey } from './routines.js';
import type { DatabaseModel, RoutineArgument, SchemaModel } from './types.js';

/** An object whose owner zdm can manage. */
export type OwnerTarget =
  | { readonly kind: 'schema'; readonly name: string }
  | { readonly kind: 'table' | 'sequence'; readonly schema: string; readonly name: string }
  | { readonly kind: 'view' | 'materializedView'; readonly schema: string; readonly name: string }
  | { readonly kind: 'enum' | 'domain' | 'compositeType'; readonly schema: string; readonly name: string }
  | {
      readonly kind: 'function' | 'procedure';
      readonly schema: string;
      readonly name: string;
      readonly arguments: readonly RoutineArgument[];
    };

/** The key of `on` in `DatabaseModel.owners`: the object's key (objects.ts, routineKey for routines). */
export function ownerKey(on: OwnerTarget): string {
  switch (on.kind) {
    case 'schema':
      return `schema ${on.name}`;
    case 'function':
    case 'procedure':
      return routineKey(on);
    default:
      return objectKey(on.kind, on.schema, on.name);
  }
}

/** Every object of `s` that may have a managed owner, in the diff's order (kind, then name). */
export function ownerTargets(s: SchemaModel): OwnerTarget[] {
  const schema = s.name;
  const of = <K extends OwnerTarget['kind']>(kind: K, xs: readonly { readonly name: string }[]) =>
    xs.map(({ name }) => ({ kind, schema, name }) as OwnerTarget);
  return [
    { kind: 'schema', name: s.name },
    ...of('enum', s.enums),
    ...of('domain', s.domains),
    ...of('compositeType', s.compositeTypes),
    ...of('sequence', s.sequences),
    ...of('table', s.tables),
    ...of('view', s.views),
    ...of('materializedView', s.materializedViews),
    ...s.functions
      .filter((r) => r.kind !== 'aggregate')
      .map(
        (r): OwnerTarget => ({
          kind: r.kind as 'function' | 'procedure',
          schema,
          name: r.name,
          arguments: r.arguments,
        }),
      ),
  ];
}

/** The owner a desired state wants for `on`, where it manages it. */
export const ownerOf = (m: DatabaseModel, on: OwnerTarget): string | undefined => m.owners?.[ownerKey(on)];

/**
 * The owner `on` has in a live model; a live model loaded from a desired-state document (the
 * planner's model cases) has its `owner:` keys instead.
 */
export const liveOwnerOf = (m: DatabaseModel, on: OwnerTarget): string | undefined =>
  (m.liveOwners ?? m.owners)?.[ownerKey(on)];
