/**
 * Normalizes a desired-state model through the server, so it compares equal to introspection.
 *
 * People write `amount > 0`, `varchar(20)`, `order_status`, `from: ['2024-10-01']`; the live database
 * says `(amount > (0)::numeric)`, `character varying(20)`, `public.order_status`,
 * `'2024-10-01 00:00:00+00'`. Only PostgreSQL knows how it will deparse an expression, so we ask it:
 * inside a transaction that is always rolled back, every desired table is created as an empty copy
 * in a scratch schema (with its defaults, generated columns, checks, indexes, exclusion constraints
 * and partitions), new enums, domains, sequences and schemas are created where they belong, and the
 * scratch objects are read back by the same introspection that reads the live database.
 *
 * Nothing here takes a lock on an existing user table: only new, empty scratch objects are created,
 * and all of it vanishes with the rollback.
 *
 * Unqualified names in desired expressions and types resolve as if `search_path` were the table's
 * own schema, then `public` (then pg_catalog, as always).
 */

import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/connection.js';
import type { RelationRef } from '../diff/changes.js';
import { InputError } from '../errors.js';
import { introspect } from '../introspect/index.js';
import { domainsEqual, tablesEqual } from '../model/canonical.js';
import { castKey, sortedCasts } from '../model/casts.js';
import { compositeTypesUsedFirst, isDomainOverCompositeType } from '../model/composite-types.js';
import { qualified } from '../model/names.js';
import { routineKey } from '../model/routines.js';
import type {
  Cast,
  Column,
  DatabaseModel,
  Domain,
  ExclusionConstraint,
  Index,
  IndexKey,
  Partition,
  Policy,
  RelationParts,
  StorageParameters,
  Table,
} from '../model/types.js';
import { omit } from '../plan/model-edit.js';
import { createCastSql } from '../sql/casts.js';
import { createCollationSql } from '../sql/collations.js';
import { columnCompressionSql, columnStorageSql } from '../sql/columns.js';
import { createCompositeTypeSql } from '../sql/composite-types.js';
import { addConstraintSql, checkSql, exclusionSql } from '../sql/constraints.js';
import { createIndexSql } from '../sql/indexes.js';
import { createPartitionOfSql } from '../sql/partitions.js';
import { createPolicySql } from '../sql/policies.js';
import { quoteIdent } from '../sql/quote.js';
import { createRoutineSql } from '../sql/routines.js';
import { createExtensionSql, createSchemaSql } from '../sql/schemas.js';
import { createSequenceSql } from '../sql/sequences.js';
import { searchPathSql } from '../sql/session.js';
import { createTableOfColumnsSql } from '../sql/tables.js';
import { createTextSearchConfigurationSql } from '../sql/text-search.js';
import { createDomainSql, createEnumSql } from '../sql/types.js';
import { missingRoles } from './roles.js';

export interface NormalizeIssue {
  /** Document path of the object, e.g. `schemas.public.tables.orders.checks.chk_amount`. */
  readonly path: string;
  /** The same path as segments (names may contain dots), for mapping to a YAML location. */
  readonly segments: readonly string[];
  readonly message: string;
}

export class NormalizeError extends InputError {
  override readonly name = 'NormalizeError';
  constructor(readonly issues: readonly NormalizeIssue[]) {
    super(
      `PostgreSQL rejected ${issues.length} definition(s) of the desired state:\n` +
        issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
    );
  }
}

/** Separates the segments of document paths built here: no identifier can contain NUL. */
const SEP = '\u0000';

interface Scratch {
  readonly schema: string;
  /** scratch relation/constraint name → document path, for errors and for mapping back. */
  readonly names: Map<string, string>;
  next(prefix: string, path: string): string;
}

/** What runs the statements that create scratch objects: a Session, or a Recorder of them. */
interface Runner {
  /** Runs `sql`; false (and an issue at `path`) when the server rejects it. */
  try(path: string, sql: string): Promise<boolean>;
  run(sql: string): Promise<unknown>;
}

/** Records statements instead of running them, each taken to succeed (Session.group). */
class Recorder implements Runner {
  readonly sql: string[] = [];

  try(_path: string, sql: string): Promise<boolean> {
    this.sql.push(sql);
    return Promise.resolve(true);
  }

  run(sql: string): Promise<unknown> {
    this.sql.push(sql);
    return Promise.resolve(undefined);
  }
}

/** One rolled-back session of work; collects issues instead of stopping at the first. */
class Session implements Runner {
  readonly issues: NormalizeIssue[] = [];
  private sp = 0;
  constructor(private readonly client: Queryable) {}

