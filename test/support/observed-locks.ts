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

/**
 * Hooks for `applyPhase` (`testHooks`) that read, before each transactional SQL step runs for real,
 * the relation locks its statements take: run on `observer` inside BEGIN … ROLLBACK. Only the
 * relations that exist before the step are compared (a relation the step creates is declared, not
 * read). And, between the first three batches of a copy, a write on `writer` under a 500 ms
 * lock_timeout that would fail if it queued: `writes` holds how long each took.
 */
export function observeApply(
  plan: Plan,
  observer: pg.Client,
  writer?: { readonly client: pg.Client; readonly sql: readonly string[] },
): {
  readonly observed: Observed[];
  readonly writes: number[];
  readonly testHooks: {
    beforeStep(id: string): Promise<void>;
    afterBatch(id: string, batches: number): Promise<void>;
  };
} {
  const steps = new Map(plan.phases.flatMap((p) => p.steps).map((s) => [s.id, s]));
  const observed: Observed[] = [];
  const writes: number[] = [];
  const beforeStep = async (id: string) => {
    const step = steps.get(id);
    if (step?.kind !== 'sql' || !step.transaction) return;
    const existing = await relations(observer);
    await observer.query('BEGIN');
    try {
      for (const q of step.sql) await observer.query(q);
      const before = new Set(existing.values());
      observed.push({
        step: `${id} ${step.summary}`,
        declared: step.locks
          .filter((l) => before.has(l.relation))
          .map((l) => `${l.mode} on ${l.relation}`)
          .sort(),
        held: await heldLocks(observer, existing),
      });
    } finally {
      await observer.query('ROLLBACK');
    }
  };
  const afterBatch = async (_id: string, batches: number) => {
    if (writer === undefined || batches > 3) return;
    const t = Date.now();
    await writer.client.query(`SET lock_timeout = '500ms'`);
    for (const q of writer.sql) await writer.client.query(q.replaceAll('$batch', String(batches)));
    writes.push(Date.now() - t);
  };
  return { observed, writes, testHooks: { beforeStep, afterBatch } };
}

/** Prints what `observeApply` read, one step per entry: declared and held locks. */
export function observedText(observed: readonly Observed[]): string {
  return observed
    .map((o) => `  ${o.step}\n    declared ${o.declared.join(', ')}\n    held     ${o.held.join(', ')}`)
    .join('\n');
}

/** The message of the error `makePlan` fails with, and of each of its issues, one per line. */
export async function planRefusal(db: TestDatabase, desiredPath: string): Promise<string> {
  const err = await makePlan(db.client, { scratchUrl: adminUrl(), desiredPath }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  const e = err as Error & { issues?: readonly { message: string }[] };
  return [e.message, ...(e.issues ?? []).map((i) => i.message)].join('\n');
}
