/**
 * `zdm rollback PLAN`: undoes what expand and backfill applied, before contract. Expand only adds
 * (columns, constraints NOT VALID, indexes CONCURRENTLY, sync triggers and their functions) and a
 * backfill only writes into columns expand added, so undoing means dropping those objects, newest
 * first; the old columns and their data were never touched. After contract has started the old
 * column may be gone and the new one holds writes the old never saw: rollback refuses and says so.
 *
 * The inverse of each statement is read from the statement itself: zdm's planner writes a small,
 * fixed set of additive forms (ADD COLUMN, ADD CONSTRAINT, CREATE INDEX CONCURRENTLY, CREATE
 * FUNCTION, CREATE TRIGGER, CREATE [MATERIALIZED] VIEW, CREATE SCHEMA, and the renames in place of
 * `--renames views`, renamed back). A step that replaces something in place says its undo itself
 * (`SqlStep.undo`: a trigger widened to both columns of a rename, re-created as it was; a swap's
 * shadow table and its mirror triggers, dropped, with the copy, the comparison and the indexes built
 * on the shadow going with it). A
 * statement of any other form (SET DEFAULT on an existing column, a
 * new enum label, OWNED BY, a backfill into an existing column) has no safe inverse: rollback then
 * refuses before it changes anything, naming the step.
 *
 * Every DROP is `IF EXISTS`, so a step that was started but did not finish (a CONCURRENTLY build
 * killed mid-way) is undone as well. The plan's journal rows are deleted at the end: the database
 * is as if the plan had never been applied, and it may be applied again. The live schema must then
 * have the fingerprint the plan's expand phase started from.
 */
import type { Queryable } from '../db/connection.js';
import { assertNever } from '../errors.js';
import { introspect } from '../introspect/index.js';
import { fingerprint } from '../model/canonical.js';
import { JOURNAL_SCHEMA, withoutJournal } from '../model/objects.js';
import { parseIdentifierChain } from '../model/types-text.js';
import type { LockInfo, Plan, SqlStep, Step } from '../plan/types.js';
import { dropColumnSql, renameColumnSql } from '../sql/columns.js';
import { dropConstraintSql, renameConstraintSql } from '../sql/constraints.js';
import { dropIndexSql } from '../sql/indexes.js';
import { qualifiedName, quoteIdent, type RelationName } from '../sql/quote.js';
import { dropSchemaSql } from '../sql/schemas.js';
import { dropSequenceSql } from '../sql/sequences.js';
import { resetSql, setLocalSql, setSessionSql } from '../sql/session.js';
import { renameTableSql } from '../sql/tables.js';
import { dropFunctionSql, dropTriggerSql } from '../sql/triggers.js';
import { dropViewSql } from '../sql/views.js';
import { validatePlan, verifyChecksum } from './checks.js';
import { resolveSettings } from './context.js';
import { ApplyError, messageOf, sqlStateOf } from './errors.js';
import { type GuardContext, type GuardEvent, guardedTries, SideSession, waitKindOf } from './guard.js';
import { ensureJournal, readPlanJournal } from './journal.js';
import { acquireApplyLock, releaseApplyLock } from './locks.js';
import { msSetting } from './timing.js';
import type { ApplyOptions } from './types.js';

export type RollbackEvent =
  | {
      readonly type: 'rollback-step';
      readonly stepId: string;
      readonly sql: readonly string[];
      readonly message: string;
    }
  | GuardEvent;

/**
 * Lock waits go through the same guard as apply's steps (src/apply/guard.ts): each DROP waits
 * without queueing while a long transaction holds the table, then tries under the short per-try
 * `lockTimeoutMs` within `lockWaitMs`; a DROP INDEX CONCURRENTLY waits for older transactions in one
 * try. Defaults as for apply.
 */
export interface RollbackOptions
  extends Pick<
    ApplyOptions,
    | 'lockTimeoutMs'
    | 'lockWaitMs'
    | 'maxLockRetries'
    | 'retryBaseDelayMs'
    | 'retryMaxDelayMs'
    | 'cancelBlockersAfterMs'
    | 'terminateBlockers'
    | 'sideConnection'
  > {
  /** Print what would run; change nothing. */
  readonly dryRun?: boolean;
  readonly onEvent?: (e: RollbackEvent) => void;
}

export interface RollbackResult {
  readonly planId: string;
  /** The undo of each applied step, newest first. */
  readonly undone: readonly { readonly stepId: string; readonly sql: readonly string[] }[];
  /** Nothing of the plan was applied here. */
  readonly nothingToDo: boolean;
  readonly dryRun: boolean;
}