  /**
   * Runs what `work` does in one round trip when all of it succeeds, which is the rule: `work` is
   * given a Recorder, and the statements it recorded go to the server as one query under one
   * savepoint. When one of them fails, that is rolled back, `undo` puts back what `work` changed
   * outside the server, and `work` runs again on this session, statement by statement, each under
   * its own savepoint: the same statements, the same issues as without grouping. (Statement by
   * statement, a large desired state's hundreds of tables took thousands of round trips.)
   */
  async group(work: (r: Runner) => Promise<void>, undo: () => void): Promise<void> {
    const recorded = new Recorder();
    await work(recorded);
    if (recorded.sql.length === 0) return;
    const name = `zdm_sp_${++this.sp}`;
    try {
      await this.client.query([`SAVEPOINT ${name}`, ...recorded.sql, `RELEASE SAVEPOINT ${name}`].join(';\n'));
      return;
    } catch {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    }
    undo();
    await work(this);
  }

  /** Runs `sql` under a savepoint; on failure records an issue at `path` and returns false. */
  async try(path: string, sql: string): Promise<boolean> {
    const name = `zdm_sp_${++this.sp}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      await this.client.query(sql);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return true;
    } catch (err) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      const segments = path.split(SEP);
      this.issues.push({
        path: segments.join('.'),
        segments,
        message: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  run(sql: string): Promise<unknown> {
    return this.client.query(sql);
  }

  /** The first row of `sql` under a savepoint; undefined when it fails (not an issue). */
  async value<R extends object>(sql: string, params: unknown[]): Promise<R | undefined> {
    const name = `zdm_sp_${++this.sp}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const r = (await this.client.query(sql, params)) as { rows: R[] };
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return r.rows[0];
    } catch {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      return undefined;
    }
  }

  /** Runs `sql` under a savepoint; a failure is not an issue (the caller has other ways to report it). */
  async attempt(sql: string): Promise<void> {
    const name = `zdm_sp_${++this.sp}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      await this.client.query(sql);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
    } catch {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    }
  }
}

/** The columns `t` inherits from its INHERITS parents in `m` (at any depth), as name, type and collation. */
function inheritedColumns(m: DatabaseModel, t: Table, seen: ReadonlySet<string> = new Set()): Column[] {
  const own = new Set(t.columns.map((c) => c.name));
  const out = new Map<string, Column>();
  for (const p of t.inherits ?? []) {
    if (seen.has(p)) continue;
    const dot = p.indexOf('.');
    const parent = m.schemas.find((s) => s.name === p.slice(0, dot))?.tables.find((x) => x.name === p.slice(dot + 1));
    if (parent === undefined) continue;
    for (const c of [...inheritedColumns(m, parent, new Set([...seen, p])), ...parent.columns]) {
      if (own.has(c.name) || out.has(c.name)) continue;
      out.set(c.name, {
        kind: 'column',
        name: c.name,
        type: c.type,
        nullable: true,
        ...(c.collation ? { collation: c.collation } : {}),
      });
    }
  }
  return [...out.values()];
}

function tablePath(t: { schema: string; name: string }): string {
  return `schemas${SEP}${t.schema}${SEP}tables${SEP}${t.name}`;
}

async function createRelationParts(
  s: Runner,
  scratch: Scratch,
  rel: RelationRef,
  parts: RelationParts,
  path: string,
  map: ScratchMap,
  schemas: ReadonlySet<string>,
): Promise<void> {
  for (const c of parts.checks) {
    await s.try(`${path}${SEP}checks${SEP}${c.name}`, addConstraintSql(rel, checkSql(c, true)));
  }
  for (const ix of parts.indexes) {
    const name = scratch.next('i', `${path}${SEP}indexes${SEP}${ix.name}`);
    map.indexes.set(name, ix);
    // Never UNIQUE here: only the deparsed keys and predicate matter, and a unique index on a
    // partitioned table has rules of its own that the planner reports with a better message.
    await s.try(
      `${path}${SEP}indexes${SEP}${ix.name}`,
      createIndexSql(rel, { ...ix, unique: false }, { name, schemas }),
    );
  }
  for (const x of parts.exclusionConstraints) {
    const name = scratch.next('x', `${path}${SEP}exclusionConstraints${SEP}${x.name}`);
    map.exclusions.set(name, x);
    await s.try(
      `${path}${SEP}exclusionConstraints${SEP}${x.name}`,
      addConstraintSql(rel, exclusionSql({ ...x, name }, schemas)),
    );
  }
  for (const p of parts.partitions) {
    const name = scratch.next('p', `${path}${SEP}partitions${SEP}${p.name}`);
    map.partitions.set(name, p);
    const ppath = `${path}${SEP}partitions${SEP}${p.name}`;
    const created = await s.try(
      ppath,
      createPartitionOfSql({ schema: scratch.schema, name }, rel, p.bound, p.partitionBy, p.with),
    );
    if (created) await createRelationParts(s, scratch, { schema: scratch.schema, name }, p, ppath, map, schemas);
  }
}

interface ScratchMap {
  readonly tables: Map<string, Table>;
  readonly domains: Map<string, Domain>;
  readonly indexes: Map<string, Index>;
  readonly exclusions: Map<string, ExclusionConstraint>;
  readonly partitions: Map<string, Partition>;
}

/** Creates what the desired state adds at schema level (schemas, extensions, enums, sequences, domains). */
async function createNewSchemaObjects(
  s: Session,
  desired: DatabaseModel,
  live: DatabaseModel,
  schemas: ReadonlySet<string>,
): Promise<void> {
  const liveSchemas = new Map(live.schemas.map((x) => [x.name, x]));
  for (const sc of desired.schemas) {
    if (!liveSchemas.has(sc.name)) await s.try(`schemas${SEP}${sc.name}`, createSchemaSql(sc.name));
  }
  const liveExt = new Set(live.extensions.map((e) => e.name));
  for (const e of desired.extensions) {
    if (liveExt.has(e.name)) continue;
    await s.try(`extensions${SEP}${e.name}`, createExtensionSql(e, { ifNotExists: true }));
  }
  // Collations and text search configurations that columns and indexes may name.
  for (const sc of desired.schemas) {
    const ls = liveSchemas.get(sc.name);
    for (const c of sc.collations ?? []) {
      if (ls?.collations?.some((o) => o.name === c.name)) continue;
      await s.try(`schemas${SEP}${sc.name}${SEP}collations${SEP}${c.name}`, createCollationSql(sc.name, c).join('; '));
    }
    for (const c of sc.textSearchConfigurations ?? []) {
      if (ls?.textSearchConfigurations?.some((o) => o.name === c.name)) continue;
      await s.try(
        `schemas${SEP}${sc.name}${SEP}textSearchConfigurations${SEP}${c.name}`,
        createTextSearchConfigurationSql(sc.name, c).join('; '),
      );
    }
  }
  for (const sc of desired.schemas) {
    const ls = liveSchemas.get(sc.name);
    const has = (kind: 'enums' | 'sequences' | 'domains', name: string): boolean =>
      !!ls?.[kind].some((o) => o.name === name);
    for (const e of sc.enums) {
      if (has('enums', e.name)) continue;
      await s.try(`schemas${SEP}${sc.name}${SEP}enums${SEP}${e.name}`, createEnumSql(e));
    }
    for (const seq of sc.sequences) {
      if (has('sequences', seq.name)) continue;
      await s.try(
        `schemas${SEP}${sc.name}${SEP}sequences${SEP}${seq.name}`,
        createSequenceSql({ ...seq, schema: sc.name }, ['type']),
      );
    }
  }
  // New functions (checks, defaults and generated columns may call them), bodies unchecked; one that
  // cannot be created here is reported by the scratch database (scratch-routines.ts), not here.
  const liveRoutines = new Set(live.schemas.flatMap((x) => x.functions.map(routineKey)));
  for (const sc of desired.schemas) {
    for (const r of sc.functions) {
      if (liveRoutines.has(routineKey(r))) continue;
      await s.run(searchPathSql([sc.name, 'public']));
      await s.attempt(`SET LOCAL check_function_bodies = off; ${createRoutineSql(r)}`);
    }
  }
  // Domains after enums (a domain over an enum), with the same search_path rule as tables; those
  // over a composite type after the composite types.
  const createDomains = async (overComposite: boolean) => {
    for (const sc of desired.schemas) {
      const ls = liveSchemas.get(sc.name);
      for (const d of sc.domains) {
        if (ls?.domains.some((o) => o.name === d.name)) continue;
        if (isDomainOverCompositeType(d, desired) !== overComposite) continue;
        await s.run(searchPathSql([sc.name, 'public']));
        await s.try(`schemas${SEP}${sc.name}${SEP}domains${SEP}${d.name}`, createDomainSql(d, schemas));
      }
    }
  };
  await createDomains(false);
  // Composite types after the enums and domains an attribute may be of, a type used by another first.
  const liveTypes = new Set(live.schemas.flatMap((sc) => sc.compositeTypes.map((t) => qualified(sc.name, t.name))));
  const newTypes = desired.schemas
    .flatMap((sc) => sc.compositeTypes)
    .filter((t) => !liveTypes.has(qualified(t.schema, t.name)));
  for (const t of compositeTypesUsedFirst(newTypes)) {
    await s.try(`schemas${SEP}${t.schema}${SEP}compositeTypes${SEP}${t.name}`, createCompositeTypeSql(t, schemas));
  }
  await createDomains(true);
}

/**
 * The desired casts with their types and function as the server prints them (`int` → `integer`,
 * `placement_type` → `public.placement_type`; unqualified names resolve in public), each new one
 * created so that the tables' defaults and checks below may use it. A cast whose types or function
 * cannot be resolved here (a function with a SQL-standard body over a new table) is kept as written:
 * the scratch database or apply reports what is really wrong with it.
 */
async function normalizeCasts(s: Session, desired: DatabaseModel, live: DatabaseModel): Promise<Cast[] | undefined> {
  if (desired.casts === undefined) return undefined;
  const liveCasts = new Map((live.casts ?? []).map((l) => [castKey(l), l]));
  const out: Cast[] = [];
  for (const c of desired.casts) {
    // Written as the live database prints it: nothing to ask.
    if (liveCasts.has(castKey(c)) && liveCasts.get(castKey(c))!.function === c.function) {
      out.push(c);
      continue;
    }
    // Resolved under search_path public, printed under an empty one (qualified, as introspection does).
    await s.run(searchPathSql(['public']));
    const oids = await s.value<{ source: string; target: string; function: string | null }>(
      `SELECT $1::pg_catalog.regtype::pg_catalog.oid AS source, $2::pg_catalog.regtype::pg_catalog.oid AS target,
        $3::pg_catalog.regprocedure::pg_catalog.oid AS function`,
      [c.source, c.target, c.function ?? null],
    );
    await s.run(searchPathSql([]));
    const row =
      oids &&
      (await s.value<{ source: string; target: string; function: string | null }>(
        `SELECT pg_catalog.format_type($1, NULL) AS source, pg_catalog.format_type($2, NULL) AS target,
          $3::pg_catalog.oid::pg_catalog.regprocedure::pg_catalog.text AS function`,
        [oids.source, oids.target, oids.function],
      ));
    const n: Cast =
      row === undefined
        ? c
        : {
            ...c,
            source: row.source,
            target: row.target,
            ...(row.function !== null ? { function: row.function } : {}),
          };
    out.push(n);
    if (!liveCasts.has(castKey(n))) await s.attempt(createCastSql(n).join('; '));
  }
  await s.run(searchPathSql(['public']));
  return out;
}

/**
 * Deparsing is not idempotent for every expression: PostgreSQL may print an expression that, parsed
 * again, deparses differently (`(ARRAY['a'::varchar])::text[]` becomes `ARRAY[('a'::varchar)::text]`).
 * Text that is byte-for-byte what the live database prints for the same object is the same
 * expression, so it is kept as it is instead of going through the server a second time.
 */
export function keep(
  original: string | undefined,
  normalized: string | undefined,
  live: string | undefined,
): string | undefined {
  return original !== undefined && original === live ? original : normalized;
}

const opt = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } =>
  (value !== undefined ? { [key]: value } : {}) as { [P in K]?: string };

const parameters = (p: StorageParameters | undefined): { with?: StorageParameters } =>
  p === undefined ? {} : { with: p };

function byNameMap<T extends { readonly name: string }>(xs: readonly T[] | undefined): Map<string, T> {
  return new Map((xs ?? []).map((x) => [x.name, x]));
}

export function mergeKeys(
  orig: readonly IndexKey[],
  got: readonly IndexKey[],
  live: readonly IndexKey[] | undefined,
): IndexKey[] {
  return got.map((k, i) => {
    const o = orig[i];
    const l = live?.[i];
    if (k.expression === undefined || o?.expression === undefined) return k;
    return { ...k, expression: keep(o.expression, k.expression, l?.expression) ?? k.expression };
  });
}

function mergeParts<T extends RelationParts>(
  desired: T,
  got: RelationParts | undefined,
  map: ScratchMap,
  live: RelationParts | undefined,
): T {
  if (!got) return desired;
  const checks = byNameMap(got.checks);
  const liveChecks = byNameMap(live?.checks);
  const liveIndexes = byNameMap(live?.indexes);
  const liveExcl = byNameMap(live?.exclusionConstraints);
  const livePartitions = byNameMap(live?.partitions);
  const byOrig = <V extends { name: string }>(m: Map<string, V>, list: readonly { name: string }[]) => {
    const out = new Map<V, { name: string }>();
    for (const x of list) {
      const orig = m.get(x.name);
      if (orig) out.set(orig, x);
    }
    return out;
  };
  const indexes = byOrig(map.indexes, got.indexes) as Map<Index, Index>;
  const excl = byOrig(map.exclusions, got.exclusionConstraints) as Map<ExclusionConstraint, ExclusionConstraint>;
  const parts = byOrig(map.partitions, got.partitions) as Map<Partition, Partition>;
  return {
    ...(omit(desired, 'with') as T),
    checks: desired.checks.map((c) => {
      const n = checks.get(c.name);
      return n ? { ...c, expression: keep(c.expression, n.expression, liveChecks.get(c.name)?.expression) } : c;
    }),
    indexes: desired.indexes.map((ix) => {
      const n = indexes.get(ix);
      if (!n) return ix;
      const l = liveIndexes.get(ix.name);
      const { where: _w, with: _p, ...rest } = ix;
      return {
        ...rest,
        keys: mergeKeys(ix.keys, n.keys, l?.keys),
        ...opt('where', keep(ix.where, n.where, l?.where)),
        ...parameters(n.with),
      };
    }),
    exclusionConstraints: desired.exclusionConstraints.map((x) => {
      const n = excl.get(x);
      if (!n) return x;
      const l = liveExcl.get(x.name);
      const { where: _w, ...rest } = x;
      const keys = mergeKeys(
        x.elements.map((e) => e.key),
        n.elements.map((e) => e.key),
        l?.elements.map((e) => e.key),
      );
      return {
        ...rest,
        elements: n.elements.map((e, i) => ({ ...e, key: keys[i] ?? e.key })),
        ...opt('where', keep(x.where, n.where, l?.where)),
      };
    }),
    ...(desired.partitionBy && got.partitionBy
      ? { partitionBy: { ...desired.partitionBy, columns: got.partitionBy.columns } }
      : {}),
    // Storage parameter values as the server stores them (`FALSE` → `false`); a TOAST parameter of a
    // table that has no TOAST table is dropped by the server, and so here.
    ...parameters(got.with),
    partitions: desired.partitions.map((p) => {
      const n = parts.get(p);
      return n ? { ...mergeParts(p, n, map, livePartitions.get(p.name)), bound: n.bound } : p;
    }),
  };
}

/**
 * The scratch name of a table with policies: its own name, when free. A policy's subquery names its
 * own table's columns by the table's name (`EXISTS (SELECT FROM team t WHERE t.id = doc.team)`, as
 * the server prints it too), which a table named `t7` would reject, or print back as `t7.team`.
 * Undefined (a generated name) when the name is taken in the scratch schema or looks like a
 * generated one.
 */
function policyScratchName(scratch: Scratch, t: Table): string | undefined {
  if (!t.policies?.length || /^[a-z]\d+$/.test(t.name) || scratch.names.has(t.name)) return undefined;
  scratch.names.set(t.name, tablePath(t));
  return t.name;
}

/** The desired policies with their expressions as the server deparses them (issue 12). */
/**
 * A policy's expressions name its own table, unqualified, where a subquery reads one of its columns
 * (`WHERE u.id = docs.owner`: pg_get_expr prints it so). The scratch table has another name: each
 * expression goes to the scratch with that name (`to`) and comes back with the table's (`back`).
 * Only a name that needs no quotes is replaced, where it stands alone before a dot.
 */
function ownTableQualifier(table: string, scratch: string): { to: (e: string) => string; back: (e: string) => string } {
  const swap = (from: string, into: string) => (e: string) =>
    /^[a-z_][a-z0-9_$]*$/.test(from)
      ? e.replace(new RegExp(`(?<![\\w$."])${from.replace(/\$/g, '\\$')}\\.(?=[a-z_"])`, 'g'), `${into}.`)
      : e;
  return { to: swap(table, scratch), back: swap(scratch, table) };
}

const PLAIN = /^[a-z_][a-z0-9_$]*$/;
const AFTER_TABLE =
  /^\s+(?!(?:where|join|inner|left|right|full|cross|natural|on|using|group|order|limit|offset|union|except|intersect|window|having|for|fetch|tablesample)\b)[a-z_]/i;

interface Copy {
  readonly schema: string;
  readonly name: string;
  /** The scratch copy's name. */
  readonly copy: string;
}

/** `schema.table` → the table and its scratch copy, for the tables of a batch. */
function copiesOf(tables: ReadonlyMap<string, Table>): Map<string, Copy> {
  return new Map([...tables].map(([copy, t]) => [`${t.schema}.${t.name}`, { schema: t.schema, name: t.name, copy }]));
}

/**
 * A policy's subquery may read another table of the desired state that the batch copies into the
 * scratch schema (`FROM users u`, where the plan renames a column of users): in the scratch it reads
 * the copy, which has the desired columns (the live table has not), and the deparsed text names the
 * table again (`FROM public.users u`, as introspection prints it). Only `FROM` / `JOIN` followed by
 * a name that needs no quotes (schema-qualified or resolved as search_path does: `own`, then public);
 * a copy without an alias is given the table's name as one, so that `users.enabled` still resolves.
 */
function otherTablesQualifier(
  copies: ReadonlyMap<string, Copy>,
  scratchSchema: string,
  own: string,
): { to: (e: string) => string; back: (e: string) => string } {
  const to = (e: string) =>
    e.replace(
      /\b(FROM|JOIN)(\s+)(?:([a-z_][a-z0-9_$]*)\.)?([a-z_][a-z0-9_$]*)(?![\w$."(])/gi,
      (m, kw: string, sp: string, sch: string | undefined, name: string, at: number) => {
        if (!PLAIN.test(name) || (sch !== undefined && !PLAIN.test(sch))) return m;
        const found =
          sch !== undefined
            ? copies.get(`${sch}.${name}`)
            : (copies.get(`${own}.${name}`) ?? copies.get(`public.${name}`));
        if (found === undefined) return m;
        const aliased = AFTER_TABLE.test(e.slice(at + m.length));
        return `${kw}${sp}${scratchSchema}.${found.copy}${aliased ? '' : ` ${name}`}`;
      },
    );
  const back = (e: string) => {
    let out = e;
    for (const { schema, name, copy } of copies.values()) {
      const real = `${quoteIdent(schema)}.${quoteIdent(name)}`;
      const alias = PLAIN.test(name) ? ` ${name.replaceAll('$', '\\$')}` : '';
      out = out
        .replace(new RegExp(`${scratchSchema}\\.${copy}${alias}(?![\\w$])`, 'g'), real)
        .replace(new RegExp(`${scratchSchema}\\.${copy}(?![\\w$])`, 'g'), real);
    }
    return out;
  };
  return { to, back };
}

function mergePolicies(
  desired: Table,
  got: Table,
  live: Table | undefined,
  others: { back: (e: string) => string },
): { policies?: Policy[] } {
  if (desired.policies === undefined) return {};
  const own = ownTableQualifier(desired.name, got.name);
  const back = (e: string) => own.back(others.back(e));
  const gotPolicies = byNameMap(got.policies);
  const livePolicies = byNameMap(live?.policies);
  return {
    policies: desired.policies.map((p) => {
      const n = gotPolicies.get(p.name);
      if (!n) return p;
      const l = livePolicies.get(p.name);
      const { using: _u, withCheck: _w, ...rest } = p;
      return {
        ...rest,
        ...opt('using', keep(p.using, n.using === undefined ? undefined : back(n.using), l?.using)),
        ...opt('withCheck', keep(p.withCheck, n.withCheck === undefined ? undefined : back(n.withCheck), l?.withCheck)),
      };
    }),
  };
}

export interface NormalizeOptions {
  /**
   * Normalize every table and domain, also those written exactly as the live database prints them
   * (whose normal form is, by the rule of `keep`, that same text). For round-trip tests.
   */
  readonly everything?: boolean;
  /**
   * Tables per rolled-back transaction. Every scratch table holds a few locks until its transaction
   * ends, and the shared lock table of a default server (`max_locks_per_transaction` 64 × connections)
   * has room for a few thousand: batches keep a large desired state within it.
   */
  readonly tablesPerTransaction?: number;
}

interface BatchResult {
  readonly tables: Map<Table, Table>;
  readonly domains: Map<Domain, Domain>;
  /** The desired casts in the server's words (the first batch only). */
  readonly casts?: readonly Cast[] | undefined;
  readonly issues: readonly NormalizeIssue[];
}

/**
 * Returns `desired` with every type, expression, collation, partition key and bound in the form the
 * server deparses them to. Throws NormalizeError listing every definition PostgreSQL rejected.
 *
 * A table or domain that is already written exactly as the live one is not sent to the server: its
 * normal form is the live text (see `keep`), and a desired state is mostly such objects, so a plan's
 * cost follows the size of its change rather than the size of the schema.
 */
export async function normalizeDesired(
  client: Queryable,
  desired: DatabaseModel,
  live: DatabaseModel,
  options: NormalizeOptions = {},
): Promise<DatabaseModel> {
  // Roles are not managed by zdm (issue 12): a role the desired state names must exist.
  const roleIssues = await missingRoles(client, desired);
  if (roleIssues.length > 0) throw new NormalizeError(roleIssues);
  const liveTables = new Map(live.schemas.flatMap((x) => x.tables.map((t) => [`${t.schema}.${t.name}`, t] as const)));
  const liveDomains = new Map(live.schemas.flatMap((x) => x.domains.map((d) => [`${d.schema}.${d.name}`, d] as const)));
  const differs = <T extends { schema: string; name: string }>(
    x: T,
    lives: Map<string, T>,
    equal: (a: T, b: T) => boolean,
  ): boolean => {
    const l = lives.get(`${x.schema}.${x.name}`);
    return options.everything === true || l === undefined || !equal(x, l);
  };
  const tables = desired.schemas.flatMap((sc) => sc.tables.filter((t) => differs(t, liveTables, tablesEqual)));
  const domains = desired.schemas.flatMap((sc) => sc.domains.filter((d) => differs(d, liveDomains, domainsEqual)));
  const per = Math.max(1, options.tablesPerTransaction ?? 200);
  const tableOut = new Map<Table, Table>();
  const domainOut = new Map<Domain, Domain>();
  const issues: NormalizeIssue[] = [];
  let casts: readonly Cast[] | undefined;
  // At least one batch, with the domains and the new schema-level objects: those are checked by the
  // server even when no table needs it.
  for (let i = 0; i === 0 || i < tables.length; i += per) {
    const r = await normalizeBatch(client, desired, live, {
      tables: tables.slice(i, i + per),
      domains: i === 0 ? domains : [],
      liveTables,
      liveDomains,
      reportSchemaObjects: i === 0,
    });
    for (const [k, v] of r.tables) tableOut.set(k, v);
    for (const [k, v] of r.domains) domainOut.set(k, v);
    casts ??= r.casts;
    issues.push(...r.issues);
  }
  if (issues.length) throw new NormalizeError(issues);
  return {
    ...desired,
    ...(casts !== undefined && casts.length > 0 ? { casts: sortedCasts(casts)! } : {}),
    schemas: desired.schemas.map((sc) => ({
      ...sc,
      domains: sc.domains.map((d) => domainOut.get(d) ?? d),
      tables: sc.tables.map((t) => tableOut.get(t) ?? t),
    })),
  };
}

/** One rolled-back transaction: the new schema-level objects, then `work`'s domains and tables. */
async function normalizeBatch(
  client: Queryable,
  desired: DatabaseModel,
  live: DatabaseModel,
  work: {
    readonly tables: readonly Table[];
    readonly domains: readonly Domain[];
    readonly liveTables: ReadonlyMap<string, Table>;
    readonly liveDomains: ReadonlyMap<string, Domain>;
    /** Only one batch reports what is wrong with new schemas, enums, sequences and domains. */
    readonly reportSchemaObjects: boolean;
  },
): Promise<BatchResult> {
  const s = new Session(client);
  const schema = `zdm_normalize_${randomBytes(5).toString('hex')}`;
  let counter = 0;
  const scratch: Scratch = {
    schema,
    names: new Map(),
    next(prefix, path) {
      const n = `${prefix}${++counter}`;
      this.names.set(n, path);
      return n;
    },
  };
  const map: ScratchMap = {
    tables: new Map(),
    domains: new Map(),
    indexes: new Map(),
    exclusions: new Map(),
    partitions: new Map(),
  };
  await client.query('BEGIN');
  try {
    await s.run(createSchemaSql(schema));
    // Names that start a qualified collation / operator class name (`schema.name`).
    const schemas = new Set([...desired.schemas, ...live.schemas].map((x) => x.name));
    await createNewSchemaObjects(s, desired, live, schemas);
    if (!work.reportSchemaObjects) s.issues.length = 0;
    const casts = work.reportSchemaObjects ? await normalizeCasts(s, desired, live) : undefined;
    // Unqualified names resolve in the object's own schema, then public: set once per run of objects
    // of one schema (the work comes in schema order).
    let searchPath: string | undefined;
    const inSchema = async (r: Runner, name: string): Promise<void> => {
      if (name === searchPath) return;
      await r.run(searchPathSql([name, 'public']));
      searchPath = name;
    };
    for (const d of work.domains) {
      await inSchema(s, d.schema);
      const path = `schemas${SEP}${d.schema}${SEP}domains${SEP}${d.name}`;
      const name = scratch.next('d', path);
      map.domains.set(name, d);
      await s.try(path, createDomainSql({ ...d, schema, name }, schemas));
    }
    // The tables, then their policies, each in one round trip unless the server rejects something
    // (Session.group); run again, the work must name its scratch objects the same: `undo` puts the
    // names and the search path back as they were.
    const createdTables: [string, Table][] = [];
    const undoer = (): (() => void) => {
      const before = { counter, names: scratch.names.size, created: createdTables.length, searchPath };
      return () => {
        counter = before.counter;
        for (const k of [...scratch.names.keys()].slice(before.names)) scratch.names.delete(k);
        createdTables.length = before.created;
        searchPath = before.searchPath;
      };
    };
    await s.group(async (r) => {
      for (const t of work.tables) {
        await inSchema(r, t.schema);
        const name = policyScratchName(scratch, t) ?? scratch.next('t', tablePath(t));
        map.tables.set(name, t);
        const rel = { schema, name };
        const created = await r.try(
          tablePath(t),
          // A child of INHERITS is made with its parents' columns (name and type) instead: its keys,
          // indexes and checks may use them, and no live parent is locked.
          createTableOfColumnsSql(rel, [...inheritedColumns(desired, t), ...t.columns], schemas, t.partitionBy, t.with),
        );
        if (created) await createRelationParts(r, scratch, rel, t, tablePath(t), map, schemas);
        // Storage and compression: the server says which storage is the type's default (left out).
        for (const c of created ? t.columns : []) {
          const path = `${tablePath(t)}${SEP}columns${SEP}${c.name}`;
          if (c.storage !== undefined) await r.try(`${path}${SEP}storage`, columnStorageSql(rel, c.name, c.storage));
          if (c.compression !== undefined) {
            await r.try(`${path}${SEP}compression`, columnCompressionSql(rel, c.name, c.compression));
          }
        }
        if (created) createdTables.push([name, t]);
      }
    }, undoer());
    // Policies (issue 12), once every table of the batch is there (a subquery may read another):
    // their expressions deparsed; a role that does not exist is an error here.
    const copies = copiesOf(map.tables);
    await s.group(async (r) => {
      for (const [name, t] of createdTables) {
        await inSchema(r, t.schema);
        const own = ownTableQualifier(t.name, name);
        const others = otherTablesQualifier(copies, schema, t.schema);
        const to = (e: string | undefined) => (e === undefined ? undefined : others.to(own.to(e)));
        for (const pol of t.policies ?? []) {
          const scratchPolicy = { ...pol, ...opt('using', to(pol.using)), ...opt('withCheck', to(pol.withCheck)) };
          await r.try(
            `${tablePath(t)}${SEP}policies${SEP}${pol.name}`,
            createPolicySql({ schema, name }, scratchPolicy),
          );
        }
      }
    }, undoer());
    const tableOut = new Map<Table, Table>();
    const domainOut = new Map<Domain, Domain>();
    if (s.issues.length) return { tables: tableOut, domains: domainOut, casts, issues: s.issues };
    // Nothing to read back (a desired state written as the live one): no introspection.
    if (map.tables.size === 0 && map.domains.size === 0)
      return { tables: tableOut, domains: domainOut, casts, issues: [] };
    // Only the scratch schema's tables and domains are read back: not the whole database's graph.
    const got = await introspect(client, { schemas: [schema], inTransaction: true, databaseWide: false });
    const gotSchema = got.schemas.find((x) => x.name === schema);
    const gotTables = new Map(gotSchema?.tables.map((t) => [t.name, t]));
    const gotDomains = new Map(gotSchema?.domains.map((d) => [d.name, d]));
    for (const [name, t] of map.tables) {
      const g = gotTables.get(name);
      if (!g) continue;
      const cols = new Map(g.columns.map((c) => [c.name, c]));
      const liveTable = work.liveTables.get(`${t.schema}.${t.name}`);
      const liveCols = byNameMap(liveTable?.columns);
      const merged = mergeParts(t, g, map, liveTable);
      tableOut.set(t, {
        ...merged,
        ...mergePolicies(t, g, liveTable, otherTablesQualifier(copiesOf(map.tables), schema, t.schema)),
        columns: t.columns.map((c) => {
          const n = cols.get(c.name);
          if (!n) return c;
          const l = liveCols.get(c.name);
          const { default: _d, generated: _g, collation: _c, storage: _s, compression: _z, ...rest } = c;
          return {
            ...rest,
            type: n.type,
            ...opt('default', keep(c.default, n.default, l?.default)),
            ...(n.generated
              ? {
                  generated: {
                    ...n.generated,
                    expression: keep(c.generated?.expression, n.generated.expression, l?.generated?.expression) ?? '',
                  },
                }
              : {}),
            ...(n.collation ? { collation: n.collation } : {}),
            ...(n.storage !== undefined ? { storage: n.storage } : {}),
            ...(n.compression !== undefined ? { compression: n.compression } : {}),
          };
        }),
      });
    }
    for (const [name, d] of map.domains) {
      const g = gotDomains.get(name);
      if (!g) continue;
      const l = work.liveDomains.get(`${d.schema}.${d.name}`);
      const lChecks = byNameMap(l?.checks);
      const origChecks = byNameMap(d.checks);
      domainOut.set(d, {
        ...d,
        type: g.type,
        checks: g.checks.map((c) => {
          const comment = origChecks.get(c.name)?.comment;
          return {
            ...omit(c, 'comment'),
            expression:
              keep(origChecks.get(c.name)?.expression, c.expression, lChecks.get(c.name)?.expression) ?? c.expression,
            ...opt('comment', comment),
          };
        }),
        ...opt('default', keep(d.default, g.default, l?.default)),
      });
    }
    return { tables: tableOut, domains: domainOut, casts, issues: [] };
  } finally {
    await client.query('ROLLBACK');
  }
}
