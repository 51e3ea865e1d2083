/**
 * The locks a plan's steps take, read from pg_locks (test/integration/*-locks.test.ts): every
 * transactional step runs once inside BEGIN … ROLLBACK while its own locks are read, then for real.
 */
import type pg from 'pg';
import { PG_LOCK_NAME, strongerMode } from '../../src/plan/locks.js';
import { LOCK_MODES, type LockInfo, PHASES, type Plan } from '../../src/plan/types.js';

/** pg_locks' name of each mode (`AccessShareLock`) → zdm's (`ACCESS SHARE`). */
const MODE: Readonly<Record<string, LockInfo['mode']>> = Object.fromEntries(
  LOCK_MODES.map((m) => [PG_LOCK_NAME[m], m] as const),
);

/** `MODE on schema.name`, the strongest per relation, of what the session holds now on the relations of `existing`. */
export async function heldLocks(c: pg.Client, existing: ReadonlyMap<string, string>): Promise<string[]> {
  // By oid: a relation the step dropped (or dropped and created again) is no longer in pg_class.
  const r = await c.query<{ oid: string; mode: string }>(
    `SELECT l.relation::text AS oid, l.mode FROM pg_locks l
      WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation'`,
  );
  const best = new Map<string, LockInfo['mode']>();
  for (const row of r.rows) {
    const rel = existing.get(row.oid);
    if (rel === undefined) continue;
    const mode = MODE[row.mode]!;
    const had = best.get(rel);
    best.set(rel, had === undefined ? mode : strongerMode(had, mode));
  }
  return [...best].map(([rel, mode]) => `${mode} on ${rel}`).sort();
}

/** Tables, views and materialized views of user schemas, by oid. */
export async function relations(c: pg.Client): Promise<Map<string, string>> {
  const r = await c.query<{ oid: string; rel: string }>(
    `SELECT k.oid::text AS oid, n.nspname || '.' || k.relname AS rel FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
      WHERE k.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  return new Map(r.rows.map((x) => [x.oid, x.rel]));
}

export interface Observed {
  readonly step: string;
  readonly declared: string[];
  readonly held: string[];
}

/**
 * Runs every step of `plan` in order: a transactional SQL step first inside BEGIN … ROLLBACK to read
 * its locks, then for real; a non-transactional one statement by statement.
 */
export async function runObserved(c: pg.Client, plan: Plan): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const phase of PHASES) {
    for (const step of plan.phases.find((p) => p.name === phase)!.steps) {
      if (step.kind !== 'sql') throw new Error(`${step.id}: only SQL steps here`);
      if (!step.transaction) {
        for (const q of step.sql) await c.query(q);
        continue;
      }
      const existing = await relations(c);
      await c.query('BEGIN');
      try {
        for (const q of step.sql) await c.query(q);
        out.push({
          step: `${step.id} ${step.summary}`,
          declared: step.locks.map((l) => `${l.mode} on ${l.relation}`).sort(),
          held: await heldLocks(c, existing),
        });
      } finally {
        await c.query('ROLLBACK');
      }
      await c.query('BEGIN');
      for (const q of step.sql) await c.query(q);
      await c.query('COMMIT');
    }
  }
  return out;
}
