/**
 * Running a plan's steps one by one while reading, from pg_locks, the relation locks each
 * transactional step holds: the proof that a step's declared locks are the locks PostgreSQL takes
 * (view-locks, routine-locks, key-locks, policy-locks). What a session holds is read by
 * src/apply/observe-locks.ts, the code `zdm plan`'s rehearsal uses.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { heldLocks as heldRelationLocks, relationNames } from '../../src/apply/observe-locks.js';
import { strongerMode } from '../../src/plan/locks.js';
import { type LockInfo, PHASES, type Plan, type SqlStep } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from './db.js';

/** `MODE on schema.name`, the strongest per relation, of what the session holds now on the relations of `existing`. */
export async function heldLocks(c: pg.Client, existing: ReadonlyMap<string, string>): Promise<string[]> {
  const best = new Map<string, LockInfo['mode']>();
  for (const { relation, mode } of await heldRelationLocks(c, existing)) {
    const had = best.get(relation);
    best.set(relation, had === undefined ? mode : strongerMode(had, mode));
  }
  return [...best].map(([rel, mode]) => `${mode} on ${rel}`).sort();
}

/** Tables (partitioned too), views and materialized views of user schemas, by oid. */
export const relations = relationNames;

export interface Observed {
  readonly step: string;
  readonly declared: string[];
  readonly held: string[];
}

export interface ObserveHooks {
  /** Before a step runs for real. */
  readonly before?: (step: SqlStep) => Promise<void>;
  /** After a step ran for real (committed). */
  readonly after?: (step: SqlStep) => Promise<void>;
}

/**
 * Runs every step of `plan` in order: a transactional SQL step first inside BEGIN … ROLLBACK to read
 * its locks, then for real; a non-transactional one statement by statement.
 */
export async function runObserved(c: pg.Client, plan: Plan, hooks: ObserveHooks = {}): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const phase of PHASES) {
    for (const step of plan.phases.find((p) => p.name === phase)!.steps) {
      if (step.kind !== 'sql') throw new Error(`${step.id}: only SQL steps here`);
      await hooks.before?.(step);
      if (!step.transaction) {
        for (const q of step.sql) await c.query(q);
        await hooks.after?.(step);
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
      await hooks.after?.(step);
    }
  }
  return out;
}

export interface LockScenario {
  readonly observed: Observed[];
  /** The desired-state file the scenario planned. */
  readonly file: string;
}

/**
 * Registers (inside a `describe`) a fresh database and folder for lock scenarios, and returns the
 * function that runs one: `public` reset, `before` run, `desired` (the body of schema `public`)
 * planned through the scratch database and run with every transactional step observed.
 */
export function useLockScenarios(label: string): {
  scenario(name: string, before: string, desired: string): Promise<LockScenario>;
  db(): TestDatabase;
} {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase(label);
    dir = await mkdtemp(path.join(tmpdir(), `zdm-${label.replace(/\W+/g, '-')}-`));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    db: () => db,
    async scenario(name, before, desired) {
      await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public; ${before}`);
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      await writeFile(file, `version: 1\nschemas:\n  public:\n${desired}`);
      const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
      const observed = await runObserved(db.client, made.plan);
      expect(observed.length, 'the scenario has transactional steps').toBeGreaterThan(0);
      return { observed, file };
    },
  };
}
