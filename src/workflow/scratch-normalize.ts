/**
 * Normalization of views and materialized views through a scratch database (scratch.ts).
 *
 * Tables are normalized on the live database (normalize.ts: empty copies in a rolled-back
 * transaction). That cannot work for a view: its text names real tables (`FROM customer`) whose
 * desired shape may not exist live yet, and creating it there would lock live objects. So, when the
 * desired state has a view that must go through the server (`viewsNeedingServer`), the whole
 * desired state is built in a scratch database — schemas, extensions, enums, domains, sequences,
 * tables with their columns, primary keys (a view may group by one) and partitions — and then its
 * views and materialized views, in rounds: whatever fails is tried again after the others, until a
 * round creates nothing (views may read each other in any order). The scratch database is then read
 * by the same introspection as the live one: the normalized definitions, the columns of each view
 * (names, types: what `CREATE OR REPLACE VIEW` may change) and the desired dependency graph come
 * from there.
 *
 * Definitions are created as written, with `search_path` set to the view's own schema, then public
 * (the rule for every desired-state expression). A view the plan does not change that cannot be
 * built there (it reads a function zdm does not manage yet, say) keeps its live facts; a view that
 * changes must build. A definition equal byte for byte to what the live
 * database prints for the view is kept as it is (the server's deparse is not always idempotent) —
 * unless a table it reads changes in the plan: then the scratch database's text is the truth.
 */

import type { Queryable } from '../db/connection.js';
import { introspect } from '../introspect/index.js';
import { stableStringify, tablesEqual } from '../model/canonical.js';
import { compositeTypesUsedFirst, isDomainOverCompositeType } from '../model/composite-types.js';
import { dependencyGraph } from '../model/dependencies.js';
import { objectKey } from '../model/objects.js';
import { collationKey, textSearchConfigurationKey } from '../model/text-search.js';
import type {
  Cast,
  DatabaseModel,
  Domain,
  Index,
  MaterializedView,
  Partition,
  SchemaModel,
  Table,
  View,
  ViewColumn,
} from '../model/types.js';
import { createCastSql } from '../sql/casts.js';
import { createCollationSql } from '../sql/collations.js';
import { columnDefinition } from '../sql/columns.js';
import { createCompositeTypeSql } from '../sql/composite-types.js';
import { primaryKeySql } from '../sql/constraints.js';
import { createIndexSql } from '../sql/indexes.js';
import { partitionBoundSql, partitionBySql } from '../sql/partitions.js';
import { qualifiedName, quoteIdent } from '../sql/quote.js';
import { createTextSearchConfigurationSql } from '../sql/text-search.js';
import { createDomainSql, createEnumSql } from '../sql/types.js';
import { createMaterializedViewSql, createViewSql } from '../sql/views.js';
import { keep, mergeKeys, NormalizeError, type NormalizeIssue } from './normalize.js';
import { buildCodeObjects, routineObjects, routinesNeedingServer, withServerRoutines } from './scratch-routines.js';

type ViewLike = View | MaterializedView;
const keyOf = (v: ViewLike): string => objectKey(v.kind, v.schema, v.name);

function viewsOf(m: DatabaseModel): Map<string, ViewLike> {
  const out = new Map<string, ViewLike>();
  for (const s of m.schemas) for (const v of [...s.views, ...s.materializedViews]) out.set(keyOf(v), v);
  return out;
}

/**
 * Keys of the desired views and materialized views the server must see: new ones, ones whose text
 * is not the live one, materialized views whose index definitions are not the live ones, and every
 * one that reads (directly or through other views) a table whose columns the plan changes (their
 * names, types or collations: what a view's text binds to; a new CHECK or index on the table does
 * not change what the view reads). Empty: the live facts (columns, dependencies) hold for the
 * desired state as it is.
 */
