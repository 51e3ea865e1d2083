/**
 * `diffModels(live, desired)`: every difference between two models as a typed change, in a
 * deterministic order (schema, then object kind, then name). Objects are compared on their
 * canonical forms (src/model/canonical.ts): named sets by name, column order ignored, live-only
 * facts (index validity) and desired-only directives (`renamedFrom`, `using`, `reverse`) left out of equality.
 */

import { stableStringify, tablesEqual } from '../model/canonical.js';
import { castKey } from '../model/casts.js';
import { withoutDirectives } from '../model/directives.js';
import { emptySchema } from '../model/objects.js';
import type {
  Column,
  DatabaseModel,
  Domain,
  EnumType,
  Index,
  MaterializedView,
  Partition,
  RelationParts,
  ReplicaIdentity,
  SchemaModel,
  StorageParameters,
  Table,
  View,
} from '../model/types.js';
import { notReplaceable } from '../model/views.js';
import type { Change, CommentTarget, RelationRef } from './changes.js';
import { isBinaryCoercible } from './coercible.js';
import { diffGrants } from './grants.js';
import { diffKeyed } from './keyed.js';
import { diffOwners } from './owners.js';
import { docPath, type PathSegment } from './paths.js';
import { tableRenames, withColumnReferencesRenamed, withTableRenames } from './renames.js';
import { diffRoutinesAndTriggers } from './routines.js';

const same = (a: unknown, b: unknown): boolean => stableStringify(a) === stableStringify(b);

/** `{ key: value }` when value is defined, else `{}` (optional properties are absent, never undefined). */
const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function without<T extends object, K extends keyof T>(o: T, ...keys: K[]): Omit<T, K> {
  // Built up rather than copied and `delete`d from: deleting makes V8 fall back to slow objects,
  // and the diff of a large schema calls this for every column.
  const copy: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (!keys.includes(k as K)) copy[k] = o[k];
  return copy as Omit<T, K>;
}

const EMPTY_SCHEMA = emptySchema;

/** How the diff reads what a change needs. */
export interface DiffOptions {
  /**
   * A column type change that rewrites a plain table: `column` (the default), a replacement column
   * (`replaceColumn`); `swap`, the whole table copied into a new one (`rewriteTable`).
   */
  readonly typeChanges?: TypeChangePath | undefined;
}

export type TypeChangePath = 'column' | 'swap';

/**
 * Every difference between `live` and `desired`. Unsupported differences come as `unsupported`
 * changes among the others: the planner refuses the plan and lists them all at once.
 */
export function diffModels(liveModel: DatabaseModel, desired: DatabaseModel, options: DiffOptions = {}): Change[] {
  // `zdm plan` diffs the same two models twice (to name the plan and probe the tables, then in
  // planChanges): the second time is free. Models are not changed once made; the list is copied.
  let byDesired = diffs.get(liveModel);
  if (byDesired === undefined) {
    byDesired = new WeakMap();
    diffs.set(liveModel, byDesired);
  }
  let byOptions = byDesired.get(desired);
  if (byOptions === undefined) {
    byOptions = new Map();
    byDesired.set(desired, byOptions);
  }
  const typeChanges = options.typeChanges ?? 'column';
  let changes = byOptions.get(typeChanges);
  if (changes === undefined) {
    changes = computeDiff(liveModel, desired, typeChanges);
    byOptions.set(typeChanges, changes);
  }
  return [...changes];
}

const diffs = new WeakMap<DatabaseModel, WeakMap<DatabaseModel, Map<TypeChangePath, readonly Change[]>>>();