const ID = `(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`(${ID}(?:\.${ID})?)`;
const re = (s: string) => new RegExp(`^${s}`, 's');

const ADD_COLUMN = re(`ALTER TABLE ${QUALIFIED} ADD COLUMN (${ID}) `);
const ADD_CONSTRAINT = re(`ALTER TABLE ${QUALIFIED} ADD CONSTRAINT (${ID}) `);
const CREATE_INDEX = re(`CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(${ID}) ON (?:ONLY )?${QUALIFIED}`);
const CREATE_FUNCTION = re(String.raw`CREATE FUNCTION ${QUALIFIED}\(\)`);
const CREATE_TRIGGER = re(`CREATE TRIGGER (${ID}) .* ON ${QUALIFIED} FOR EACH ROW`);
const SET_DEFAULT = re(`ALTER TABLE ${QUALIFIED} ALTER COLUMN (${ID}) SET DEFAULT `);
const VALIDATE = re(`ALTER TABLE ${QUALIFIED} VALIDATE CONSTRAINT (${ID})$`);
const COMMENT_FUNCTION = re(`COMMENT ON FUNCTION `);
const COMMENT_COLUMN = re(String.raw`COMMENT ON COLUMN ${QUALIFIED}\.(${ID}) IS `);
// A new table (a swap's shadow: its step says its undo, and the copy into it goes with it).
const CREATE_TABLE = re(`CREATE TABLE ${QUALIFIED}[ \n]`);
// An index of a partitioned shadow attached to its parent index: both go with the shadow.
const ATTACH_INDEX = re(`ALTER INDEX ${QUALIFIED} ATTACH PARTITION ${QUALIFIED}$`);
// A new view or materialized view (not CREATE OR REPLACE: the old definition is not in the plan).
const CREATE_VIEW = re(`CREATE (MATERIALIZED )?VIEW ${QUALIFIED}[ \n]`);
const COMMENT_VIEW = re(`COMMENT ON (?:MATERIALIZED VIEW|VIEW|INDEX) ${QUALIFIED} IS `);
// Renames in place (--renames views; a table rename): renamed back.
const RENAME_COLUMN = re(`ALTER TABLE ${QUALIFIED} RENAME COLUMN (${ID}) TO (${ID})$`);
const RENAME_TABLE = re(`ALTER TABLE ${QUALIFIED} RENAME TO (${ID})$`);
// A NOT NULL constraint's name (PostgreSQL 18) following a rename, or renamed on its own.
const RENAME_CONSTRAINT = re(`ALTER TABLE ${QUALIFIED} RENAME CONSTRAINT (${ID}) TO (${ID})$`);
// A new schema (a version schema of --renames views), its comment and the grants on what is in it.
const CREATE_SCHEMA = re(`CREATE SCHEMA (${ID})$`);
const COMMENT_SCHEMA = re(`COMMENT ON SCHEMA (${ID}) IS `);
const GRANT_ON = re(`GRANT .* ON (TABLE|SCHEMA) ${QUALIFIED} TO `);
// The contract gate's tracking of a rename (src/sql/old-writes.ts): its sequence and function in
// zdm's schema go; the schema and its USAGE grant stay (they are the journal's, and other plans in
// flight may track through them).
const CREATE_SEQUENCE = re(`CREATE SEQUENCE ${QUALIFIED} `);
const JOURNAL_SCHEMA_SQL = re(
  `(?:CREATE SCHEMA IF NOT EXISTS ${quoteIdent(JOURNAL_SCHEMA)}$|GRANT USAGE ON SCHEMA ${quoteIdent(JOURNAL_SCHEMA)} TO PUBLIC$|COMMENT ON SEQUENCE |GRANT EXECUTE ON FUNCTION )`,
);

/** The relation a `schema.name` of the plan's SQL names (unqualified: in `public`). */
function relationOf(text: string): RelationName {
  const parts = parseIdentifierChain(text);
  if (parts === undefined || parts.length === 0 || parts.length > 2) throw new Error(`not a relation name: ${text}`);
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { schema: 'public', name: parts[0]! };
}

/** The name one identifier of the plan's SQL spells. */
function nameOf(text: string): string {
  const parts = parseIdentifierChain(text);
  if (parts?.length !== 1) throw new Error(`not an identifier: ${text}`);
  return parts[0]!;
}

interface Undo {
  readonly stepId: string;
  readonly sql: string[];
  /** Statements that must run outside a transaction (DROP INDEX CONCURRENTLY). */
  readonly concurrent: boolean;
  /**
   * What the undo locks: the relations its step locked, in ACCESS EXCLUSIVE (DROP COLUMN, DROP
   * CONSTRAINT, DROP TRIGGER), or as the step did for DROP INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE).
   */
  readonly locks: readonly LockInfo[];
}

/**
 * Columns (`table.column` as written), constraints, and tables, views and materialized views (with
 * their indexes) that the plan's expand and backfill add.
 */
function addedByPlan(plan: Plan): {
  columns: Set<string>;
  constraints: Set<string>;
  relations: Set<string>;
  tables: Set<string>;
  schemas: Set<string>;
} {
  const tables = new Set<string>();
  const schemas = new Set<string>();
  const columns = new Set<string>();
  const constraints = new Set<string>();
  const relations = new Set<string>();
  for (const phase of plan.phases) {
    // Backfill too: the indexes of a swap's shadow are built after its copy.
    if (phase.name === 'contract') continue;
    for (const step of phase.steps) {
      for (const sql of step.kind === 'sql' ? step.sql : []) {
        const c = ADD_COLUMN.exec(sql);
        if (c) columns.add(`${c[1]}.${c[2]}`);
        const k = ADD_CONSTRAINT.exec(sql);
        if (k) constraints.add(`${k[1]}.${k[2]}`);
        const v = CREATE_VIEW.exec(sql);
        if (v) relations.add(v[2]!);
        const t = CREATE_TABLE.exec(sql);
        if (t) {
          relations.add(t[1]!);
          tables.add(t[1]!);
        }
        const sc = CREATE_SCHEMA.exec(sql);
        if (sc) schemas.add(nameOf(sc[1]!));
        const i = CREATE_INDEX.exec(sql);
        if (i && v === null && relations.has(i[3]!))
          relations.add(qualifiedName(relationOf(i[3]!).schema, nameOf(i[2]!)));
      }
    }
  }
  return { columns, constraints, relations, tables, schemas };
}

/** The inverse of one statement: SQL, null (nothing to undo), or why there is none. */
function undoStatement(
  sql: string,
  added: ReturnType<typeof addedByPlan>,
): { sql: string; concurrent: boolean } | null | string {
  const tx = (s: string) => ({ sql: s, concurrent: false });
  let m = ADD_COLUMN.exec(sql);
  if (m) return tx(dropColumnSql(relationOf(m[1]!), nameOf(m[2]!), { ifExists: true }));
  m = ADD_CONSTRAINT.exec(sql);
  if (m) return tx(dropConstraintSql(relationOf(m[1]!), nameOf(m[2]!), { ifExists: true }));
  m = CREATE_INDEX.exec(sql);
  // An index of a table the plan created goes with it (a swap's shadow and its partitions).
  if (m && added.tables.has(m[3]!)) return null;
  if (m) {
    const concurrent = m[1] !== undefined;
    const index = { schema: relationOf(m[3]!).schema, name: nameOf(m[2]!) };
    return { sql: dropIndexSql(index, { concurrently: concurrent, ifExists: true }), concurrent };
  }
  m = CREATE_FUNCTION.exec(sql);
  if (m) return tx(dropFunctionSql(relationOf(m[1]!), { ifExists: true }));
  m = CREATE_TRIGGER.exec(sql);
  if (m) return tx(dropTriggerSql(nameOf(m[1]!), relationOf(m[2]!), { ifExists: true }));
  m = CREATE_SEQUENCE.exec(sql);
  if (m && relationOf(m[1]!).schema === JOURNAL_SCHEMA)
    return tx(dropSequenceSql(relationOf(m[1]!), { ifExists: true }));
  // The sequence's comment and the function's grant go with them.
  if (JOURNAL_SCHEMA_SQL.test(sql)) return null;
  m = CREATE_VIEW.exec(sql);
  if (m) return tx(dropViewSql(relationOf(m[2]!), { materialized: m[1] !== undefined, ifExists: true }));
  m = RENAME_COLUMN.exec(sql);
  if (m) return tx(renameColumnSql(relationOf(m[1]!), nameOf(m[3]!), nameOf(m[2]!)));
  m = RENAME_CONSTRAINT.exec(sql);
  if (m) return tx(renameConstraintSql(relationOf(m[1]!), nameOf(m[3]!), nameOf(m[2]!)));
  m = RENAME_TABLE.exec(sql);
  if (m) {
    const from = relationOf(m[1]!);
    return tx(renameTableSql({ schema: from.schema, name: nameOf(m[2]!) }, from.name));
  }
  m = CREATE_SCHEMA.exec(sql);
  if (m) return tx(dropSchemaSql(nameOf(m[1]!), { ifExists: true }));
  m = COMMENT_SCHEMA.exec(sql);
  if (m && added.schemas.has(nameOf(m[1]!))) return null;
  m = GRANT_ON.exec(sql);
  if (m && (m[1] === 'SCHEMA' ? added.schemas.has(nameOf(m[2]!)) : added.relations.has(m[2]!))) return null;
  // Comments of a view or materialized view (or of its index or columns) the plan created go with it.
  m = COMMENT_VIEW.exec(sql);
  if (m && added.relations.has(m[1]!)) return null;
  m = COMMENT_COLUMN.exec(sql);
  if (m && added.relations.has(m[1]!)) return null;
  m = ATTACH_INDEX.exec(sql);
  if (m && added.relations.has(m[1]!)) return null;
  // The function goes, and its comment with it.
  if (COMMENT_FUNCTION.test(sql)) return null;
  // A setting of the step's own transaction (new functions are created with their bodies unchecked).
  if (sql === 'SET LOCAL check_function_bodies = off') return null;
  m = SET_DEFAULT.exec(sql) ?? COMMENT_COLUMN.exec(sql);
  if (m) return added.columns.has(`${m[1]}.${m[2]}`) ? null : `it changes column ${m[2]} that existed before the plan`;
  m = VALIDATE.exec(sql);
  if (m) {
    return added.constraints.has(`${m[1]}.${m[2]}`)
      ? null
      : `it validated constraint ${m[2]} that existed before the plan (PostgreSQL cannot make it NOT VALID again)`;
  }
  return `no automatic undo for: ${sql.split('\n')[0]!.slice(0, 120)}`;
}

/** The undo of one applied step, or why there is none. */
function undoOf(step: Step, added: ReturnType<typeof addedByPlan>): Undo | string {
  switch (step.kind) {
    case 'sql':
      return undoSqlStep(step, added);
    case 'backfill': {
      // A backfill into a column expand added is undone by dropping the column.
      const table = qualifiedName(step.table.schema, step.table.name);
      const foreign = Object.keys(step.set).filter((c) => !added.columns.has(`${table}.${quoteIdent(c)}`));
      return foreign.length === 0
        ? { stepId: step.id, sql: [], concurrent: false, locks: [] }
        : `it writes column(s) ${foreign.join(', ')} that existed before the plan: their old values are gone`;
    }
    case 'copy':
    case 'verify':
      // A copy into (or a comparison with) a table the plan created goes with that table.
      return added.relations.has(qualifiedName(step.to.schema, step.to.name))
        ? { stepId: step.id, sql: [], concurrent: false, locks: [] }
        : `a ${step.kind} step has no automatic undo`;
    default:
      return assertNever(step);
  }
}

function undoSqlStep(step: SqlStep, added: ReturnType<typeof addedByPlan>): Undo | string {
  // The planner said how: a trigger re-created in place as it was (the step's own locks), or dropped
  // (ACCESS EXCLUSIVE).
  if (step.undo !== undefined) {
    const drops = step.undo.some((q) => q.startsWith('DROP '));
    const locks = drops ? step.locks.map((l) => ({ ...l, mode: 'ACCESS EXCLUSIVE' as const })) : step.locks;
    return { stepId: step.id, sql: [...step.undo], concurrent: false, locks };
  }
  const out: string[] = [];
  let concurrent = false;
  for (const sql of [...step.sql].reverse()) {
    const undo = undoStatement(sql, added);
    if (typeof undo === 'string') return undo;
    if (undo === null) continue;
    concurrent ||= undo.concurrent;
    out.push(undo.sql);
  }
  const locks = concurrent ? step.locks : step.locks.map((l) => ({ ...l, mode: 'ACCESS EXCLUSIVE' as const }));
  return { stepId: step.id, sql: out, concurrent, locks };
}

export async function rollbackPlan(c: Queryable, plan: Plan, options: RollbackOptions = {}): Promise<RollbackResult> {
  validatePlan(plan);
  const { dryRun: _dry, onEvent: _on, ...lockOptions } = options;
  const s = resolveSettings(lockOptions);
  const dryRun = options.dryRun ?? false;
  if (!dryRun) await acquireApplyLock(c);
  const side = new SideSession(dryRun ? undefined : s.sideConnection);
  try {
    const journal = await readPlanJournal(c, plan.id);
    if (journal === null) return { planId: plan.id, undone: [], nothingToDo: true, dryRun };
    verifyChecksum(plan, journal);
    const contractStarted =
      journal.phases.has('contract') || [...journal.steps.values()].some((s) => s.phase === 'contract');
    if (contractStarted) {
      throw new ApplyError(
        'phase-order',
        `plan ${plan.id}: contract has started, so rollback is refused: the old columns and triggers it removes ` +
          'cannot be brought back with the writes made since. Finish the plan (zdm apply PLAN --phase contract) ' +
          'and plan the way back as a new migration.',
      );
    }
    const added = addedByPlan(plan);
    const undos: Undo[] = [];
    const refusals: string[] = [];
    for (const phase of [...plan.phases].reverse()) {
      if (phase.name === 'contract') continue;
      for (const step of [...phase.steps].reverse()) {
        if (!journal.steps.has(step.id)) continue;
        const u = undoOf(step, added);
        if (typeof u === 'string') refusals.push(`step ${step.id} (${step.summary}): ${u}`);
        else if (u.sql.length > 0) undos.push(u);
      }
    }
    if (refusals.length > 0) {
      throw new ApplyError(
        'phase-order',
        `plan ${plan.id} cannot be rolled back automatically:\n  - ${refusals.join('\n  - ')}`,
      );
    }
    // Blocker actions are journaled (zdm.blocker_actions outlives the plan's rows deleted below).
    if (!dryRun) await ensureJournal(c);
    const gc: GuardContext = {
      c,
      s,
      emit: (e) => options.onEvent?.(e),
      side,
      journal: { planId: plan.id, phase: 'rollback' },
    };
    for (const u of undos) {
      options.onEvent?.({
        type: 'rollback-step',
        stepId: u.stepId,
        sql: u.sql,
        message: `${dryRun ? 'would undo' : 'undo'} ${u.stepId}: ${u.sql.join('; ')}`,
      });
      if (!dryRun) await runUndo(gc, u);
    }
    if (dryRun) return { planId: plan.id, undone: undos, nothingToDo: false, dryRun };
    await c.query(`DELETE FROM ${JOURNAL_SCHEMA}.plans WHERE plan_id = $1`, [plan.id]);
    const live = fingerprint(withoutJournal(await introspect(c)));
    const expected = plan.phases.find((p) => p.name === 'expand')?.before;
    if (expected !== undefined && live !== expected) {
      throw new ApplyError(
        'post-check',
        `plan ${plan.id} was rolled back, but the live schema is not the one the plan started from ` +
          '(something else changed it meanwhile?): compare with zdm pull',
      );
    }
    return { planId: plan.id, undone: undos, nothingToDo: false, dryRun };
  } finally {
    await side.close();
    if (!dryRun) await releaseApplyLock(c).catch(() => {});
  }
}

async function runUndo(gc: GuardContext, u: Undo): Promise<void> {
  const { c } = gc;
  try {
    await guardedTries(
      gc,
      u.stepId,
      u.locks,
      async (_n, t) => {
        if (u.concurrent) {
          // DROP INDEX CONCURRENTLY refuses to run in a transaction block: one statement at a time.
          await c.query(setSessionSql({ lock_timeout: msSetting(t.lockTimeoutMs) }));
          try {
            for (const sql of u.sql) await c.query(sql);
          } finally {
            await c.query(resetSql('lock_timeout'));
          }
        } else {
          await c.query('BEGIN');
          try {
            await c.query(setLocalSql({ lock_timeout: msSetting(t.lockTimeoutMs) }));
            for (const sql of u.sql) await c.query(sql);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => {});
            throw err;
          }
        }
      },
      { what: `rollback of ${u.stepId}`, wait: u.concurrent ? waitKindOf(u.sql, u.locks) : 'queues-app' },
    );
  } catch (err) {
    if (err instanceof ApplyError) throw err;
    const state = sqlStateOf(err);
    throw new ApplyError(
      'step-failed',
      `rollback of ${u.stepId} failed: ${messageOf(err)}`,
      { stepId: u.stepId, ...(state ? { sqlState: state } : {}) },
      { cause: err },
    );
  }
}
