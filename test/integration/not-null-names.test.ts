/**
 * Names of NOT NULL constraints (PostgreSQL 18): what `zdm pull` reads (only names that are not
 * PostgreSQL's own), and the locks of the steps that give them, proven from pg_locks
 * (test/support/observed-locks.ts). `ALTER TABLE … RENAME CONSTRAINT` takes ACCESS EXCLUSIVE on
 * the table, and on every partition of a partitioned one (the rename goes down to them). Before
 * PostgreSQL 18 there are no such names: a desired state that has one is refused at plan time.
 */
import { describe, expect, it } from 'vitest';
import { introspect } from '../../src/introspect/index.js';
import { useLockScenarios } from '../support/observed-locks.js';

const notNullNames = `SELECT conrelid::regclass::text AS rel, conname AS name FROM pg_constraint
  WHERE contype = 'n' AND connamespace = 'public'::regnamespace ORDER BY 1, 2`;

const PLAIN = `CREATE TABLE t (id int PRIMARY KEY, total int NOT NULL);
  INSERT INTO t SELECT g, g FROM generate_series(1, 200) g;`;
const plainDesired = (total: string) => `    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
          total: { type: integer, nullable: false${total} }
        primaryKey: { columns: [id] }
`;

const PARTITIONED = `CREATE TABLE p (id int NOT NULL, amount int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);
  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
  CREATE TABLE p2 (id int NOT NULL, amount int NOT NULL, d date NOT NULL);
  ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');`;
const partitionedDesired = (amount: string, p2: string) => `    tables:
      p:
        columns:
          id: { type: integer, nullable: false }
          amount: { type: integer, nullable: false${amount} }
          d: { type: date, nullable: false }
        partitionBy: { strategy: range, columns: [d] }
        partitions:
          p1: { from: ['2022-01-01'], to: ['2022-02-01'] }
          p2: { from: ['2022-02-01'], to: ['2022-03-01']${p2} }
`;