export function viewsNeedingServer(desired: DatabaseModel, live: DatabaseModel): string[] {
  const liveViews = viewsOf(live);
  const out = new Set<string>();
  const changedTables = changedTableKeys(desired, live);
  const affected = dependencyGraph(live).dependentsClosure(changedTables);
  for (const [k, v] of viewsOf(desired)) {
    const l = liveViews.get(k);
    if (l === undefined || l.definition !== v.definition || affected.has(k)) out.add(k);
    else if (v.kind === 'materializedView' && l.kind === 'materializedView' && !sameIndexes(v.indexes, l.indexes)) {
      out.add(k);
    }
  }
  return [...out].sort();
}

function changedTableKeys(desired: DatabaseModel, live: DatabaseModel): Set<string> {
  const want = new Map(
    desired.schemas.flatMap((s) => s.tables.map((t) => [objectKey('table', s.name, t.name), t] as const)),
  );
  const out = new Set<string>();
  for (const s of live.schemas) {
    for (const t of s.tables) {
      const k = objectKey('table', s.name, t.name);
      const d = want.get(k);
      if (d === undefined || (!tablesEqual(t, d) && columnsShape(t) !== columnsShape(d))) {
        out.add(k);
        for (const p of partitionsOf(t)) out.add(objectKey('table', p.schema, p.name));
      }
    }
  }
  return out;
}

/** What a view's text binds to in a table: its columns' names, types and collations, in order. */
const columnsShape = (t: Table): string => JSON.stringify(t.columns.map((c) => [c.name, c.type, c.collation ?? '']));

function partitionsOf(r: Table | Partition): Partition[] {
  return r.partitions.flatMap((p) => [p, ...partitionsOf(p)]);
}

const indexText = (ix: Index): string => JSON.stringify([ix.name, ix.keys, ix.where, ix.unique, ix.include]);
function sameIndexes(a: readonly Index[], b: readonly Index[]): boolean {
  const t = (xs: readonly Index[]) => xs.map(indexText).sort().join('\n');
  return t(a) === t(b);
}

/**
 * The desired state with the live facts of views that need no server: their columns (with the
 * desired comments) and the live dependency graph.
 */
export function withLiveViewFacts(desired: DatabaseModel, live: DatabaseModel): DatabaseModel {
  const liveViews = viewsOf(live);
  return {
    ...desired,
    dependencies: live.dependencies ?? [],
    schemas: desired.schemas.map((s) => ({
      ...s,
      views: s.views.map((v) => withColumnsOf(v, liveViews.get(keyOf(v)))),
      materializedViews: s.materializedViews.map((v) => withColumnsOf(v, liveViews.get(keyOf(v)))),
    })),
  };
}

/** `v` with the columns of `from` (a server's), carrying the comments `v` gives them. */
function withColumnsOf<T extends ViewLike>(v: T, from: ViewLike | undefined): T {
  if (from === undefined) return v;
  return { ...v, columns: mergeColumns(v.columns, from.columns) };
}

function mergeColumns(desired: readonly ViewColumn[], server: readonly ViewColumn[]): ViewColumn[] {
  const comments = new Map(desired.map((c) => [c.name, c.comment]));
  return server.map((c) => {
    const { comment: _c, ...rest } = c;
    const comment = comments.get(c.name);
    return comment !== undefined ? { ...rest, comment } : rest;
  });
}

/** One statement; its failure is the caller's to record. */
async function attempt(client: Queryable, sql: string): Promise<string | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const schemaNames = (m: DatabaseModel): Set<string> =>
  new Set(['pg_catalog', 'public', ...m.schemas.map((s) => s.name), ...m.extensions.flatMap((e) => e.schema ?? [])]);

/**
 * Builds the desired state's schemas, types, sequences and tables in the (empty) scratch database.
 * What fails is returned by object (`table public.t`: message): not an error by itself (a table of
 * a type zdm does not manage, say), but the reason a view over it fails.
 */
