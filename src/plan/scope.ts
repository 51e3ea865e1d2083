/**
 * The scope of a plan: the objects its rehearsal copies (src/workflow/rehearse.ts). A plan that
 * changes three tables of a schema of thousands is proven on a copy of those three tables and what
 * they need, not of the whole schema (which made the rehearsal of a ~100-change plan cost 20 s on
 * musicbrainz).
 *
 * The scope is, by object key (objects.ts):
 *
 * 1. **What the plan changes**: every object whose fingerprint differs between two consecutive models
 *    of the plan (live → after expand → after backfill → after contract); and what it touches: the
 *    objects its phases fingerprint (`Phase.objects`, `objectsAfter`), and the relations its steps
 *    lock, fill, copy or compare (a partition as its root table).
 * 2. **What depends on what changes**, so that each step meets the dependents it meets on the live
 *    database (and takes the locks it takes there): dependents in the dependency graph, directly or
 *    not (views, policies, routines with SQL-standard bodies), the triggers on a table, tables with
 *    a foreign key to one of them, and INHERITS children.
 * 3. **Everything those need**, to fixpoint: their dependencies in the graph, and every object whose
 *    name one of them mentions (a column's type, a default's sequence or function, a foreign key's
 *    table, a view's or a policy's tables, a trigger's function, a routine body's types). Matching
 *    names rather than parsing expressions errs towards copying more, never less, of what they could
 *    mean. A table needed only here is copied as a stub (`stubTable`: its columns, keys and unique
 *    indexes, no foreign keys, checks or policies): what a foreign key to it, a view or a routine
 *    over it needs; so a chain of foreign keys stops at the first table the plan does not change.
 *
 * Extensions and schemas are always copied (their own fields: cheap, and what objects live in).
 * What the scope still misses (a name built at run time by a PL/pgSQL body, say) fails a step on the
 * copy; the rehearsal then runs again on a copy of the whole schema before it reports anything.
 */

import { stableStringify } from '../model/canonical.js';
import { dependencyGraph } from '../model/dependencies.js';
import { isPlainIdentifier, namesMentioned, qualifiedRef } from '../model/names.js';
import { eachObject, objectKey, readObjectFingerprints, stubTable, withoutJournal } from '../model/objects.js';
import { triggerKey } from '../model/routines.js';
import type { DatabaseModel, Partition, Table } from '../model/types.js';
import type { Plan } from './types.js';

/** The models of a plan: the live one (its start) and the one after each phase. */
export interface PlanModels {
  readonly live: DatabaseModel;
  readonly expand: DatabaseModel;
  readonly backfill: DatabaseModel;
  readonly contract: DatabaseModel;
}

/** Keys of objects other objects can name: types, relations, sequences, routines, collations, text search configurations. */
const NAMED =
  /^(enum|domain|compositeType|sequence|table|view|materializedView|function|procedure|aggregate|collation|textSearchConfiguration) /;

/**
 * The object keys a rehearsal of `plan` copies (see the module comment), and how many objects the
 * live schema has. `desired` is the desired state the plan reaches; `also` are keys to copy as if the
 * plan touched them (the tables whose rows `--rehearse-rows` copies), with what they need.
 */