function computeDiff(liveModel: DatabaseModel, desired: DatabaseModel, typeChanges: TypeChangePath): Change[] {
  // Table renames first; everything else is compared with the tables under their new names.
  // Column renames: keys, indexes and constraints are compared as they read after the rename (the
  // rename carries them over); the columns keep their live names, so the rename itself is seen.
  const out: Change[] = tableRenames(liveModel, desired);
  const live = withColumnReferencesRenamed(withTableRenames(liveModel, desired), desired);

  for (const e of diffKeyed(live.extensions, desired.extensions, (x) => x.name)) {
    if (e.kind === 'added') out.push({ kind: 'createExtension', extension: e.desired });
    else if (e.kind === 'removed') out.push({ kind: 'dropExtension', extension: e.live });
    else if ((e.live.schema ?? 'public') !== (e.desired.schema ?? 'public')) {
      out.push({ kind: 'alterExtensionSchema', from: e.live, to: e.desired });
    }
    if (e.kind === 'both' && e.desired.version !== undefined && e.desired.version !== e.live.installedVersion) {
      out.push({ kind: 'alterExtensionVersion', from: e.live, to: e.desired });
    }
  }

  // Casts: created, dropped, re-created (method, function or context changed), commented.
  for (const c of diffKeyed(live.casts ?? [], desired.casts ?? [], castKey)) {
    if (c.kind === 'added') out.push({ kind: 'createCast', cast: c.desired });
    else if (c.kind === 'removed') out.push({ kind: 'dropCast', cast: c.live });
    else if (!same(without(c.live, 'comment'), without(c.desired, 'comment'))) {
      out.push({ kind: 'replaceCast', from: c.live, to: c.desired });
    } else if (c.live.comment !== c.desired.comment) {
      out.push({ kind: 'commentCast', from: c.live, to: c.desired });
    }
  }

  for (const s of diffKeyed(live.schemas, desired.schemas, (x) => x.name)) {
    if (s.kind === 'added') {
      out.push({ kind: 'createSchema', name: s.desired.name });
      diffSchema(EMPTY_SCHEMA(s.key), s.desired, out, typeChanges);
      if (s.desired.comment !== undefined) {
        out.push({ kind: 'setComment', target: { kind: 'schema', name: s.key }, comment: s.desired.comment });
      }
    } else if (s.kind === 'removed') {
      diffSchema(s.live, EMPTY_SCHEMA(s.key), out, typeChanges);
      out.push({ kind: 'dropSchema', name: s.live.name });
    } else {
      diffSchema(s.live, s.desired, out, typeChanges);
      commentChange({ kind: 'schema', name: s.key }, s.live.comment, s.desired.comment, out);
    }
  }
  out.push(...diffOwners(live, desired));
  out.push(...diffGrants(live, desired));
  return out;
}

function commentChange(target: CommentTarget, from: string | undefined, to: string | undefined, out: Change[]): void {
  if (from === to) return;
  out.push(to === undefined ? { kind: 'setComment', target } : { kind: 'setComment', target, comment: to });
}