async function buildTables(client: Queryable, desired: DatabaseModel): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  const schemas = schemaNames(desired);
  const note = (key: string, message: string | undefined) => {
    if (message !== undefined) failed.set(key, message);
  };
  for (const s of desired.schemas) {
    if (s.name !== 'public')
      note(`schema ${s.name}`, await attempt(client, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.name)}`));
  }
  for (const e of desired.extensions) {
    note(
      `extension ${e.name}`,
      await attempt(
        client,
        `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)}${e.schema ? ` SCHEMA ${quoteIdent(e.schema)}` : ''}`,
      ),
    );
  }
  for (const s of desired.schemas) {
    for (const c of s.collations ?? []) {
      note(collationKey(s.name, c.name), await attempt(client, createCollationSql(s.name, c).join('; ')));
    }
    for (const c of s.textSearchConfigurations ?? []) {
      note(
        textSearchConfigurationKey(s.name, c.name),
        await attempt(client, createTextSearchConfigurationSql(s.name, c).join('; ')),
      );
    }
  }
  for (const s of desired.schemas)
    for (const e of s.enums) note(`enum ${s.name}.${e.name}`, await attempt(client, createEnumSql(e)));
  // Domains may be over other domains: in rounds; one whose checks call what is not there is made bare.
  const buildDomains = async (domains: Domain[]) => {
    for (let progress = true; domains.length > 0 && progress; ) {
      progress = false;
      const left: Domain[] = [];
      for (const d of domains) {
        const { default: _default, ...bare } = d;
        let error = await attempt(client, createDomainSql(d, schemas));
        if (error !== undefined) error = await attempt(client, createDomainSql({ ...bare, checks: [] }, schemas));
        if (error === undefined) {
          progress = true;
          failed.delete(`domain ${d.schema}.${d.name}`);
        } else {
          left.push(d);
          failed.set(`domain ${d.schema}.${d.name}`, error);
        }
      }
      domains = left;
    }
  };
  // Domains over a composite type after the composite types.
  const allDomains = desired.schemas.flatMap((s) => s.domains);
  await buildDomains(allDomains.filter((d) => !isDomainOverCompositeType(d, desired)));
  for (const s of desired.schemas) {
    for (const q of s.sequences) {
      note(
        `sequence ${s.name}.${q.name}`,
        await attempt(client, `CREATE SEQUENCE ${qualifiedName(s.name, q.name)} AS ${q.type}`),
      );
    }
  }
  for (const t of compositeTypesUsedFirst(desired.schemas.flatMap((s) => s.compositeTypes))) {
    note(objectKey('compositeType', t.schema, t.name), await attempt(client, createCompositeTypeSql(t, schemas)));
  }
  await buildDomains(allDomains.filter((d) => isDomainOverCompositeType(d, desired)));
  for (const s of desired.schemas) {
    for (const t of s.tables) {
      // Columns (without defaults: they may call functions the scratch database has not), the
      // primary key (a view may GROUP BY it), partitions: what a view can read or depend on.
      const lines = t.columns.map((c) => columnDefinition(c, { schemas, noDefault: true }));
      if (t.primaryKey) lines.push(primaryKeySql(t.primaryKey));
      const by = t.partitionBy ? ` ${partitionBySql(t.partitionBy)}` : '';
      const error = await attempt(client, `CREATE TABLE ${qualifiedName(s.name, t.name)} (${lines.join(', ')})${by}`);
      note(objectKey('table', s.name, t.name), error);
      if (error === undefined) await buildPartitions(client, t, failed);
    }
  }
  return failed;
}

/** Each cast created (its SQL from the desired state, already in the server's words): what fails, with why. */
async function buildCasts(client: Queryable, casts: readonly Cast[]): Promise<Map<Cast, string>> {
  const failed = new Map<Cast, string>();
  for (const c of casts) {
    const error = await attempt(client, createCastSql(c).join('; '));
    if (error !== undefined) failed.set(c, error);
  }
  return failed;
}

async function buildPartitions(
  client: Queryable,
  parent: Table | Partition,
  failed: Map<string, string>,
): Promise<void> {
  for (const p of parent.partitions) {
    const by = p.partitionBy ? ` ${partitionBySql(p.partitionBy)}` : '';
    const error = await attempt(
      client,
      `CREATE TABLE ${qualifiedName(p.schema, p.name)} PARTITION OF ${qualifiedName(parent.schema, parent.name)} ${partitionBoundSql(p.bound)}${by}`,
    );
    if (error !== undefined) failed.set(objectKey('table', p.schema, p.name), error);
    else await buildPartitions(client, p, failed);
  }
}

function viewPath(v: ViewLike): string[] {
  return ['schemas', v.schema, v.kind === 'view' ? 'views' : 'materializedViews', v.name];
}

/** Creates the views and materialized views in rounds; what never succeeds is returned with its last error. */
async function buildViews(client: Queryable, views: readonly ViewLike[]): Promise<Map<ViewLike, string>> {
  let pending = [...views];
  const errors = new Map<ViewLike, string>();
  let searchPath: string | undefined;
  for (let progress = true; pending.length > 0 && progress; ) {
    progress = false;
    const left: ViewLike[] = [];
    for (const v of pending) {
      if (searchPath !== v.schema) {
        await client.query(`SET search_path = ${quoteIdent(v.schema)}, public`);
        searchPath = v.schema;
      }
      // Never populated here: only the definition and the columns matter.
      const error = await attempt(
        client,
        v.kind === 'view' ? createViewSql(v) : createMaterializedViewSql({ ...v, withData: false }),
      );
      if (error === undefined) {
        progress = true;
        errors.delete(v);
      } else {
        left.push(v);
        errors.set(v, error);
      }
    }
    pending = left;
  }
  await client.query('RESET search_path');
  return errors;
}

/**
 * `desired` (its tables already normalized) with every view and materialized view in the form the
 * server prints it, their columns, and the dependency graph of the desired state, from a scratch
 * database `client` is connected to (empty). Throws NormalizeError listing every definition the
 * server rejected, each at its document path.
 */
export async function normalizeViews(
  client: Queryable,
  desired: DatabaseModel,
  live: DatabaseModel,
): Promise<DatabaseModel> {
  const tableFailures = await buildTables(client, desired);
  const all = desired.schemas.flatMap((s): ViewLike[] => [...s.views, ...s.materializedViews]);
  // Routines before the views that may call them, again after the views for SQL-standard bodies
  // that read views; triggers last (scratch-routines.ts).
  const code = routineObjects(desired);
  let routineFailures = await buildCodeObjects(client, code.routines);
  // Casts after the functions they use, before the views and SQL-standard bodies that use them;
  // again after the second round of routines (a cast's function may have a SQL-standard body).
  let castFailures = await buildCasts(client, desired.casts ?? []);
  const failed = await buildViews(client, all);
  if (routineFailures.size > 0) routineFailures = await buildCodeObjects(client, [...routineFailures.keys()]);
  if (castFailures.size > 0) {
    castFailures = await buildCasts(client, [...castFailures.keys()]);
    if (routineFailures.size > 0) routineFailures = await buildCodeObjects(client, [...routineFailures.keys()]);
  }
  const triggerFailures = await buildCodeObjects(client, code.triggers);
  const issues: NormalizeIssue[] = [];
  const issue = (segments: string[], message: string) => issues.push({ path: segments.join('.'), segments, message });
  // A routine or trigger that is the live one needs no server: one that cannot be built here is kept
  // with its live facts. Any other failure is the desired state's.
  // A cast the live database has as it is needs no server, like a routine.
  const liveCasts = new Set((live.casts ?? []).map((c) => stableStringify(c)));
  for (const [c, message] of castFailures) {
    if (!liveCasts.has(stableStringify(c))) issue(['casts', String((desired.casts ?? []).indexOf(c))], message);
  }
  const neededCode = new Set(routinesNeedingServer(desired, live));
  const keptCode = new Set<string>();
  for (const [o, message] of [...routineFailures, ...triggerFailures]) {
    if (neededCode.has(o.key)) issue(o.path, message);
    else keptCode.add(o.key);
  }
  // A view the plan leaves as it is may read what the scratch database cannot have (a function zdm
  // does not manage yet): its live facts hold, and it is not an error. Any other failure is, with
  // what could not be built as its likely reason.
  const needed = new Set(viewsNeedingServer(desired, live));
  const liveViews = viewsOf(live);
  const kept = new Set<ViewLike>();
  for (const [v, message] of failed) {
    if (!needed.has(keyOf(v)) && liveViews.has(keyOf(v))) {
      kept.add(v);
      tableFailures.set(keyOf(v), message);
    }
  }
  for (const [v, message] of failed) {
    if (kept.has(v)) continue;
    const context = [...tableFailures].map(([k, m]) => `${k} could not be built in the scratch database: ${m}`);
    issue(viewPath(v), context.length > 0 ? `${message} (${context.join('; ')})` : message);
  }
  // Indexes of the materialized views, on the materialized views built above.
  const schemas = schemaNames(desired);
  for (const s of desired.schemas) {
    for (const v of s.materializedViews) {
      if (failed.has(v)) continue;
      await client.query(`SET search_path = ${quoteIdent(s.name)}, public`);
      for (const ix of v.indexes) {
        const error = await attempt(client, createIndexSql({ schema: s.name, name: v.name }, ix, { schemas }));
        if (error !== undefined) issue([...viewPath(v), 'indexes', ix.name], error);
      }
      await client.query('RESET search_path');
    }
  }
  if (issues.length > 0) throw new NormalizeError(issues);

  const got = await introspect(client);
  const gotViews = viewsOf(got);
  const affected = dependencyGraph(live).dependentsClosure(changedTableKeys(desired, live));
  const normalizeOne = <T extends ViewLike>(v: T): T => {
    const k = keyOf(v);
    if (kept.has(v)) return withColumnsOf(v, liveViews.get(k));
    const g = gotViews.get(k)!;
    const l = liveViews.get(k);
    const known = new Set(g.columns.map((c) => c.name));
    for (const c of v.columns) {
      if (!known.has(c.name)) {
        issue(
          [...viewPath(v), 'columns', c.name],
          `the ${v.kind === 'view' ? 'view' : 'materialized view'} has no column ${c.name} (its columns: ${[...known].join(', ')})`,
        );
      }
    }
    const definition = affected.has(k)
      ? g.definition
      : (keep(v.definition, g.definition, l?.definition) ?? g.definition);
    const out = { ...v, definition, columns: mergeColumns(v.columns, g.columns) };
    if (v.kind !== 'materializedView' || g.kind !== 'materializedView') return out;
    const gotIndexes = new Map(g.indexes.map((ix) => [ix.name, ix]));
    const liveIndexes = new Map((l?.kind === 'materializedView' ? l.indexes : []).map((ix) => [ix.name, ix]));
    return {
      ...out,
      indexes: v.indexes.map((ix) => {
        const n = gotIndexes.get(ix.name);
        if (n === undefined) return ix;
        const li = liveIndexes.get(ix.name);
        const { where: _w, ...rest } = ix;
        const where = keep(ix.where, n.where, li?.where);
        return { ...rest, keys: mergeKeys(ix.keys, n.keys, li?.keys), ...(where !== undefined ? { where } : {}) };
      }),
    };
  };
  const schemasOut: SchemaModel[] = withServerRoutines(
    desired.schemas.map((s) => ({
      ...s,
      views: s.views.map(normalizeOne),
      materializedViews: s.materializedViews.map(normalizeOne),
    })),
    got,
    neededCode,
  );
  if (issues.length > 0) throw new NormalizeError(issues);
  // The views kept with their live facts keep their live edges too.
  const keptKeys = new Set([...[...kept].map(keyOf), ...keptCode]);
  const keptEdges = (live.dependencies ?? []).filter((d) => keptKeys.has(d.from));
  return { ...desired, schemas: schemasOut, dependencies: [...(got.dependencies ?? []), ...keptEdges] };
}
