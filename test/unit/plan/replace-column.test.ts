/** The rename / type-change recipe (src/plan/techniques/replace-column/) and table renames, as planned. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import {
  check,
  col,
  fk,
  id,
  index,
  partition,
  pk,
  range,
  table,
  tables,
  unique,
  users,
  withTable,
} from './builders.js';
import { flat, plan } from './helpers.js';

const renamed = withTable(tables(users), 'users', (t) => ({
  ...t,
  columns: [id(), col('display_name', 'text', { nullable: false, renamedFrom: 'name' })],
}));
const liveNotNull = withTable(tables(users), 'users', (t) => ({
  ...t,
  columns: [id(), col('name', 'text', { nullable: false })],
}));

describe('column rename', () => {
  test('expand: column, NOT VALID check, function and trigger in one transaction; backfill; one contract transaction', () => {
    const r = plan(liveNotNull, renamed);
    const steps = flat(r);
    expect(steps.map((s) => `${s.phase}:${s.kind}`)).toEqual([
      'expand:sql',
      'backfill:backfill',
      'backfill:sql',
      'contract:sql',
    ]);
    const [expand, backfill, validate, contract] = steps;
    expect(expand!.kind === 'sql' && expand!.transaction).toBe(true);
    expect(expand!.sql.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([
      'ALTER TABLE',
      'ALTER TABLE',
      'CREATE SCHEMA',
      'GRANT USAGE',
      'CREATE SEQUENCE',
      'COMMENT ON',
      'CREATE FUNCTION',
      'GRANT EXECUTE',
      'CREATE FUNCTION',
      'COMMENT ON',
      'CREATE TRIGGER',
    ]);
    // The contract gate's tracking: a sequence and its function in zdm, told by the sync trigger.
    expect(expand!.sql[4]).toBe(
      'CREATE SEQUENCE zdm.public_users_display_name_zdm_sync_old_writes AS bigint MINVALUE 0 START 0 NO CYCLE',
    );
    expect(expand!.sql[8]).toContain('zdm_noted := zdm.public_users_display_name_zdm_sync_old_writes();');
    expect(expand!.sql[1]).toBe(
      'ALTER TABLE public.users ADD CONSTRAINT users_display_name_zdm_not_null CHECK (display_name IS NOT NULL) NOT VALID',
    );
    expect(backfill).toMatchObject({
      set: { display_name: 'name' },
      where: 'display_name IS NULL AND (name) IS NOT NULL',
    });
    expect(validate!.sql).toEqual(['ALTER TABLE public.users VALIDATE CONSTRAINT users_display_name_zdm_not_null']);
    expect(contract!.sql).toEqual([
      'DROP TRIGGER users_display_name_zdm_sync ON public.users',
      'DROP FUNCTION public.users_display_name_zdm_sync()',
      'DROP FUNCTION IF EXISTS zdm.public_users_display_name_zdm_sync_old_writes()',
      'DROP SEQUENCE IF EXISTS zdm.public_users_display_name_zdm_sync_old_writes',
      'ALTER TABLE public.users ALTER COLUMN display_name SET NOT NULL',
      'ALTER TABLE public.users DROP CONSTRAINT users_display_name_zdm_not_null',
      'ALTER TABLE public.users DROP COLUMN name',
    ]);
    expect(contract).toMatchObject({
      oldWrites: {
        table: { schema: 'public', name: 'users' },
        column: 'name',
        newColumn: 'display_name',
        sequence: { schema: 'zdm', name: 'public_users_display_name_zdm_sync_old_writes' },
      },
    });
    expect(r.models.expand.schemas.flatMap((x) => x.tables).flatMap((t) => t.columns.map((c) => c.name))).toEqual([
      'id',
      'name',
      'display_name',
    ]);
  });

  test("a table's own row triggers make the backfill a fires-user-triggers hazard naming them", () => {
    const live: DatabaseModel = {
      ...liveNotNull,
      dependents: {
        functions: [],
        triggers: [{ kind: 'trigger', schema: 'public', name: 'users_touch', table: 'users', dependsOn: [] }],
      },
    };
    const bf = flat(plan(live, renamed)).find((s) => s.kind === 'backfill')!;
    expect(bf.hazards).toEqual(['fires-user-triggers']);
    expect(bf.summary).toMatch(/fires trigger\(s\) users_touch/);
  });

  test('a column that becomes an identity column in the same type change is refused, naming the path', () => {
    const live = tables(table('t', [id(), col('n', 'integer', { nullable: false })]));
    const desired = tables(table('t', [id(), col('n', 'bigint', { nullable: false, identity: 'always' })]));
    try {
      plan(live, desired);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanningError);
      expect((e as PlanningError).issues[0]).toMatchObject({
        object: 'column public.t.n',
        path: 'schemas.public.tables.t.columns.n.type',
      });
    }
  });
});

describe('type change', () => {
  test('63-byte columns get shortened, distinct shadow, check and trigger names', () => {
    const a = 'c'.repeat(63);
    const b = `${'c'.repeat(62)}d`;
    const live = tables(table('t', [id(), col(a, 'integer', { nullable: false }), col(b, 'integer')]));
    const desired = tables(table('t', [id(), col(a, 'bigint', { nullable: false }), col(b, 'bigint')]));
    const sql = flat(plan(live, desired)).flatMap((s) => s.sql);
    const added = sql.flatMap((s) => [...s.matchAll(/ADD COLUMN (\S+) bigint/g)].map((m) => m[1]!));
    expect(added).toHaveLength(2);
    expect(new Set(added).size).toBe(2);
    const triggers = sql.flatMap((s) => [...s.matchAll(/CREATE TRIGGER (\S+) /g)].map((m) => m[1]!));
    expect(new Set(triggers).size).toBe(2);
    for (const n of [...added, ...triggers]) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
  });

  test('the contract swaps the names and the old column goes: the model after contract is the desired one', () => {
    const live = tables(table('t', [id(), col('n', 'integer')]));
    const desired = tables(table('t', [id(), col('n', 'bigint')]));
    const r = plan(live, desired);
    const contract = flat(r).filter((s) => s.phase === 'contract');
    expect(contract).toHaveLength(1);
    expect(contract[0]!.sql.slice(-2)).toEqual([
      'ALTER TABLE public.t DROP COLUMN n',
      'ALTER TABLE public.t RENAME COLUMN n_zdm_new TO n',
    ]);
  });
});

const issuesOf = (live: DatabaseModel, desired: DatabaseModel) => {
  try {
    plan(live, desired);
  } catch (e) {
    expect(e).toBeInstanceOf(PlanningError);
    return (e as PlanningError).issues;
  }
  return expect.unreachable('planned without an issue');
};

describe('reverse expression (new → old) of the sync trigger', () => {
  const live = tables(table('t', [id(), col('r', 'integer', { nullable: false })]));
  const toRange = (opts: Partial<Parameters<typeof col>[2]> = {}) =>
    tables(table('t', [id(), col('r', 'int4range', { nullable: false, using: "int4range(r, r, '[]')", ...opts })]));
  const syncFunction = (desired: DatabaseModel) =>
    flat(plan(live, desired))
      .flatMap((s) => s.sql)
      .find((x) => x.startsWith('CREATE FUNCTION public.'))!;

  test('no cast back from the new type and no `reverse`: refused, naming the column and what to give', () => {
    const issues = issuesOf(live, toRange());
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ object: 'column public.t.r', path: 'schemas.public.tables.t.columns.r.type' });
    expect(issues[0]!.message).toMatch(
      /there is no cast back from int4range to integer for the sync trigger's new → old direction .*give a `reverse` expression over `r` \(the int4range value\)/,
    );
  });

  test('`reverse` is the new → old direction, over the shadow column under the final name', () => {
    const desired = toRange({ reverse: 'lower(r)' });
    const fn = syncFunction(desired);
    // INSERT that wrote the new column, and UPDATE of the new column only: old := reverse(new).
    expect(
      fn.match(/NEW\.r := \(SELECT \(lower\(r\)\) FROM \(SELECT NEW\.r_zdm_new AS r\) AS zdm_row\);/g),
    ).toHaveLength(2);
    expect(fn).toContain("NEW.r_zdm_new := (SELECT (int4range(r, r, '[]')) FROM (SELECT NEW.r AS r) AS zdm_row);");
    expect(fn).not.toContain('::integer');
    const expand = flat(plan(live, desired)).find((s) => s.phase === 'expand')!;
    expect(expand.summary).toMatch(/\(old → new: int4range\(r, r, '\[\]'\); new → old: lower\(r\)\)$/);
  });

  test('with a cast back, `reverse` still replaces it; without `reverse` the cast is used', () => {
    const desired = (reverse?: string) =>
      tables(table('t', [id(), col('r', 'bigint', { nullable: false, ...(reverse ? { reverse } : {}) })]));
    expect(syncFunction(desired())).toContain('NEW.r := (NEW.r_zdm_new)::integer;');
    const fn = syncFunction(desired('least(r, 2147483647)::integer'));
    expect(fn).toContain(
      'NEW.r := (SELECT (least(r, 2147483647)::integer) FROM (SELECT NEW.r_zdm_new AS r) AS zdm_row);',
    );
    expect(fn).not.toContain('(NEW.r_zdm_new)::integer');
  });

  test('a rename with `reverse` but no `using` is refused; with both, both directions are the expressions', () => {
    const desiredRename = (opts: Partial<Parameters<typeof col>[2]>) =>
      tables(table('t', [id(), col('cents', 'integer', { nullable: false, renamedFrom: 'r', ...opts })]));
    const issues = issuesOf(live, desiredRename({ reverse: 'cents / 100' }));
    expect(issues[0]).toMatchObject({
      object: 'column public.t.cents',
      path: 'schemas.public.tables.t.columns.cents.renamedFrom',
    });
    expect(issues[0]!.message).toMatch(/`reverse` is given but `using` is not: .*remove `reverse`, or give `using`/);
    const fn = syncFunction(desiredRename({ using: 'r * 100', reverse: 'cents / 100' }));
    expect(fn).toContain('NEW.cents := (SELECT (r * 100) FROM (SELECT NEW.r AS r) AS zdm_row);');
    expect(fn).toContain('NEW.r := (SELECT (cents / 100) FROM (SELECT NEW.cents AS cents) AS zdm_row);');
  });

  test('`reverse` on a column that does not change is ignored, like `using`: the plan is empty', () => {
    const desired = tables(table('t', [id(), col('r', 'integer', { nullable: false, using: 'r', reverse: 'r' })]));
    expect(flat(plan(live, desired))).toEqual([]);
  });
});

describe('rename of a column with keys, indexes and constraints (carried over, not re-planned)', () => {
  const customers = (name: string, renamedFrom?: string) =>
    table('customers', [col(name, 'bigint', { nullable: false, ...(renamedFrom ? { renamedFrom } : {}) })], {
      primaryKey: pk([name], 'customers_pkey'),
    });
  const orders = (ref: string) =>
    table('orders', [id(), col('customer_id', 'bigint', { nullable: false })], {
      primaryKey: pk(['id'], 'orders_pkey'),
      foreignKeys: [fk('orders_customer_fk', ['customer_id'], 'customers', [ref])],
      indexes: [index('orders_customer_idx', ['customer_id'])],
    });

  test('a primary key column referenced by a foreign key: the key moves to the new column in contract, the foreign key is re-pointed NOT VALID and validated', () => {
    const r = plan(
      tables(customers('id'), orders('id')),
      tables(customers('customer_no', 'id'), orders('customer_no')),
    );
    expect(r.changes.map((c) => c.kind)).toEqual(['replaceColumn']);
    const steps = flat(r);
    expect(steps.map((x) => `${x.phase}: ${x.summary.split(' (')[0]}`)).toEqual([
      'expand: add column public.customers.customer_no',
      'backfill: backfill public.customers.customer_no = id where it is still NULL, in batches',
      // After the batches: they write no entries in it (BENCHMARKS.md, "The copy path").
      'backfill: build unique index customers_pkey_zdm_new on public.customers',
      'backfill: validate check customers_customer_no_zdm_not_null on public.customers',
      'contract: drop the sync trigger and column public.customers.id',
      'contract: validate foreign key orders_customer_fk on public.orders',
    ]);
    expect(steps[4]!.sql).toContain(
      'ALTER TABLE public.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES public.customers (customer_no) NOT VALID',
    );
    expect(steps[4]!.sql.indexOf('ALTER TABLE public.customers DROP COLUMN id')).toBeLessThan(
      steps[4]!.sql.indexOf(
        'ALTER TABLE public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY USING INDEX customers_pkey_zdm_new',
      ),
    );
  });

  test('an index renamed along with its column is not carried: the new one is built on the new column, the old one dropped before the old column', () => {
    const live = tables(table('t', [id(), col('a', 'text')], { indexes: [index('t_a_idx', ['a'])] }));
    const desired = tables(
      table('t', [id(), col('b', 'text', { renamedFrom: 'a' })], { indexes: [index('t_b_idx', ['b'])] }),
    );
    const steps = flat(plan(live, desired));
    expect(steps.map((x) => [x.phase, x.sql.filter((q) => /INDEX/.test(q))])).toEqual([
      ['expand', []],
      ['backfill', []],
      // On the column the backfill fills: built after it.
      ['backfill', ['CREATE INDEX CONCURRENTLY t_b_idx ON public.t (b)']],
      ['contract', ['DROP INDEX CONCURRENTLY public.t_a_idx']],
      ['contract', []],
    ]);
  });

  test('a type change with an index changed in the same plan is refused', () => {
    const live = tables(table('t', [id(), col('a', 'integer')], { indexes: [index('t_a_idx', ['a'])] }));
    const desired = tables(
      table('t', [id(), col('a', 'bigint')], { indexes: [index('t_a_idx', ['a'], { method: 'hash' })] }),
    );
    expect(issuesOf(live, desired).find((i) => i.object === 'column public.t.a')!.message).toMatch(
      /the indexes or constraints on the column change in the same plan: change the type first/,
    );
  });

  test('a type change with an index added on the column in the same plan builds it on the shadow column, not on the old one', () => {
    const live = tables(table('t', [id(), col('a', 'integer')]));
    const desired = tables(table('t', [id(), col('a', 'bigint')], { indexes: [index('t_a_idx', ['a'])] }));
    const steps = flat(plan(live, desired));
    const indexSql = steps.flatMap((x) => x.sql.filter((q) => /INDEX/.test(q)).map((q) => `${x.phase}: ${q}`));
    // Built on the old column it would go with it when the swap drops that column.
    expect(indexSql).toEqual([
      'backfill: CREATE INDEX CONCURRENTLY t_a_idx_zdm_new ON public.t (a_zdm_new)',
      'contract: ALTER INDEX public.t_a_idx_zdm_new RENAME TO t_a_idx',
    ]);
  });

  test('an expression that mentions the name inside a string literal is not renamed', () => {
    const live = tables(table('t', [id(), col('a', 'text')], { checks: [check('t_a_check', "(a <> 'a'::text)")] }));
    const desired = tables(
      table('t', [id(), col('b', 'text', { renamedFrom: 'a' })], { checks: [check('t_a_check', "(b <> 'a'::text)")] }),
    );
    const sql = flat(plan(live, desired)).flatMap((x) => x.sql);
    expect(sql).toContain("ALTER TABLE public.t ADD CONSTRAINT t_a_check_zdm_new CHECK (b <> 'a'::text) NOT VALID");
  });
});

describe('generated columns: refused with why and what to do, or in place when nothing is stored', () => {
  const gen = (type: string, stored: boolean, opts: Partial<Parameters<typeof col>[2]> = {}) =>
    col('g', type, { generated: { expression: '(a * 2)', stored }, ...opts });
  const live = (g = gen('integer', true)) => tables(table('t', [id(), col('a', 'integer'), g]));

  test('a stored generated column changing type: a trigger cannot write it, ALTER TYPE rewrites the table', () => {
    const [issue] = issuesOf(live(), live(gen('bigint', true)));
    expect(issue).toMatchObject({ object: 'column public.t.g', path: 'schemas.public.tables.t.columns.g.type' });
    expect(issue!.message).toMatch(
      /a stored generated column cannot be given another type through a sync trigger: PostgreSQL computes its value and a trigger cannot write it, and ALTER COLUMN … TYPE recomputes every row, rewriting the table under ACCESS EXCLUSIVE\. Instead add a stored generated column of the new type under a new name .*table-rewrite hazard/,
    );
  });

  test('a stored generated column renamed: refused, naming renamedFrom', () => {
    const [issue] = issuesOf(
      live(),
      tables(table('t', [id(), col('a', 'integer'), { ...gen('integer', true), name: 'h', renamedFrom: 'g' }])),
    );
    expect(issue).toMatchObject({ object: 'column public.t.h', path: 'schemas.public.tables.t.columns.h.renamedFrom' });
    expect(issue!.message).toMatch(
      /a stored generated column cannot be renamed through a sync trigger: .*RENAME COLUMN would break the running application version/,
    );
  });

  test('a generated column that becomes a plain column of another type: drop the expression first', () => {
    const [issue] = issuesOf(live(), live(col('g', 'bigint')));
    expect(issue!.message).toMatch(
      /first make it a plain column \(a plan of its own: ALTER COLUMN … DROP EXPRESSION, instant\)/,
    );
  });

  test('a virtual generated column changing type only: ALTER COLUMN … TYPE in place, no rewrite hazard', () => {
    const steps = flat(
      plan(live(gen('integer', false)), live(gen('bigint', false)), { serverVersion: 'PostgreSQL 18.1' }),
    );
    expect(steps.map((x) => [x.phase, x.sql, x.hazards, x.locks.map((l) => `${l.mode} ${l.hold}`)])).toEqual([
      ['expand', ['ALTER TABLE public.t ALTER COLUMN g TYPE bigint'], [], ['ACCESS EXCLUSIVE instant']],
    ]);
  });

  test('a virtual generated column changing type and expression at once: the expression first', () => {
    const [issue] = issuesOf(
      live(gen('integer', false)),
      live(col('g', 'bigint', { generated: { expression: '(a * 3)', stored: false } })),
    );
    expect(issue!.message).toMatch(/change the expression in a plan of its own first/);
  });
});

describe('partitioned tables: the recipe runs on the parent; what it cannot carry is refused', () => {
  const parts = {
    partitionBy: { strategy: 'range' as const, columns: ['at'] },
    partitions: [partition('ev_1', range("'2024-01-01'", "'2025-01-01'"))],
  };
  const ev = (n: string, extra: Partial<Parameters<typeof table>[2]> = {}, cols = [col('x', 'integer')]) =>
    table('ev', [id(), col('at', 'date', { nullable: false }), col('n', n, { nullable: false }), ...cols], {
      primaryKey: pk(['id', 'at'], 'ev_pkey'),
      ...parts,
      ...extra,
    });
  const messageOf = (extraLive: Partial<Parameters<typeof table>[2]>, extraDesired = extraLive) => {
    const issues = issuesOf(tables(ev('integer', extraLive)), tables(ev('bigint', extraDesired)));
    return issues.find((i) => i.object === 'column public.ev.n')!.message;
  };

  test('a plain column with an index and a check: index ON ONLY + per partition, check NOT VALID on the parent', () => {
    const extra = { indexes: [index('ev_n_idx', ['n'])], checks: [check('ev_n_check', '(n > 0)')] };
    const sql = flat(plan(tables(ev('integer', extra)), tables(ev('bigint', extra)))).flatMap((x) => x.sql);
    expect(sql).toContain('CREATE INDEX ev_n_idx_zdm_new ON ONLY public.ev (n_zdm_new)');
    expect(sql).toContain('ALTER INDEX public.ev_n_idx_zdm_new ATTACH PARTITION public.ev_1_n_zdm_new_idx');
    expect(sql.some((x) => x.startsWith('CREATE INDEX CONCURRENTLY ev_1_n_zdm_new_idx ON public.ev_1 '))).toBe(true);
    expect(sql).toContain('ALTER TABLE public.ev ADD CONSTRAINT ev_n_check_zdm_new CHECK (n_zdm_new > 0) NOT VALID');
    expect(sql.some((x) => /CREATE INDEX CONCURRENTLY \S+ ON public\.ev /.test(x))).toBe(false);
  });

  test('a key on the column is refused: no ADD CONSTRAINT … USING INDEX on a partitioned table', () => {
    expect(messageOf({ uniqueConstraints: [unique('ev_n_key', ['n', 'at'])] })).toMatch(
      /the table is partitioned and unique constraint ev_n_key uses the column: PostgreSQL cannot attach a key to a partitioned table from an index built beforehand \(ADD CONSTRAINT … USING INDEX\)/,
    );
  });

  test('a foreign key on the column is refused: no NOT VALID foreign key on a partitioned table before 18', () => {
    expect(messageOf({ foreignKeys: [fk('ev_n_fk', ['n'], 'other')] })).toMatch(
      /the table is partitioned and foreign key ev_n_fk uses the column: .*NOT VALID, which PostgreSQL refuses on a partitioned table before 18; .*drop the foreign key in a plan of its own first/,
    );
  });

  test('an index declared on one partition alone is refused (it would go with the old column)', () => {
    const withOwn = {
      partitions: [partition('ev_1', range("'2024-01-01'", "'2025-01-01'"), { indexes: [index('ev_1_n_idx', ['n'])] })],
    };
    expect(messageOf(withOwn)).toMatch(
      /the table is partitioned and index ev_1_n_idx of partition ev_1 \(declared on one partition, not on the table\) uses the column/,
    );
  });

  test('no key to walk the backfill by is refused', () => {
    const issues = issuesOf(
      tables(table('ev', [col('at', 'date', { nullable: false }), col('n', 'integer')], parts)),
      tables(table('ev', [col('at', 'date', { nullable: false }), col('n', 'bigint')], parts)),
    );
    expect(issues[0]!.message).toMatch(
      /the table is partitioned and has no primary key or unique key over NOT NULL columns/,
    );
  });
});

describe('table rename', () => {
  test('expand renames and leaves a view; contract drops the view', () => {
    const r = plan(tables(users), tables({ ...users, name: 'people', renamedFrom: 'users' }));
    expect(flat(r).map((s) => [s.phase, s.sql])).toEqual([
      [
        'expand',
        [
          'ALTER TABLE public.users RENAME TO people',
          'CREATE VIEW public.users AS SELECT * FROM public.people',
          "COMMENT ON VIEW public.users IS 'zdm: the old name of public.people until contract'",
        ],
      ],
      ['contract', ['DROP VIEW public.users']],
    ]);
  });
});