function diffSchema(live: SchemaModel, desired: SchemaModel, out: Change[], typeChanges: TypeChangePath): void {
  const schema = desired.name;
  for (const e of diffKeyed(live.enums, desired.enums, (x) => x.name)) {
    if (e.kind === 'added') {
      out.push({ kind: 'createEnum', enum: e.desired });
      commentChange({ kind: 'enum', schema, name: e.key }, undefined, e.desired.comment, out);
    } else if (e.kind === 'removed') out.push({ kind: 'dropEnum', enum: e.live });
    else {
      diffEnum(e.live, e.desired, out);
      commentChange({ kind: 'enum', schema, name: e.key }, e.live.comment, e.desired.comment, out);
    }
  }

  for (const d of diffKeyed(live.domains, desired.domains, (x) => x.name)) {
    if (d.kind === 'added') {
      out.push({ kind: 'createDomain', domain: d.desired });
      commentChange({ kind: 'domain', schema, name: d.key }, undefined, d.desired.comment, out);
    } else if (d.kind === 'removed') out.push({ kind: 'dropDomain', domain: d.live });
    else {
      diffDomain(d.live, d.desired, out);
      commentChange({ kind: 'domain', schema, name: d.key }, d.live.comment, d.desired.comment, out);
    }
  }

  // Collations: created, dropped, commented; a definition cannot change in place.
  for (const c of diffKeyed(live.collations ?? [], desired.collations ?? [], (x) => x.name)) {
    if (c.kind === 'added') out.push({ kind: 'createCollation', schema, collation: c.desired });
    else if (c.kind === 'removed') out.push({ kind: 'dropCollation', schema, collation: c.live });
    else if (!same(without(c.live, 'comment'), without(c.desired, 'comment'))) {
      out.push({
        kind: 'unsupported',
        object: `collation ${schema}.${c.key}`,
        path: docPath(['schemas', schema, 'collations', c.key]),
        reason: 'a collation cannot be changed in place: create one under another name and change the columns to it',
      });
    } else if (c.live.comment !== c.desired.comment) {
      out.push({ kind: 'commentCollation', schema, from: c.live, to: c.desired });
    }
  }

  // Text search configurations: mappings and comment in one change; a new parser is not supported.
  for (const c of diffKeyed(
    live.textSearchConfigurations ?? [],
    desired.textSearchConfigurations ?? [],
    (x) => x.name,
  )) {
    if (c.kind === 'added') out.push({ kind: 'createTextSearchConfiguration', schema, config: c.desired });
    else if (c.kind === 'removed') out.push({ kind: 'dropTextSearchConfiguration', schema, config: c.live });
    else if (c.live.parser !== c.desired.parser) {
      out.push({
        kind: 'unsupported',
        object: `text search configuration ${schema}.${c.key}`,
        path: docPath(['schemas', schema, 'textSearchConfigurations', c.key, 'parser']),
        reason: `changing the parser (${c.live.parser} → ${c.desired.parser}) is not supported: drop the configuration and create it under another name`,
      });
    } else if (!same(c.live, c.desired)) {
      out.push({ kind: 'alterTextSearchConfiguration', schema, from: c.live, to: c.desired });
    }
  }

  // Composite types (issue 12): their comments go with their own change (planned in one step).
  for (const c of diffKeyed(live.compositeTypes, desired.compositeTypes, (x) => x.name)) {
    if (c.kind === 'added') out.push({ kind: 'createCompositeType', type: c.desired });
    else if (c.kind === 'removed') out.push({ kind: 'dropCompositeType', type: c.live });
    else if (!same(without(c.live, 'grants'), without(c.desired, 'grants')))
      out.push({ kind: 'alterCompositeType', from: c.live, to: c.desired });
  }

  for (const q of diffKeyed(live.sequences, desired.sequences, (x) => x.name)) {
    if (q.kind === 'added') {
      out.push({ kind: 'createSequence', sequence: q.desired });
      commentChange({ kind: 'sequence', schema, name: q.key }, undefined, q.desired.comment, out);
    } else if (q.kind === 'removed') out.push({ kind: 'dropSequence', sequence: q.live });
    else {
      // Privileges are diffGrants' (where the desired state manages them).
      if (!same(without(q.live, 'comment', 'grants'), without(q.desired, 'comment', 'grants'))) {
        out.push({ kind: 'alterSequence', from: q.live, to: q.desired });
      }
      commentChange({ kind: 'sequence', schema, name: q.key }, q.live.comment, q.desired.comment, out);
    }
  }

  // A table renamed with `renamedFrom` is not supported yet: report it, and neither drop the old
  // table nor create the new one (that would lose the data the rename is meant to keep).
  const renamedAway = new Set<string>();
  const liveNames = new Set(live.tables.map((t) => t.name));
  for (const t of desired.tables) {
    if (t.renamedFrom !== undefined && liveNames.has(t.renamedFrom) && !liveNames.has(t.name)) {
      renamedAway.add(t.renamedFrom);
      out.push({
        kind: 'unsupported',
        object: `table ${schema}.${t.name}`,
        path: docPath(['schemas', schema, 'tables', t.name, 'renamedFrom']),
        reason: `renaming table ${schema}.${t.renamedFrom} to ${t.name} (renamedFrom) is not supported yet`,
      });
    }
  }

  for (const t of diffKeyed(live.tables, desired.tables, (x) => x.name)) {
    const path: PathSegment[] = ['schemas', schema, 'tables', t.key];
    if (t.kind === 'added') {
      if (t.desired.renamedFrom !== undefined && renamedAway.has(t.desired.renamedFrom)) continue;
      newRelation(t.desired, out, t.desired);
      diffPolicies(t.desired, undefined, t.desired, out);
    } else if (t.kind === 'removed') {
      if (!renamedAway.has(t.key)) out.push({ kind: 'dropTable', table: t.live });
    } else {
      diffTable(t.live, t.desired, path, out, typeChanges);
      diffPolicies(t.desired, t.live, t.desired, out);
    }
  }

  for (const v of diffKeyed(live.views, desired.views, (x) => x.name)) {
    if (v.kind === 'added') {
      out.push({ kind: 'createView', view: v.desired });
      viewComments(v.desired, undefined, v.desired, out);
    } else if (v.kind === 'removed') out.push({ kind: 'dropView', view: v.live });
    else {
      if (!same(viewShape(v.live), viewShape(v.desired))) {
        const reason = notReplaceable(v.live.columns, v.desired.columns);
        out.push(
          reason === undefined
            ? { kind: 'replaceView', from: v.live, to: v.desired }
            : { kind: 'recreateView', from: v.live, to: v.desired, reason },
        );
      }
      viewComments(v.desired, v.live, v.desired, out);
    }
  }

  for (const v of diffKeyed(live.materializedViews, desired.materializedViews, (x) => x.name)) {
    if (v.kind === 'added') {
      out.push({ kind: 'createMaterializedView', view: v.desired });
      viewComments(v.desired, undefined, v.desired, out);
    } else if (v.kind === 'removed') out.push({ kind: 'dropMaterializedView', view: v.live });
    else {
      if (v.live.definition !== v.desired.definition || v.live.withData !== v.desired.withData) {
        out.push({ kind: 'replaceMaterializedView', from: v.live, to: v.desired });
      } else if (!same(materializedShape(v.live), materializedShape(v.desired))) {
        out.push({ kind: 'alterMaterializedView', from: v.live, to: v.desired });
      }
      viewComments(v.desired, v.live, v.desired, out);
    }
  }

  diffRoutinesAndTriggers(live, desired, out);
}