describe('NOT NULL constraint names', () => {
  const s = useLockScenarios('not null names');
  /** `relation name` of every NOT NULL constraint on a column `amount`. */
  const amountNames = async () =>
    (await s.db().query<{ rel: string; name: string }>(notNullNames))
      .filter((r) => r.name.includes('amount'))
      .map((r) => `${r.rel} ${r.name}`);

  it('pull: a name only where it is not PostgreSQL’s own; an attached partition keeps its own names', async () => {
    // p's constraint renamed while p1 (PARTITION OF) shares it, before p2 (its own names) is attached.
    await s.db().exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;
      CREATE TABLE p (id int NOT NULL, amount int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);
      CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
      ${s.db().major >= 18 ? 'ALTER TABLE p RENAME CONSTRAINT p_amount_not_null TO p_amount_required;' : ''}
      CREATE TABLE p2 (id int NOT NULL, amount int NOT NULL, d date NOT NULL);
      ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');`);
    const m = await introspect(s.db().client);
    const p = m.schemas.find((x) => x.name === 'public')?.tables.find((t) => t.name === 'p');
    if (s.db().major < 18) {
      // No names before 18: the same tables are read as they always were.
      expect(p?.columns.some((c) => c.notNullName !== undefined)).toBe(false);
      expect(p?.partitions.map((x) => x.notNullNames)).toEqual([undefined, undefined]);
      return;
    }
    expect(p?.columns.map((c) => [c.name, c.notNullName])).toEqual([
      ['id', undefined],
      ['amount', 'p_amount_required'],
      ['d', undefined],
    ]);
    expect(p?.partitions.map((x) => [x.name, x.notNullNames])).toEqual([
      ['p1', undefined],
      // p1 took p's names (the rename went down to it); p2 kept those it had when it was attached.
      ['p2', { amount: 'p2_amount_not_null', d: 'p2_d_not_null', id: 'p2_id_not_null' }],
    ]);
  });

  it('renaming a table’s NOT NULL constraint: ACCESS EXCLUSIVE on the table alone (refused before 18)', async () => {
    if (s.db().major < 18) {
      await expect(s.scenario('plain before 18', PLAIN, plainDesired(', notNullName: total_required'))).rejects.toThrow(
        /has no names for NOT NULL constraints/,
      );
      return;
    }
    const { observed } = await s.scenario('plain rename', PLAIN, plainDesired(', notNullName: total_required'));
    expect(observed.map((o) => [o.step.replace(/^\S+ /, ''), o.declared, o.held])).toEqual([
      [
        'rename the NOT NULL constraint of public.t.total from t_total_not_null to total_required',
        ['ACCESS EXCLUSIVE on public.t'],
        ['ACCESS EXCLUSIVE on public.t'],
      ],
    ]);
    expect(await s.db().query(notNullNames)).toEqual([
      { rel: 't', name: 't_id_not_null' },
      { rel: 't', name: 'total_required' },
    ]);
  });

  it('renaming a partitioned table’s: ACCESS EXCLUSIVE on it and on every partition that shares the name', async () => {
    if (s.db().major < 18) {
      await expect(
        s.scenario('partitioned before 18', PARTITIONED, partitionedDesired(', notNullName: amount_required', '')),
      ).rejects.toThrow(/has no names for NOT NULL constraints/);
      return;
    }
    // p2 (attached) has its own names: the desired state says so, and the rename of p's then stops at p1.
    const p2 = ', notNullNames: { amount: p2_amount_not_null, d: p2_d_not_null, id: p2_id_not_null }';
    await expect(
      s.scenario('partitioned refused', PARTITIONED, partitionedDesired(', notNullName: amount_required', p2)),
    ).rejects.toThrow(/partition public\.p2 names its own p2_amount_not_null/);
    const shared = `${PARTITIONED} ALTER TABLE p DETACH PARTITION p2; DROP TABLE p2;
      CREATE TABLE p2 PARTITION OF p FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');`;
    const { observed } = await s.scenario(
      'partitioned rename',
      shared,
      partitionedDesired(', notNullName: amount_required', ''),
    );
    expect(observed.map((o) => [o.declared, o.held])).toEqual([
      [
        ['ACCESS EXCLUSIVE on public.p', 'ACCESS EXCLUSIVE on public.p1', 'ACCESS EXCLUSIVE on public.p2'],
        ['ACCESS EXCLUSIVE on public.p', 'ACCESS EXCLUSIVE on public.p1', 'ACCESS EXCLUSIVE on public.p2'],
      ],
    ]);
    expect(await amountNames()).toEqual(['p amount_required', 'p1 amount_required', 'p2 amount_required']);
  });

  it('a new partition with names of its own: created LIKE the parent, renamed before ATTACH, as declared', async () => {
    const desired = `${partitionedDesired('', '')}          p3: { from: ['2022-03-01'], to: ['2022-04-01'], notNullNames: { amount: p3_amount_not_null } }
`;
    if (s.db().major < 18) {
      await expect(s.scenario('new partition before 18', PARTITIONED, desired)).rejects.toThrow(
        /has no names for NOT NULL constraints/,
      );
      return;
    }
    const { observed } = await s.scenario(
      'new partition',
      PARTITIONED.replace(
        /CREATE TABLE p2[^;]*;\s*ALTER TABLE p ATTACH[^;]*;/,
        `CREATE TABLE p2 PARTITION OF p FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');`,
      ),
      desired,
    );
    // p3 does not exist before the step: its ACCESS EXCLUSIVE is declared, and no one else can see it.
    expect(observed.map((o) => [o.declared, o.held])).toEqual([
      [['ACCESS EXCLUSIVE on public.p3', 'SHARE UPDATE EXCLUSIVE on public.p'], ['SHARE UPDATE EXCLUSIVE on public.p']],
    ]);
    expect(observed.map((o) => o.step)).toEqual([
      expect.stringMatching(/create public\.p3 and attach it as a partition of public\.p/),
    ]);
    expect((await s.db().query<{ rel: string; name: string }>(notNullNames)).filter((r) => r.rel === 'p3')).toEqual([
      { rel: 'p3', name: 'p3_amount_not_null' },
      { rel: 'p3', name: 'p_d_not_null' },
      { rel: 'p3', name: 'p_id_not_null' },
    ]);
  });

  it('a renamed table’s NOT NULL constraints follow it, in the rename step, under the locks it declares', async () => {
    const desired = partitionedDesired('', '').replace('      p:\n', '      q:\n        renamedFrom: p\n');
    const shared = `CREATE TABLE p (id int NOT NULL, amount int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);
      CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
      CREATE TABLE p2 PARTITION OF p FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');`;
    const { observed } = await s.scenario('table rename', shared, desired);
    const step = observed.find((o) => o.step.includes('rename table public.p to q'));
    expect(step?.held).toEqual(step?.declared);
    expect(step?.declared).toEqual(
      s.db().major >= 18
        ? ['ACCESS EXCLUSIVE on public.p', 'ACCESS EXCLUSIVE on public.p1', 'ACCESS EXCLUSIVE on public.p2']
        : ['ACCESS EXCLUSIVE on public.p'],
    );
    if (s.db().major >= 18) {
      expect(await amountNames()).toEqual(['p1 q_amount_not_null', 'p2 q_amount_not_null', 'q q_amount_not_null']);
    }
  });
});