export function planScope(
  plan: Plan,
  models: PlanModels,
  desired: DatabaseModel,
  also: Iterable<string> = [],
): { readonly keys: ReadonlySet<string>; readonly stubs: ReadonlySet<string>; readonly objects: number } {
  const live = withoutJournal(models.live);
  const all = [live, models.expand, models.backfill, models.contract, desired];

  // Every object of every model: its values (for the names they mention), and keys by name.
  const values = new Map<string, unknown[]>();
  const byName = new Map<string, Set<string>>();
  const odd: string[] = []; // names that are not plain identifiers: found by substring
  const relations = new Map<string, string>(); // `schema.name` of a relation or partition → key
  for (const m of all) {
    eachObject(m, (key, value, schema) => {
      const list = values.get(key);
      if (list === undefined) values.set(key, [value]);
      else if (!list.includes(value)) list.push(value);
      if (!NAMED.test(key)) return;
      const name = (value as { name: string }).name;
      let keys = byName.get(name);
      if (keys === undefined) {
        keys = new Set();
        byName.set(name, keys);
        if (!isPlainIdentifier(name)) odd.push(name);
      }
      keys.add(key);
      if (/^(table|view|materializedView|sequence) /.test(key)) {
        relations.set(`${schema}.${name}`, key);
        const walk = (parts: readonly Partition[]): void => {
          for (const p of parts) {
            relations.set(`${p.schema}.${p.name}`, key);
            walk(p.partitions);
          }
        };
        if (key.startsWith('table ')) walk((value as { partitions: readonly Partition[] }).partitions);
      }
    });
  }
  let objects = 0;
  eachObject(live, (key) => {
    if (!key.startsWith('schema ') && !key.startsWith('extension ')) objects++;
  });

  // 1. What the plan changes.
  const changed = new Set<string>();
  const steps = [live, models.expand, models.backfill, models.contract];
  for (let i = 1; i < steps.length; i++) {
    const a = readObjectFingerprints(steps[i - 1]!);
    const b = readObjectFingerprints(steps[i]!);
    for (const k of Object.keys(a)) if (a[k] !== b[k]) changed.add(k);
    for (const k of Object.keys(b)) if (a[k] !== b[k]) changed.add(k);
  }
  // Touched without being changed: dependents need not come along.
  const touched = new Set<string>();
  const relation = (name: string): void => {
    const key = relations.get(name);
    if (key !== undefined) touched.add(key);
  };
  for (const phase of plan.phases) {
    for (const k of Object.keys(phase.objects)) touched.add(k);
    for (const k of Object.keys(phase.objectsAfter ?? {})) touched.add(k);
  }
  for (const name of relationsTouched(plan)) relation(name);
  for (const k of also) if (values.has(k)) touched.add(k);

  // 2. What depends on what changes.
  const scope = new Set([...changed, ...touched]);
  const graphs = [dependencyGraph(live), dependencyGraph(desired)];
  for (const g of graphs) for (const k of g.dependentsClosure(changed)) scope.add(ownerOf(k));
  const changedTables = new Set([...changed].filter((k) => k.startsWith('table ')));
  for (const m of [live, desired]) {
    for (const s of m.schemas) {
      // A trigger depends on its table automatically (not an edge of the graph).
      for (const t of s.triggers)
        if (changedTables.has(objectKey('table', t.schema, t.table))) scope.add(triggerKey(t));
      for (const t of s.tables) {
        const refs = [
          ...t.foreignKeys.map((fk) => objectKey('table', fk.references.schema, fk.references.table)),
          ...(t.inherits ?? []).map((p) => `table ${p}`),
        ];
        if (refs.some((r) => changedTables.has(r))) scope.add(objectKey('table', s.name, t.name));
      }
    }
  }

  // 3. Everything those need, to fixpoint; a table only needed, as a stub.
  const stubs = new Set<string>();
  const todo = [...scope];
  const add = (k: string): void => {
    if (scope.has(k) || !values.has(k)) return;
    scope.add(k);
    if (k.startsWith('table ')) stubs.add(k);
    todo.push(k);
  };
  while (todo.length > 0) {
    const k = todo.pop()!;
    for (const g of graphs) for (const d of g.dependenciesOf(k)) add(ownerOf(d));
    for (const value of values.get(k) ?? []) {
      const text = stableStringify(stubs.has(k) ? stubTable(value as Table) : value);
      for (const word of namesMentioned(text)) for (const n of byName.get(word) ?? []) add(n);
      for (const name of odd) if (text.includes(name)) for (const n of byName.get(name)!) add(n);
    }
  }
  for (const k of [...scope])
    if (!values.has(k) || k.startsWith('schema ') || k.startsWith('extension ')) scope.delete(k);
  return { keys: scope, stubs, objects };
}

/**
 * The object a dependency graph node belongs to in the model: a policy (`policy p on s.t`) is part
 * of its table; other keys are objects of their own.
 */
function ownerOf(key: string): string {
  const m = /^policy .* on ([^ ]+)$/.exec(key);
  return m ? `table ${m[1]}` : key;
}

/**
 * `schema.name` of every relation a step of `plan` locks, fills (backfill), copies or compares (the
 * partition swap's copy and verify): a partition as itself, not as its root table.
 */
export function relationsTouched(plan: Plan): Set<string> {
  const out = new Set<string>();
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      for (const l of step.locks) out.add(l.relation);
      if (step.kind === 'backfill') out.add(qualifiedRef(step.table));
      if (step.kind === 'copy' || step.kind === 'verify') out.add(qualifiedRef(step.from)).add(qualifiedRef(step.to));
    }
  }
  return out;
}