/** Policies of a table (issue 12); a new table's are created after it (`live` undefined). */
function diffPolicies(ref: RelationRef, live: Table | undefined, desired: Table, out: Change[]): void {
  const table: RelationRef = { schema: ref.schema, name: ref.name };
  for (const p of diffKeyed(live?.policies ?? [], desired.policies ?? [], (x) => x.name)) {
    if (p.kind === 'added') out.push({ kind: 'createPolicy', table, policy: p.desired });
    else if (p.kind === 'removed') out.push({ kind: 'dropPolicy', table, policy: p.live });
    else if (!same(p.live, p.desired)) out.push({ kind: 'alterPolicy', table, from: p.live, to: p.desired });
  }
}

/** What `CREATE OR REPLACE VIEW` sets: definition and options (columns follow from the definition). */
const viewShape = (v: View) => without(v, 'columns', 'comment');
/** What a materialized view has besides its definition and comments: indexes (with their comments), storage, population. */
const materializedShape = (v: MaterializedView) => ({
  ...without(v, 'columns', 'comment'),
  indexes: [...v.indexes].sort((a, b) => (a.name < b.name ? -1 : 1)).map((i) => without(i, 'valid')),
});

/** Same query, population, indexes and storage: the diff has no change for it but comments. */
export const sameMaterializedView = (a: MaterializedView, b: MaterializedView): boolean =>
  same(materializedShape(a), materializedShape(b));

/**
 * Comment changes of a view or materialized view and its columns. A view that is (re)created loses
 * its comments: the planner re-applies them in the step that creates it.
 */
function viewComments(
  v: View | MaterializedView,
  live: View | MaterializedView | undefined,
  desired: View | MaterializedView,
  out: Change[],
): void {
  const materialized = v.kind === 'materializedView';
  const target: CommentTarget = { kind: v.kind, schema: v.schema, name: v.name };
  commentChange(target, live?.comment, desired.comment, out);
  const liveComments = new Map((live?.columns ?? []).map((c) => [c.name, c.comment]));
  const names = [...new Set([...liveComments.keys(), ...desired.columns.map((c) => c.name)])].sort();
  const wanted = new Map(desired.columns.map((c) => [c.name, c.comment]));
  for (const column of names) {
    if (!wanted.has(column)) continue;
    commentChange(
      { kind: 'viewColumn', schema: v.schema, view: v.name, materialized, column },
      liveComments.get(column),
      wanted.get(column),
      out,
    );
  }
}

function diffEnum(live: EnumType, desired: EnumType, out: Change[]): void {
  const want = desired.values;
  const have = new Set(live.values);
  const kept = want.filter((v) => have.has(v));
  if (kept.length !== live.values.length || kept.some((v, i) => v !== live.values[i])) {
    const removed = live.values.filter((v) => !want.includes(v));
    out.push({
      kind: 'unsupported',
      object: `enum ${desired.schema}.${desired.name}`,
      path: docPath(['schemas', desired.schema, 'enums', desired.name]),
      reason:
        removed.length > 0
          ? `removing enum values (${removed.join(', ')}) is not supported yet`
          : 'reordering enum values is not supported yet',
    });
    return;
  }
  // New values go in one at a time; each is placed next to a value that exists when it runs: the
  // ones after the first existing value follow their predecessor, a leading run goes in backwards
  // before its successor.
  const firstKept = want.findIndex((v) => have.has(v));
  const base = { kind: 'addEnumValue', schema: desired.schema, name: desired.name } as const;
  if (firstKept === -1) {
    for (const v of want) out.push({ ...base, value: v });
    return;
  }
  for (let i = firstKept - 1; i >= 0; i--) out.push({ ...base, value: want[i]!, position: { before: want[i + 1]! } });
  for (let i = firstKept + 1; i < want.length; i++) {
    const v = want[i]!;
    if (have.has(v)) continue;
    out.push(i === want.length - 1 ? { ...base, value: v } : { ...base, value: v, position: { after: want[i - 1]! } });
  }
}

function diffDomain(live: Domain, desired: Domain, out: Change[]): void {
  if (live.type !== desired.type || live.collation !== desired.collation) {
    out.push({
      kind: 'unsupported',
      object: `domain ${desired.schema}.${desired.name}`,
      path: docPath(['schemas', desired.schema, 'domains', desired.name]),
      reason:
        live.type !== desired.type
          ? `changing the base type of a domain (${live.type} → ${desired.type}) is not supported yet`
          : 'changing the collation of a domain is not supported yet',
    });
    return;
  }
  const strip = (d: Domain) => ({
    ...without(d, 'comment', 'grants'),
    checks: [...d.checks].sort((a, b) => (a.name < b.name ? -1 : 1)).map((c) => without(c, 'comment')),
  });
  if (!same(strip(live), strip(desired))) out.push({ kind: 'alterDomain', from: live, to: desired });
  // A check added or replaced gets its comment with it (objects.ts); one kept as it is may change comment.
  for (const c of diffKeyed(live.checks, desired.checks, (x) => x.name)) {
    if (c.kind !== 'both' || c.live.expression !== c.desired.expression) continue;
    const target: CommentTarget = {
      kind: 'domainConstraint',
      schema: desired.schema,
      domain: desired.name,
      name: c.key,
    };
    commentChange(target, c.live.comment, c.desired.comment, out);
  }
}

