/**
 * The journal's version (src/apply/journal.ts): a journal written by the previous version (1, before
 * zdm.blocker_actions) is read as it was and brought to version 2 by the next apply; a journal of a
 * newer version than this zdm knows is refused before anything is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, applyPhase } from '../../src/apply/index.js';
import { JOURNAL_VERSION, readPlanJournal } from '../../src/apply/journal.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { buildPlan, sqlStep } from '../support/plans.js';

describe('the journal of an older or newer zdm', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('journal version');
    await db.exec('CREATE TABLE public.jv (id int PRIMARY KEY)');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const version = async () =>
    (await db.query<{ value: string }>(`SELECT value FROM zdm.meta WHERE key = 'journal_version'`))[0]?.value;

  it('a version-1 journal: its plans read as before, and the next apply adds zdm.blocker_actions', async () => {
    expect(JOURNAL_VERSION).toBe(2);
    const first = await buildPlan(db.client, {
      id: 'jv-1',
      expand: [sqlStep('expand.1', 'ALTER TABLE public.jv ADD COLUMN a int')],
    });
    await applyPhase(db.client, first, { phase: 'expand' });
    // What version 1 left: the same tables without blocker_actions, and its version.
    await db.exec(`DROP TABLE zdm.blocker_actions; UPDATE zdm.meta SET value = '1' WHERE key = 'journal_version'`);
    const before = await readPlanJournal(db.client, 'jv-1');
    expect(before?.steps.get('expand.1')?.status).toBe('done');

    const second = await buildPlan(db.client, {
      id: 'jv-2',
      expand: [sqlStep('expand.1', 'ALTER TABLE public.jv ADD COLUMN b int')],
    });
    await applyPhase(db.client, second, { phase: 'expand' });
    expect(await version()).toBe('2');
    expect(await db.query(`SELECT count(*)::int AS n FROM zdm.blocker_actions`)).toEqual([{ n: 0 }]);
    expect(await readPlanJournal(db.client, 'jv-1')).toEqual(before);
    // Applying the old plan's phase again is still "already applied".
    expect((await applyPhase(db.client, first, { phase: 'expand' })).status).toBe('already-applied');
  });

  it('a journal of a newer version: refused, nothing written', async () => {
    await db.exec(`UPDATE zdm.meta SET value = '3' WHERE key = 'journal_version'`);
    const plan = await buildPlan(db.client, {
      id: 'jv-3',
      expand: [sqlStep('expand.1', 'ALTER TABLE public.jv ADD COLUMN c int')],
    });
    const err = await applyPhase(db.client, plan, { phase: 'expand' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).code).toBe('journal');
    expect((err as ApplyError).message).toMatch(/has version 3; this zdm understands version 2/);
    expect(await version()).toBe('3');
    expect(await db.query(`SELECT 1 FROM zdm.plans WHERE plan_id = 'jv-3'`)).toEqual([]);
  });
});
