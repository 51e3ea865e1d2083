/**
 * Functions, procedures and triggers: their catalog queries (the conventions of queries.ts) and the
 * pure functions that turn their rows into the model. zdm's own sync and mirror objects
 * (`…_zdm_sync`, src/model/routines.ts) are left out: they exist only while a plan runs.
 */
import { defaultCost, defaultRows, isZdmOwnName, sortRoutines, sortTriggers } from '../model/routines.js';
import type { ArgumentMode, Routine, RoutineArgument, Trigger, TriggerEnabled, TriggerEvent } from '../model/types.js';
import { parseGrantList } from './parse.js';
import {
  aclGrantsJson,
  description,
  type GrantJson,
  notExtensionMember,
  PLAIN_AGGREGATE_SQL,
  SYSTEM_SCHEMAS,
  USER_SCHEMAS,
} from './queries.js';

const ZDM_OWN_SQL = `'_zdm_sync(_truncate)?[0-9]*$'`;

export interface RoutineArgumentRow {
  /** pg_proc.proargmodes: i, o, b (inout), v (variadic), t (a RETURNS TABLE column); null: i. */
  readonly mode: string | null;
  readonly name: string | null;
  readonly type: string;
  readonly default: string | null;
}

export interface RoutineRow {
  readonly schema: string;
  readonly name: string;
  /** f function, p procedure. */
  readonly kind: string;
  readonly returns: string | null;
  readonly language: string;
  readonly source: string;
  /** pg_proc.probin (C functions), else null. */
  readonly library: string | null;
  /** pg_get_function_sqlbody for a SQL-standard body, else null. */
  readonly sql_body: string | null;
  /** i, s, v. */
  readonly volatility: string;
  readonly strict: boolean;
  readonly security_definer: boolean;
  readonly leakproof: boolean;
  /** s, r, u. */
  readonly parallel: string;
  readonly cost: number;
  readonly rows: number;
  readonly config: string[] | null;
  readonly arguments: RoutineArgumentRow[] | null;
  /** Aggregates only (pg_aggregate; functions as regproc prints them, 0 as null). */
  readonly aggregate: {
    readonly sfunc: string;
    readonly stype: string;
    readonly finalfunc: string | null;
    readonly finalextra: boolean;
    readonly combinefunc: string | null;
    readonly serialfunc: string | null;
    readonly deserialfunc: string | null;
    readonly initcond: string | null;
  } | null;
  readonly comment: string | null;
  /** Privileges (issue 12): aclGrantsJson. */
  readonly grants: readonly GrantJson[];
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

/** Functions, procedures and plain aggregates (window functions are not: prokind 'w'). */
export const ROUTINES_SQL = `SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind,
  CASE WHEN p.prokind = 'f' THEN pg_catalog.pg_get_function_result(p.oid) END AS returns,
  l.lanname AS language, p.prosrc AS source, p.probin AS library,
  CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END AS sql_body,
  p.provolatile AS volatility, p.proisstrict AS strict, p.prosecdef AS security_definer,
  p.proleakproof AS leakproof, p.proparallel AS parallel, p.procost::pg_catalog.float8 AS cost,
  p.prorows::pg_catalog.float8 AS rows, p.proconfig AS config,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('mode', a.mode, 'name', NULLIF(a.name, ''),
      'type', pg_catalog.format_type(a.type, NULL),
      'default', CASE WHEN a.mode IS NULL OR a.mode IN ('i', 'b', 'v')
        THEN pg_catalog.pg_get_function_arg_default(p.oid, a.n::pg_catalog.int4) END) ORDER BY a.n)
    FROM ROWS FROM (pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[])),
        pg_catalog.unnest(p.proargmodes), pg_catalog.unnest(p.proargnames))
      WITH ORDINALITY AS a(type, mode, name, n)
    WHERE a.type IS NOT NULL) AS arguments,
  (SELECT pg_catalog.json_build_object('sfunc', ag.aggtransfn::pg_catalog.regproc::pg_catalog.text,
      'stype', pg_catalog.format_type(ag.aggtranstype, NULL),
      'finalfunc', NULLIF(ag.aggfinalfn, 0)::pg_catalog.regproc::pg_catalog.text, 'finalextra', ag.aggfinalextra,
      'combinefunc', NULLIF(ag.aggcombinefn, 0)::pg_catalog.regproc::pg_catalog.text,
      'serialfunc', NULLIF(ag.aggserialfn, 0)::pg_catalog.regproc::pg_catalog.text,
      'deserialfunc', NULLIF(ag.aggdeserialfn, 0)::pg_catalog.regproc::pg_catalog.text, 'initcond', ag.agginitval)
    FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid) AS aggregate,
  ${description('pg_proc', 'p.oid')} AS comment,
  ${aclGrantsJson('p.proacl', 'f', 'p.proowner')} AS grants,
  pg_catalog.pg_get_userbyid(p.proowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE (p.prokind IN ('f', 'p') OR (p.prokind = 'a' AND ${PLAIN_AGGREGATE_SQL('p')})) AND p.proname !~ ${ZDM_OWN_SQL}
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_proc', 'p.oid')}
  -- A range type's constructors belong to the type (an internal dependency): not routines of their own.
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    AND d.objid = p.oid AND d.deptype = 'i')
ORDER BY n.nspname, p.proname, p.oid`;

export interface TriggerRow {
  readonly schema: string;
  readonly table_name: string;
  readonly name: string;
  readonly type: number;
  /** O, D, R, A. */
  readonly enabled: string;
  /** pg_get_triggerdef(oid, true) when the trigger has a WHEN condition, else null. */
  readonly definition: string | null;
  readonly columns: string[] | null;
  readonly function_schema: string;
  readonly function_name: string;
  readonly args: Buffer | null;
  readonly nargs: number;
  readonly old_table: string | null;
  readonly new_table: string | null;
  readonly is_constraint: boolean;
  readonly deferrable: boolean;
  readonly initially_deferred: boolean;
  readonly comment: string | null;
}

/**
 * User triggers on tables, partitioned tables and views: internal ones (foreign keys), the clones a
 * partitioned table's trigger puts on its partitions (tgparentid) and zdm's own are left out.
 */
export const TRIGGER_DEFINITIONS_SQL = `SELECT n.nspname AS schema, c.relname AS table_name, tg.tgname AS name,
  tg.tgtype::pg_catalog.int4 AS type, tg.tgenabled AS enabled,
  CASE WHEN tg.tgqual IS NOT NULL THEN pg_catalog.pg_get_triggerdef(tg.oid, true) END AS definition,
  (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY k.n)
    FROM pg_catalog.unnest(tg.tgattr::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = tg.tgrelid AND a.attnum = k.attnum) AS columns,
  fn.nspname AS function_schema, f.proname AS function_name, tg.tgargs AS args, tg.tgnargs AS nargs,
  tg.tgoldtable AS old_table, tg.tgnewtable AS new_table, tg.tgconstraint <> 0 AS is_constraint,
  tg.tgdeferrable AS deferrable, tg.tginitdeferred AS initially_deferred,
  ${description('pg_trigger', 'tg.oid')} AS comment
FROM pg_catalog.pg_trigger tg
JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc f ON f.oid = tg.tgfoid
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND c.relkind IN ('r', 'p', 'v')
  AND tg.tgname !~ ${ZDM_OWN_SQL}
  AND ${SYSTEM_SCHEMAS} AND (c.relispartition OR ${USER_SCHEMAS})
  AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, tg.tgname`;

const MODES: Record<string, ArgumentMode> = { i: 'in', o: 'out', b: 'inout', v: 'variadic' };

function parseArgument(a: RoutineArgumentRow): RoutineArgument {
  const mode = MODES[a.mode ?? 'i'] ?? 'in';
  return {
    ...(mode !== 'in' ? { mode } : {}),
    ...(a.name !== null ? { name: a.name } : {}),
    type: a.type,
    ...(a.default !== null ? { default: a.default } : {}),
  };
}

/** `name=value` entries of proconfig as a map (the value as PostgreSQL keeps it). */
function configMap(config: readonly string[] | null): Record<string, string> | undefined {
  if (config === null || config.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const c of config) {
    const eq = c.indexOf('=');
    out[eq < 0 ? c : c.slice(0, eq)] = eq < 0 ? '' : c.slice(eq + 1);
  }
  return out;
}

function parseAggregate(row: RoutineRow): Routine {
  const a = row.aggregate;
  if (a === null) throw new Error(`aggregate ${row.schema}.${row.name} has no pg_aggregate row`);
  const parallel = row.parallel === 's' ? 'safe' : row.parallel === 'r' ? 'restricted' : undefined;
  return {
    kind: 'aggregate',
    schema: row.schema,
    name: row.name,
    arguments: (row.arguments ?? []).map(parseArgument),
    aggregate: {
      sfunc: a.sfunc,
      stype: a.stype,
      ...(a.finalfunc !== null ? { finalfunc: a.finalfunc } : {}),
      ...(a.finalextra ? { finalfuncExtra: true as const } : {}),
      ...(a.combinefunc !== null ? { combinefunc: a.combinefunc } : {}),
      ...(a.serialfunc !== null ? { serialfunc: a.serialfunc } : {}),
      ...(a.deserialfunc !== null ? { deserialfunc: a.deserialfunc } : {}),
      ...(a.initcond !== null ? { initcond: a.initcond } : {}),
    },
    language: 'internal',
    body: '',
    ...(parallel !== undefined ? { parallel } : {}),
    ...(row.comment !== null ? { comment: row.comment } : {}),
  };
}

export function parseRoutine(row: RoutineRow): Routine {
  if (row.kind === 'a') return parseAggregate(row);
  const kind = row.kind === 'p' ? 'procedure' : 'function';
  const returns = row.returns ?? undefined;
  const set = configMap(row.config);
  const volatility = row.volatility === 'i' ? 'immutable' : row.volatility === 's' ? 'stable' : undefined;
  const parallel = row.parallel === 's' ? 'safe' : row.parallel === 'r' ? 'restricted' : undefined;
  const cost = Number(row.cost);
  const rows = Number(row.rows);
  return {
    kind,
    schema: row.schema,
    name: row.name,
    arguments: (row.arguments ?? []).filter((a) => a.mode !== 't').map(parseArgument),
    ...(kind === 'function' && returns !== undefined ? { returns } : {}),
    language: row.language,
    body: row.sql_body ?? row.source,
    ...(row.library !== null ? { library: row.library } : {}),
    ...(row.sql_body !== null ? { sqlBody: true as const } : {}),
    ...(volatility !== undefined ? { volatility } : {}),
    ...(row.strict ? { strict: true as const } : {}),
    ...(row.security_definer ? { securityDefiner: true as const } : {}),
    ...(row.leakproof ? { leakproof: true as const } : {}),
    ...(parallel !== undefined ? { parallel } : {}),
    ...(cost !== defaultCost(row.language) ? { cost } : {}),
    ...(kind === 'function' && rows !== defaultRows(returns) ? { rows } : {}),
    ...(set !== undefined ? { set } : {}),
    ...(row.comment !== null ? { comment: row.comment } : {}),
    grants: parseGrantList(row.grants),
  };
}

const TG_ROW = 1;
const TG_BEFORE = 2;
const TG_INSERT = 4;
const TG_DELETE = 8;
const TG_UPDATE = 16;
const TG_TRUNCATE = 32;
const TG_INSTEAD = 64;
const ENABLED: Record<string, TriggerEnabled | undefined> = { D: 'disabled', R: 'replica', A: 'always' };

/**
 * The WHEN condition of a trigger from its definition: between `WHEN (` after `FOR EACH …` and the
 * `) EXECUTE FUNCTION` that ends it (PostgreSQL prints nothing else between them).
 */
export function triggerWhen(definition: string): string | undefined {
  const m = /\sFOR EACH (?:ROW|STATEMENT) WHEN \(/.exec(definition);
  const end = definition.lastIndexOf(') EXECUTE FUNCTION ');
  if (m === null || end < m.index) return undefined;
  return definition.slice(m.index + m[0].length, end);
}

/** tgargs: each argument followed by a NUL byte. */
function triggerArguments(args: Buffer | null, n: number): string[] {
  if (args === null || n === 0) return [];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < args.length && out.length < n; i++) {
    if (args[i] === 0) {
      out.push(args.subarray(start, i).toString('utf8'));
      start = i + 1;
    }
  }
  return out;
}

export function parseTrigger(row: TriggerRow): Trigger {
  const t = row.type;
  const events: TriggerEvent[] = [];
  if (t & TG_INSERT) events.push('insert');
  if (t & TG_DELETE) events.push('delete');
  if (t & TG_UPDATE) events.push('update');
  if (t & TG_TRUNCATE) events.push('truncate');
  const when = row.definition !== null ? triggerWhen(row.definition) : undefined;
  const args = triggerArguments(row.args, row.nargs);
  const enabled = ENABLED[row.enabled];
  return {
    kind: 'trigger',
    schema: row.schema,
    table: row.table_name,
    name: row.name,
    timing: t & TG_INSTEAD ? 'instead of' : t & TG_BEFORE ? 'before' : 'after',
    events,
    ...(row.columns !== null && row.columns.length > 0 ? { columns: row.columns } : {}),
    forEach: t & TG_ROW ? 'row' : 'statement',
    ...(when !== undefined ? { when } : {}),
    function: row.function_schema === 'pg_catalog' ? row.function_name : `${row.function_schema}.${row.function_name}`,
    ...(args.length > 0 ? { arguments: args } : {}),
    ...(row.old_table !== null ? { oldTable: row.old_table } : {}),
    ...(row.new_table !== null ? { newTable: row.new_table } : {}),
    ...(row.is_constraint
      ? { constraint: { deferrable: row.deferrable, initiallyDeferred: row.initially_deferred } }
      : {}),
    ...(enabled !== undefined ? { enabled } : {}),
    ...(row.comment !== null ? { comment: row.comment } : {}),
  };
}

/** The routines and triggers of each schema, in canonical order (zdm's own left out). */
export function routinesBySchema(
  routines: readonly RoutineRow[],
  triggers: readonly TriggerRow[],
): Map<string, { functions: Routine[]; triggers: Trigger[] }> {
  const out = new Map<string, { functions: Routine[]; triggers: Trigger[] }>();
  const of = (schema: string) => {
    let e = out.get(schema);
    if (!e) {
      e = { functions: [], triggers: [] };
      out.set(schema, e);
    }
    return e;
  };
  for (const r of routines) if (!isZdmOwnName(r.name)) of(r.schema).functions.push(parseRoutine(r));
  for (const t of triggers) if (!isZdmOwnName(t.name)) of(t.schema).triggers.push(parseTrigger(t));
  for (const e of out.values()) {
    e.functions = sortRoutines(e.functions);
    e.triggers = sortTriggers(e.triggers);
  }
  return out;
}