const allIndexesValid = (r: RelationParts): boolean =>
  r.indexes.every((i) => i.valid) && r.partitions.every(allIndexesValid);

/** A column of both tables (by name) whose type changes and is not binary-coercible: in place, a rewrite. */
const rewrites = (live: Table, desired: Table): boolean =>
  desired.columns.some((c) => {
    const l = live.columns.find((x) => x.name === c.name);
    return l !== undefined && l.type !== c.type && !isBinaryCoercible(l.type, c.type);
  });

/** Comparable form of a column: what `ALTER COLUMN` can change. */
const columnShape = (c: Column) => without(withoutDirectives(c), 'comment');

function diffTable(
  live: Table,
  desired: Table,
  path: readonly PathSegment[],
  out: Change[],
  typeChanges: TypeChangePath,
): void {
  // Most tables of a desired state are the live ones: one comparison of canonical texts (computed
  // once per table object, and already by normalization) settles them.
  // (Canonical forms leave index validity out: an invalid live index still needs its repair.)
  if (allIndexesValid(live) && tablesEqual(live, desired)) return;
  const ref: RelationRef = { schema: desired.schema, name: desired.name };
  const object = `table ${ref.schema}.${ref.name}`;
  if (live.partitionBy === undefined && desired.partitionBy !== undefined) {
    out.push({ kind: 'partitionTable', from: live, to: desired });
    return;
  }
  if (live.partitionBy !== undefined && desired.partitionBy === undefined) {
    out.push({ kind: 'unpartitionTable', from: live, to: desired });
    return;
  }
  if (
    typeChanges === 'swap' &&
    live.partitionBy === undefined &&
    desired.partitionBy === undefined &&
    rewrites(live, desired)
  ) {
    out.push({ kind: 'rewriteTable', from: live, to: desired });
    return;
  }
  if (!same(live.inherits ?? [], desired.inherits ?? [])) {
    out.push({
      kind: 'unsupported',
      object,
      path: docPath([...path, 'inherits']),
      reason: `changing the parents of a live table (INHERITS ${(live.inherits ?? []).join(', ') || 'none'} → ${(desired.inherits ?? []).join(', ') || 'none'}) is not supported yet: run ALTER TABLE … INHERIT / NO INHERIT by hand, then plan again`,
    });
  }
  if (!same(live.partitionBy, desired.partitionBy)) {
    out.push({
      kind: 'unsupported',
      object,
      path: docPath([...path, 'partitionBy']),
      reason:
        live.partitionBy === undefined
          ? 'turning a plain table into a partitioned table is not supported yet'
          : 'changing the partition key of a table is not supported yet',
    });
    return;
  }
  if (live.unlogged !== desired.unlogged) out.push({ kind: 'setTableLogged', table: ref, unlogged: desired.unlogged });

  const liveCols = new Set(live.columns.map((c) => c.name));
  const renamedAway = new Set<string>();
  for (const c of desired.columns) {
    if (c.renamedFrom !== undefined && liveCols.has(c.renamedFrom) && !liveCols.has(c.name)) {
      renamedAway.add(c.renamedFrom);
      const from = live.columns.find((x) => x.name === c.renamedFrom)!;
      out.push({ kind: 'replaceColumn', table: ref, from, to: c });
      commentChange({ kind: 'column', schema: ref.schema, table: ref.name, column: c.name }, undefined, c.comment, out);
    }
  }
  for (const c of diffKeyed(live.columns, desired.columns, (x) => x.name)) {
    const target: CommentTarget = { kind: 'column', schema: ref.schema, table: ref.name, column: c.key };
    if (c.kind === 'added') {
      if (c.desired.renamedFrom !== undefined && renamedAway.has(c.desired.renamedFrom)) continue;
      out.push({ kind: 'addColumn', table: ref, column: c.desired });
      commentChange(target, undefined, c.desired.comment, out);
    } else if (c.kind === 'removed') {
      if (!renamedAway.has(c.key)) out.push({ kind: 'dropColumn', table: ref, column: c.live });
    } else {
      diffColumn(ref, c.live, c.desired, [...path, 'columns', c.key], out);
      commentChange(target, c.live.comment, c.desired.comment, out);
    }
  }
  diffParts(ref, live, desired, path, out);
}

