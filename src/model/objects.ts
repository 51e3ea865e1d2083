/**
 * Per-object fingerprints: the drift check's magnifying glass. A phase records the fingerprints of the
 * objects it touches (`Phase.objects`); when the live schema's fingerprint is not the one the phase
 * expects, comparing these per object says *what* drifted. The planner (which writes them) and apply
 * (which checks them) must use this one function.
 *
 * Keys are `<kind> <qualified name>`:
 *   `schema public`, `extension pgcrypto`, `table public.orders`, `enum public.order_status`,
 *   `domain public.email`, `sequence public.orders_id_seq`.
 * A table's fingerprint covers its columns, constraints, indexes and partitions; a schema's only the
 * schema itself (name, comment), not what it contains.
 */
import { canonicalize, memoized, sha256, stableStringify } from './canonical.js';
import type { DatabaseModel } from './types.js';

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
const cachedObjectFingerprints = memoized(computeObjectFingerprints);

function computeObjectFingerprints(model: DatabaseModel): Record<string, string> {
  const m = canonicalize(model);
  const out: Record<string, string> = {};
  const put = (key: string, value: unknown): void => {
    out[key] = sha256(stableStringify(value));
  };
  for (const e of m.extensions) put(`extension ${e.name}`, e);
  for (const s of m.schemas) {
    const { enums, domains, sequences, tables, ...own } = s;
    put(`schema ${s.name}`, own);
    for (const x of enums) put(`enum ${s.name}.${x.name}`, x);
    for (const x of domains) put(`domain ${s.name}.${x.name}`, x);
    for (const x of sequences) put(`sequence ${s.name}.${x.name}`, x);
    for (const x of tables) put(`table ${s.name}.${x.name}`, x);
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