function diffColumn(
  table: RelationRef,
  live: Column,
  desired: Column,
  path: readonly PathSegment[],
  out: Change[],
): void {
  if (same(columnShape(live), columnShape(desired))) return;
  const object = `column ${table.schema}.${table.name}.${desired.name}`;
  const unsupported = (reason: string, field: string): void => {
    out.push({ kind: 'unsupported', object, path: docPath([...path, field]), reason });
  };
  if (live.type !== desired.type && !isBinaryCoercible(live.type, desired.type)) {
    // In place it would rewrite the table under ACCESS EXCLUSIVE: a shadow column instead.
    out.push({ kind: 'replaceColumn', table, from: live, to: desired });
    return;
  }
  // A changed collation is an alterColumn: the planner decides how (techniques/collation.ts).
  if (!same(live.generated, desired.generated)) {
    if (live.generated === undefined) {
      unsupported('turning a plain column into a generated column is not supported yet', 'generated');
      return;
    }
    if (desired.generated !== undefined && live.generated.stored !== desired.generated.stored) {
      unsupported('switching a generated column between stored and virtual is not supported yet', 'generated');
      return;
    }
  }
  out.push({ kind: 'alterColumn', table, from: live, to: desired });
}

const indexShape = (ix: Index) => without(ix, 'valid', 'comment', 'with');
/** A constraint as far as its definition goes (its comment changes in place). */
const shape = <T extends { readonly comment?: string }>(x: T) => without(x, 'comment');
const validity = <T extends { readonly valid: boolean; readonly comment?: string }>(x: T) =>
  without(x, 'valid', 'comment');

/**
 * Storage parameters that only an index build reads: BRIN's `pages_per_range` lives in the index's
 * metapage once built, so `ALTER INDEX … SET` would change the catalog and not the index.
 */
const BUILD_ONLY_INDEX_PARAMETERS = new Set(['pages_per_range']);

/** Same storage parameters, in any order (PostgreSQL keeps them in the order set; order means nothing). */
const sameParameters = (a: StorageParameters | undefined, b: StorageParameters | undefined): boolean =>
  same(a ?? {}, b ?? {});

function storageRebuilds(a: Index, b: Index): boolean {
  const names = new Set([...Object.keys(a.with ?? {}), ...Object.keys(b.with ?? {})]);
  return [...names].some((n) => BUILD_ONLY_INDEX_PARAMETERS.has(n) && a.with?.[n] !== b.with?.[n]);
}

const sameReplicaIdentity = (a: ReplicaIdentity | undefined, b: ReplicaIdentity | undefined): boolean =>
  same(a ?? null, b ?? null);

/** Emits the changes that create a relation (table or partition) and then its foreign keys and comments. */
function newRelation(rel: Table | Partition, out: Change[], table?: Table, parent?: RelationRef): void {
  if (table !== undefined) out.push({ kind: 'createTable', table });
  else if (parent !== undefined && rel.kind === 'partition') out.push({ kind: 'addPartition', parent, partition: rel });
  newRelationExtras(rel, out);
}

/** Foreign keys and comments of a relation being created (they are planned after every new table exists). */
function newRelationExtras(rel: Table | Partition, out: Change[]): void {
  const ref: RelationRef = { schema: rel.schema, name: rel.name };
  for (const fk of rel.foreignKeys) out.push({ kind: 'addForeignKey', table: ref, foreignKey: fk });
  commentChange({ kind: 'table', schema: ref.schema, name: ref.name }, undefined, rel.comment, out);
  if (rel.kind === 'table') {
    for (const c of rel.columns) {
      commentChange({ kind: 'column', schema: ref.schema, table: ref.name, column: c.name }, undefined, c.comment, out);
    }
  }
  for (const ix of rel.indexes) {
    commentChange({ kind: 'index', schema: ref.schema, table: ref.name, name: ix.name }, undefined, ix.comment, out);
  }
  for (const p of rel.partitions) newRelationExtras(p, out);
}

/** Constraints, indexes, partitions and comment: what tables and partitions share. */
function diffParts(
  ref: RelationRef,
  live: RelationParts,
  desired: RelationParts,
  path: readonly PathSegment[],
  out: Change[],
): void {
  const table = ref;
  // A constraint added or replaced gets its comment in the step that creates it (src/plan); one
  // that stays as it is may change its comment alone.
  const constraintComment = (name: string, from: string | undefined, to: string | undefined) =>
    commentChange({ kind: 'constraint', schema: ref.schema, table: ref.name, name }, from, to, out);
  // Names of the keys and indexes rebuilt below (dropped and created again).
  const rebuilt = new Set<string>();

  if (!sameParameters(live.with, desired.with)) {
    out.push({ kind: 'setStorageParameters', table, ...opt('from', live.with), ...opt('to', desired.with) });
  }
  if ((live.rowLevelSecurity ?? false) !== (desired.rowLevelSecurity ?? false)) {
    out.push({ kind: 'setRowLevelSecurity', table, setting: 'enable', on: desired.rowLevelSecurity === true });
  }
  if ((live.forceRowLevelSecurity ?? false) !== (desired.forceRowLevelSecurity ?? false)) {
    out.push({ kind: 'setRowLevelSecurity', table, setting: 'force', on: desired.forceRowLevelSecurity === true });
  }

  // Primary key: one per table, whatever its name.
  const lpk = live.primaryKey;
  const dpk = desired.primaryKey;
  if (lpk && !dpk) out.push({ kind: 'dropPrimaryKey', table, primaryKey: lpk });
  else if (!lpk && dpk) out.push({ kind: 'addPrimaryKey', table, primaryKey: dpk });
  else if (lpk && dpk && (lpk.name !== dpk.name || !same(shape(lpk), shape(dpk)))) {
    out.push({ kind: 'dropPrimaryKey', table, primaryKey: lpk, replacedBy: dpk });
    out.push({ kind: 'addPrimaryKey', table, primaryKey: dpk, replaces: lpk });
    rebuilt.add(lpk.name);
  } else if (lpk && dpk) constraintComment(dpk.name, lpk.comment, dpk.comment);

  for (const u of diffKeyed(live.uniqueConstraints, desired.uniqueConstraints, (x) => x.name)) {
    if (u.kind === 'added') out.push({ kind: 'addUnique', table, constraint: u.desired });
    else if (u.kind === 'removed') out.push({ kind: 'dropUnique', table, constraint: u.live });
    else if (!same(shape(u.live), shape(u.desired))) {
      out.push({ kind: 'dropUnique', table, constraint: u.live, replacedBy: u.desired });
      out.push({ kind: 'addUnique', table, constraint: u.desired, replaces: u.live });
      rebuilt.add(u.key);
    } else constraintComment(u.key, u.live.comment, u.desired.comment);
  }

  for (const c of diffKeyed(live.checks, desired.checks, (x) => x.name)) {
    if (c.kind === 'added') out.push({ kind: 'addCheck', table, check: c.desired });
    else if (c.kind === 'removed') out.push({ kind: 'dropCheck', table, check: c.live });
    else if (!same(validity(c.live), validity(c.desired))) {
      out.push({ kind: 'dropCheck', table, check: c.live, replacedBy: c.desired });
      out.push({ kind: 'addCheck', table, check: c.desired, replaces: c.live });
    } else {
      if (!c.live.valid && c.desired.valid) out.push({ kind: 'validateCheck', table, check: c.desired });
      else if (c.live.valid && !c.desired.valid) {
        out.push(cannotInvalidate(`check ${c.key} on ${ref.schema}.${ref.name}`, [...path, 'checks', c.key]));
      }
      constraintComment(c.key, c.live.comment, c.desired.comment);
    }
  }

  for (const f of diffKeyed(live.foreignKeys, desired.foreignKeys, (x) => x.name)) {
    if (f.kind === 'added') out.push({ kind: 'addForeignKey', table, foreignKey: f.desired });
    else if (f.kind === 'removed') out.push({ kind: 'dropForeignKey', table, foreignKey: f.live });
    else if (!same(validity(f.live), validity(f.desired))) {
      out.push({ kind: 'dropForeignKey', table, foreignKey: f.live, replacedBy: f.desired });
      out.push({ kind: 'addForeignKey', table, foreignKey: f.desired, replaces: f.live });
    } else {
      if (!f.live.valid && f.desired.valid) out.push({ kind: 'validateForeignKey', table, foreignKey: f.desired });
      else if (f.live.valid && !f.desired.valid) {
        out.push(
          cannotInvalidate(`foreign key ${f.key} on ${ref.schema}.${ref.name}`, [...path, 'foreignKeys', f.key]),
        );
      }
      constraintComment(f.key, f.live.comment, f.desired.comment);
    }
  }

  for (const x of diffKeyed(live.exclusionConstraints, desired.exclusionConstraints, (e) => e.name)) {
    if (x.kind === 'added') out.push({ kind: 'addExclusion', table, constraint: x.desired });
    else if (x.kind === 'removed') out.push({ kind: 'dropExclusion', table, constraint: x.live });
    else if (!same(shape(x.live), shape(x.desired))) {
      out.push({ kind: 'dropExclusion', table, constraint: x.live, replacedBy: x.desired });
      out.push({ kind: 'addExclusion', table, constraint: x.desired, replaces: x.live });
    } else constraintComment(x.key, x.live.comment, x.desired.comment);
  }

  for (const i of diffKeyed(live.indexes, desired.indexes, (x) => x.name)) {
    const target: CommentTarget = { kind: 'index', schema: ref.schema, table: ref.name, name: i.key };
    if (i.kind === 'added') {
      out.push({ kind: 'createIndex', table, index: i.desired });
      commentChange(target, undefined, i.desired.comment, out);
    } else if (i.kind === 'removed') out.push({ kind: 'dropIndex', table, index: i.live });
    else {
      if (!same(indexShape(i.live), indexShape(i.desired)) || storageRebuilds(i.live, i.desired)) {
        out.push({ kind: 'dropIndex', table, index: i.live, replacedBy: i.desired });
        out.push({ kind: 'createIndex', table, index: i.desired, replaces: i.live });
        rebuilt.add(i.key);
      } else {
        if (!i.live.valid) out.push({ kind: 'repairIndex', table, index: i.desired });
        if (!sameParameters(i.live.with, i.desired.with)) {
          out.push({
            kind: 'setStorageParameters',
            table,
            index: i.key,
            ...opt('from', i.live.with),
            ...opt('to', i.desired.with),
          });
        }
      }
      commentChange(target, i.live.comment, i.desired.comment, out);
    }
  }

  if (!sameReplicaIdentity(live.replicaIdentity, desired.replicaIdentity)) {
    out.push({
      kind: 'setReplicaIdentity',
      table,
      ...opt('from', live.replicaIdentity),
      ...opt('to', desired.replicaIdentity),
    });
  } else if (desired.replicaIdentity?.kind === 'index' && rebuilt.has(desired.replicaIdentity.index)) {
    // Dropping the index behind the replica identity leaves the table with none until it is set again.
    out.push({
      kind: 'unsupported',
      object: `table ${ref.schema}.${ref.name}`,
      path: docPath([...path, 'replicaIdentity']),
      reason: `index ${desired.replicaIdentity.index} is the replica identity and is rebuilt in this plan: set the replica identity to another index (or FULL) in a plan of its own first`,
    });
  }

  if (live.clusterOn !== desired.clusterOn) {
    out.push({ kind: 'setClusterOn', table, ...opt('from', live.clusterOn), ...opt('to', desired.clusterOn) });
  } else if (desired.clusterOn !== undefined && rebuilt.has(desired.clusterOn)) {
    // The flag goes with the old index: the rebuilt one would not have it.
    out.push({
      kind: 'unsupported',
      object: `table ${ref.schema}.${ref.name}`,
      path: docPath([...path, 'clusterOn']),
      reason: `index ${desired.clusterOn} is the table's CLUSTER ON index and is rebuilt in this plan: remove clusterOn (or set it to another index) in a plan of its own first`,
    });
  }

  for (const p of diffKeyed(live.partitions, desired.partitions, (x) => `${x.schema}.${x.name}`)) {
    const ppath = [...path, 'partitions', p.kind === 'removed' ? p.live.name : p.desired.name];
    if (p.kind === 'added') newRelation(p.desired, out, undefined, ref);
    else if (p.kind === 'removed') out.push({ kind: 'dropPartition', parent: ref, partition: p.live });
    else if (!same(p.live.bound, p.desired.bound)) {
      out.push({ kind: 'dropPartition', parent: ref, partition: p.live, replacedBy: p.desired });
      out.push({ kind: 'addPartition', parent: ref, partition: p.desired, replaces: p.live });
      newRelationExtras(p.desired, out);
    } else if (!same(p.live.notNullNames ?? {}, p.desired.notNullNames ?? {})) {
      out.push({
        kind: 'unsupported',
        object: `partition ${p.desired.schema}.${p.desired.name}`,
        path: docPath([...ppath, 'notNullNames']),
        reason:
          'PostgreSQL cannot rename a NOT NULL constraint a partition inherits: detach the partition, rename its constraint and attach it again by hand, or give notNullNames the names it has',
      });
    } else if (!same(p.live.partitionBy, p.desired.partitionBy)) {
      out.push({
        kind: 'unsupported',
        object: `partition ${p.desired.schema}.${p.desired.name}`,
        path: docPath([...ppath, 'partitionBy']),
        reason: 'changing how a partition is itself partitioned is not supported yet',
      });
    } else {
      diffParts({ schema: p.desired.schema, name: p.desired.name }, p.live, p.desired, ppath, out);
    }
  }

  commentChange({ kind: 'table', schema: ref.schema, name: ref.name }, live.comment, desired.comment, out);
}

function cannotInvalidate(object: string, path: readonly PathSegment[]): Change {
  return {
    kind: 'unsupported',
    object,
    path: docPath([...path, 'valid']),
    reason: 'the live constraint is validated and PostgreSQL cannot make it NOT VALID again: drop `valid: false`',
  };
}
