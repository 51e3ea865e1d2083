/** The partition swap technique (src/plan/techniques/partition-swap/), without a database. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel, Routine, Table } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { boundProblems } from '../../../src/plan/techniques/partition-swap/decide.js';
import { col, fk, id, index, partition, pk, range, table, tables, unique } from './builders.js';
import { flat, plan } from './helpers.js';

const base = (name = 'events'): Table =>
  table(name, [id(), col('at', 'date', { nullable: false }), col('note', 'text')], {
    primaryKey: pk(['id'], `${name}_pkey`),
    indexes: [index(`${name}_note_idx`, ['note'])],
  });

const partitioned = (t: Table, parts = [partition(`${t.name}_2025`, range('2025-01-01', '2026-01-01'))]): Table => ({
  ...t,
  primaryKey: pk(['id', 'at'], `${t.name}_pkey`),
  partitionBy: { strategy: 'range', columns: ['at'] },
  partitions: [...parts, partition(`${t.name}_default`, { kind: 'default' })],
});

const swapStep = <T extends { readonly summary: string }>(steps: readonly T[]): T =>
  steps.find((s) => s.summary.startsWith('swap '))!;

function issues(live: DatabaseModel, desired: DatabaseModel, options = {}): string[] {
  try {
    plan(live, desired, options);
  } catch (e) {
    if (e instanceof PlanningError) return e.issues.map((i) => `${i.object}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('partition swap', () => {
  test('expand builds the shadow and the trigger, backfill copies and verifies, contract swaps and drops', () => {
    const r = plan(tables(base()), tables(partitioned(base())));
    const steps = flat(r);
    expect(steps.map((s) => `${s.phase} ${s.kind}`)).toEqual([
      'expand sql',
      'expand sql',
      'backfill copy',
      'backfill verify',
      'backfill sql',
      'backfill sql',
      'backfill sql',
      'backfill sql',
      'backfill sql',
      'contract verify',
      'contract sql',
      'contract sql',
    ]);
    expect(steps[0]!.sql[0]).toMatch(/^CREATE TABLE public\.events_zdm_shadow \(/);
    expect(steps[0]!.sql.join('\n')).toContain('CONSTRAINT events_pkey_zdm_new PRIMARY KEY (id, at)');
    // The non-unique index is built after the copy: built with the empty shadow, every copied row
    // would write an entry in it too (issue 17).
    expect(steps[0]!.sql.join('\n')).not.toContain('INDEX');
    expect(steps[1]!.sql.join('\n')).toContain('AFTER INSERT OR UPDATE OR DELETE ON public.events FOR EACH ROW');
    const copy = steps[2]!;
    expect(copy.kind === 'copy' && copy.key).toEqual(['id']);
    // The repair guard (issue 17): no FOR SHARE; the mirror's insert is an upsert on the key and the
    // partition key, and the copy ends by deleting what a racing delete left in the shadow.
    expect(copy.kind === 'copy' && [copy.guard, copy.match]).toEqual(['repair', ['id', 'at']]);
    // The batch skips the copies the trigger wrote with an anti-join on the same columns (issue 17:
    // no speculative insertion), redone ON CONFLICT DO NOTHING when it meets one it cannot see.
    // Without row locks the rows can be read on a second connection and streamed in by COPY (one WAL
    // record per page of rows); the anti-join's INSERT where apply has no second connection.
    expect(copy.kind === 'copy' && copy.insert).toBe('copy');
    const antiJoin =
      'FROM public.events AS zdm_f WHERE id > $1 AND id <= $2 AND NOT EXISTS (SELECT FROM public.events_zdm_shadow AS zdm_t WHERE zdm_t.id > $1 AND zdm_t.id <= $2 AND zdm_t.id = zdm_f.id AND zdm_t.at = zdm_f.at) ORDER BY id';
    expect(copy.sql.slice(0, 3)).toEqual([
      `COPY (SELECT id, at, note ${antiJoin}) TO STDOUT`,
      'COPY public.events_zdm_shadow (id, at, note) FROM STDIN',
      `INSERT INTO public.events_zdm_shadow (id, at, note) SELECT id, at, note ${antiJoin}`,
    ]);
    expect(copy.sql[3]).toMatch(/ORDER BY id ON CONFLICT DO NOTHING$/);
    expect(copy.sql[4]).toMatch(
      /^WITH zdm_gone AS MATERIALIZED \(SELECT zdm_t\.id, zdm_t\.at, zdm_t\.xmin AS zdm_xmin FROM public\.events_zdm_shadow AS zdm_t WHERE NOT EXISTS \(SELECT FROM public\.events AS zdm_f WHERE zdm_f\.id = zdm_t\.id AND zdm_f\.at = zdm_t\.at\)\)/,
    );
    expect(copy.locks.map((l) => `${l.relation} ${l.mode}`)).toEqual([
      'public.events ACCESS SHARE',
      'public.events_zdm_shadow ROW EXCLUSIVE',
    ]);
    expect(steps[1]!.sql[0]).toContain(
      'VALUES (NEW.id, NEW.at, NEW.note) ON CONFLICT (id, at) DO UPDATE SET note = EXCLUDED.note;',
    );
    // After the verification: ON ONLY the shadow, CONCURRENTLY on each partition (the sync trigger
    // writes them all along), ATTACH each.
    expect(
      steps.slice(4, 9).map((s) => [s.sql, s.transaction, s.locks.map((l) => `${l.mode} on ${l.relation}`)]),
    ).toEqual([
      [
        ['CREATE INDEX events_note_idx_zdm_new ON ONLY public.events_zdm_shadow (note)'],
        true,
        ['SHARE on public.events_zdm_shadow'],
      ],
      [
        ['CREATE INDEX CONCURRENTLY events_2025_note_idx ON public.events_2025 (note)'],
        false,
        ['SHARE UPDATE EXCLUSIVE on public.events_2025'],
      ],
      [
        ['ALTER INDEX public.events_note_idx_zdm_new ATTACH PARTITION public.events_2025_note_idx'],
        true,
        [
          'SHARE UPDATE EXCLUSIVE on public.events_note_idx_zdm_new',
          'SHARE on public.events_2025',
          'ACCESS EXCLUSIVE on public.events_2025_note_idx',
        ],
      ],
      [
        ['CREATE INDEX CONCURRENTLY events_default_note_idx ON public.events_default (note)'],
        false,
        ['SHARE UPDATE EXCLUSIVE on public.events_default'],
      ],
      [
        ['ALTER INDEX public.events_note_idx_zdm_new ATTACH PARTITION public.events_default_note_idx'],
        true,
        [
          'SHARE UPDATE EXCLUSIVE on public.events_note_idx_zdm_new',
          'SHARE on public.events_default',
          'ACCESS EXCLUSIVE on public.events_default_note_idx',
        ],
      ],
    ]);
    const swap = swapStep(steps);
    expect(swap.kind === 'sql' && swap.transaction).toBe(true);
    expect(swap.sql[0]).toBe('LOCK TABLE public.events, public.events_zdm_shadow IN ACCESS EXCLUSIVE MODE');
    expect(swap.sql).toContain('ALTER TABLE public.events RENAME TO events_zdm_retired');
    expect(swap.sql).toContain('ALTER TABLE public.events_zdm_shadow RENAME TO events');
    expect(swap.sql).toContain('ALTER INDEX public.events_note_idx_zdm_new RENAME TO events_note_idx');
    expect(swap.hazards).toEqual([]);
    expect(steps[11]!.sql).toEqual(['DROP TABLE public.events_zdm_retired']);
    expect(steps[11]!.hazards).toEqual(['data-loss']);
    // The intermediate models hold the shadow; the last one is the desired state.
    const shadowIn = (m: DatabaseModel) => m.schemas[0]!.tables.some((t) => t.name === 'events_zdm_shadow');
    expect(shadowIn(r.models.expand)).toBe(true);
    expect(shadowIn(r.models.backfill)).toBe(true);
    expect(shadowIn(r.models.contract)).toBe(false);
  });

  test('the copy keeps FOR SHARE where a row a racing delete left in the shadow could fail another unique rule', () => {
    const guardOf = (t: Table) => {
      const copy = flat(plan(tables(base()), tables(t))).find((s) => s.kind === 'copy')!;
      const mirror = flat(plan(tables(base()), tables(t))).at(1)?.sql[0] ?? '';
      return [
        copy.kind === 'copy' ? (copy.guard ?? 'for-share') : '',
        copy.sql[0]!.includes('FOR SHARE'),
        /ON CONFLICT/.test(mirror),
      ];
    };
    const p = partitioned(base());
    expect(guardOf(p)).toEqual(['repair', false, true]);
    // Another unique constraint (over the partition key, so that it can exist): the application could
    // insert a row with the values of a left-behind copy.
    expect(guardOf({ ...p, uniqueConstraints: [unique('events_note_key', ['note', 'at'])] })).toEqual([
      'for-share',
      true,
      false,
    ]);
    expect(guardOf({ ...p, indexes: [index('events_note_uidx', ['note', 'at'], { unique: true })] })).toEqual([
      'for-share',
      true,
      false,
    ]);
    // The same columns as the key: the same rule, the upsert's arbiter too.
    expect(guardOf({ ...p, uniqueConstraints: [unique('events_id_at_key', ['at', 'id'])] })).toEqual([
      'repair',
      false,
      true,
    ]);
    // A deferrable key cannot be an upsert's arbiter.
    expect(guardOf({ ...p, primaryKey: { ...p.primaryKey!, deferrable: true } })).toEqual(['for-share', true, false]);
  });

  test('generated names stay within 63 bytes and hostile names are quoted', () => {
    const long = `${'x'.repeat(55)}"; drop`;
    const live = { ...base(long), primaryKey: pk(['id'], 'k'), indexes: [index('note_idx', ['note'])] };
    const desired = {
      ...partitioned(live, [partition('p2025', range('2025-01-01', '2026-01-01'))]),
      primaryKey: pk(['id', 'at'], 'k'),
    };
    const r = plan(
      tables(live),
      tables({ ...desired, partitions: desired.partitions.map((p, i) => ({ ...p, name: `p${i}` })) }),
    );
    for (const s of flat(r)) {
      for (const sql of s.sql) {
        for (const m of sql.matchAll(/"((?:[^"]|"")*)"/g)) {
          expect(Buffer.byteLength(m[1]!.replace(/""/g, '"'))).toBeLessThanOrEqual(63);
        }
      }
    }
    expect(flat(r)[1]!.sql.find((q) => q.startsWith('CREATE TRIGGER'))).toContain('""; drop" FOR EACH ROW');
  });

  test('a foreign key of another table that references a key the partitioned table cannot have is refused', () => {
    const events = { ...base(), uniqueConstraints: [unique('events_id_key', ['id'])] };
    const notes = table('notes', [id(), col('event_id', 'bigint')], {
      primaryKey: pk(['id'], 'notes_pkey'),
      foreignKeys: [fk('notes_event_fk', ['event_id'], 'events', ['id'])],
    });
    const desired = { ...partitioned(events), uniqueConstraints: [unique('events_id_key', ['id', 'at'])] };
    const found = issues(tables(events, notes), tables(desired, notes));
    expect(found.join('\n')).toMatch(
      /foreign key notes_event_fk on public\.notes: references public\.events \(id\), which cannot stay unique .* reference columns \[id, at\]/,
    );
  });

  test('overlapping bounds are refused; a gap without a default partition is a warning and an app-compat hazard', () => {
    const overlap = partitioned(base(), [
      partition('events_a', range('2025-01-01', '2025-07-01')),
      partition('events_b', range('2025-06-01', '2026-01-01')),
    ]);
    expect(issues(tables(base()), tables(overlap)).join('\n')).toMatch(/partition bounds overlap: partition events_b/);
    const gap = {
      ...partitioned(base(), [
        partition('events_a', range('2025-01-01', '2025-04-01')),
        partition('events_b', range('2025-05-01', '2026-01-01')),
      ]),
    };
    const noDefault = { ...gap, partitions: gap.partitions.filter((p) => p.bound.kind !== 'default') };
    const r = plan(tables(base()), tables(noDefault));
    expect(r.warnings.join('\n')).toMatch(/between 2025-04-01 \(end of events_a\) and 2025-05-01/);
    expect(flat(r)[1]!.hazards).toEqual(['app-compat']);
  });

  test('rows that would fall into no partition are counted in the refusal', () => {
    const desired = partitioned(base());
    const noDefault = { ...desired, partitions: desired.partitions.filter((p) => p.bound.kind !== 'default') };
    expect(
      issues(tables(base()), tables(noDefault), { rowsOutsidePartitions: { 'public.events': 42 } }).join('\n'),
    ).toMatch(/42 live rows would fall into no partition/);
  });

  test('a view over the table is recreated in the swap, a materialized view built again after it; a table without a key is refused', () => {
    const definition = 'SELECT events.id\n   FROM public.events';
    const columns = [{ name: 'id', type: 'bigint' }];
    const withView = (m: DatabaseModel, kind: 'view' | 'materializedView'): DatabaseModel => ({
      ...m,
      schemas: m.schemas.map((s) =>
        s.name !== 'public'
          ? s
          : kind === 'view'
            ? {
                ...s,
                views: [
                  {
                    kind,
                    schema: 'public',
                    name: 'v',
                    definition,
                    columns,
                    securityBarrier: false,
                    securityInvoker: false,
                  },
                ],
              }
            : {
                ...s,
                materializedViews: [
                  { kind, schema: 'public', name: 'v', definition, columns, withData: true, indexes: [] },
                ],
              },
      ),
      dependencies: [{ from: `${kind} public.v`, to: 'table public.events', column: 'id' }],
    });
    const swap = swapStep(flat(plan(withView(tables(base()), 'view'), withView(tables(partitioned(base())), 'view'))));
    expect(swap.summary).toMatch(/view public\.v recreated over it/);
    expect(swap.sql.join('\n')).toContain(`pg_catalog.pg_get_viewdef(c.oid)`);
    expect(swap.sql.join('\n')).toContain('CREATE OR REPLACE VIEW');
    const mv = flat(
      plan(withView(tables(base()), 'materializedView'), withView(tables(partitioned(base())), 'materializedView')),
    ).map((s) => s.summary);
    const swapAt = mv.findIndex((x) => x.startsWith('swap public.events for its partitioned copy'));
    expect(mv.slice(swapAt + 1)).toEqual([
      expect.stringMatching(/^build materialized view public\.v again over the new public\.events, beside the old one/),
      expect.stringMatching(/^swap the new materialized view public\.v in by rename, the old one becomes v_zdm_old$/),
      'drop the old materialized view public.v, now v_zdm_old',
      expect.stringMatching(/^drop public\.events_zdm_retired/),
    ]);
    // One the plan creates too would be built over the live table first: refused.
    expect(issues(tables(base()), withView(tables(partitioned(base())), 'materializedView')).join('\n')).toMatch(
      /materialized view public\.v: reads public\.events, which is being partitioned, and is new in this plan too/,
    );
    const { primaryKey: _pk, ...rest } = base();
    expect(issues(tables(rest as Table), tables(partitioned(base()))).join('\n')).toMatch(
      /no primary key or unique key over NOT NULL columns/,
    );
  });

  test('the swap grants the desired privileges where the desired state manages them, else the live ones', () => {
    const reader = { grantee: 'reader', privilege: 'SELECT' };
    const writer = { grantee: 'writer', privilege: 'UPDATE' };
    const live: Table = {
      ...base(),
      grants: [reader],
      columns: base().columns.map((c) => (c.name === 'note' ? { ...c, grants: [writer] } : c)),
    };
    const swapSql = (desired: Table) =>
      flat(plan(tables(live), tables(desired))).find((x) => x.summary.startsWith('swap public.events'))!.sql;
    const grantsOf = (sql: readonly string[]) => sql.filter((q) => q.startsWith('GRANT'));
    // Unmanaged (no grants key): the live table's and columns' privileges, after the renames.
    const { grants: _g, ...unmanaged } = partitioned(base());
    const carried = swapSql(unmanaged);
    expect(grantsOf(carried)).toEqual([
      'GRANT SELECT ON TABLE public.events TO reader',
      'GRANT UPDATE (note) ON TABLE public.events TO writer',
    ]);
    expect(carried.indexOf('GRANT SELECT ON TABLE public.events TO reader')).toBeGreaterThan(
      carried.indexOf('ALTER TABLE public.events_zdm_shadow RENAME TO events'),
    );
    // Managed: the desired ones (the grants technique changes the live table's in their own steps).
    expect(grantsOf(swapSql({ ...partitioned(base()), grants: [{ grantee: 'public', privilege: 'SELECT' }] }))).toEqual(
      ['GRANT SELECT ON TABLE public.events TO PUBLIC'],
    );
  });

  test('the swap enables row level security and creates the policies on the new table; the shadow has none before', () => {
    const policy = { name: 'own', command: 'select' as const, roles: ['reader'], using: '(note = CURRENT_USER)' };
    const withRls = (t: Table): Table => ({ ...t, rowLevelSecurity: true, policies: [policy] });
    const r = plan(tables(withRls(base())), tables(withRls(partitioned(base()))));
    const steps = flat(r);
    expect(steps[0]!.sql.join('\n')).not.toMatch(/POLICY|ROW LEVEL SECURITY/);
    const shadow = r.models.expand.schemas.flatMap((x) => x.tables).find((t) => t.name === 'events_zdm_shadow');
    expect(shadow).toBeDefined();
    expect(shadow?.policies).toBeUndefined();
    expect(shadow?.rowLevelSecurity).toBeUndefined();
    const swap = swapStep(steps);
    expect(swap.summary).toMatch(/; policy own created on it$/);
    const rls = swap.sql.indexOf('ALTER TABLE public.events ENABLE ROW LEVEL SECURITY');
    expect(rls).toBeGreaterThan(swap.sql.indexOf('ALTER TABLE public.events_zdm_shadow RENAME TO events'));
    expect(swap.sql[rls + 1]).toMatch(/^CREATE POLICY own ON public\.events FOR SELECT TO reader USING/);
  });

  test('a function with a SQL-standard body that reads the table is replaced in the swap; one over its row type is refused', () => {
    const fn = (name: string, returns: string): Routine => ({
      kind: 'function',
      schema: 'public',
      name,
      arguments: [],
      returns,
      language: 'sql',
      body: 'BEGIN ATOMIC SELECT count(*) FROM public.events; END',
      sqlBody: true,
    });
    const withFunctions = (t: Table, ...fs: Routine[]): DatabaseModel => {
      const m = tables(t);
      return {
        ...m,
        schemas: m.schemas.map((x) => ({ ...x, functions: fs })),
        dependencies: fs.map((f) => ({ from: `function public.${f.name}()`, to: 'table public.events' })),
      };
    };
    const count = fn('event_count', 'bigint');
    const r = plan(withFunctions(base(), count), withFunctions(partitioned(base()), count));
    const swap = flat(r).find((x) => x.summary.startsWith('swap public.events'))!;
    expect(swap.summary).toMatch(/; function public\.event_count replaced to read it$/);
    const replaced = swap.sql.findIndex((q) => q.startsWith('CREATE OR REPLACE FUNCTION public.event_count()'));
    expect(replaced).toBeGreaterThan(swap.sql.indexOf('ALTER TABLE public.events_zdm_shadow RENAME TO events'));
    const rows = fn('all_events', 'SETOF public.events');
    expect(issues(withFunctions(base(), rows), withFunctions(partitioned(base()), rows)).join('\n')).toMatch(
      /function public\.all_events\(\) \(zdm does not re-create it around this change yet\) depends on the table/,
    );
  });

  test.each([
    [['2025-01-01', '2025-04-01'], ['2025-04-01', '2025-07-01'], 0, 2],
    [['2025-01-01', '2025-05-01'], ['2025-04-01', '2025-07-01'], 1, 2],
    [['minvalue', '2025-04-01'], ['2025-04-01', 'maxvalue'], 0, 0],
    [['1', '10'], ['20', '30'], 0, 3],
  ])('bounds %j and %j: %d overlaps, %d gaps', (a, b, overlaps, gaps) => {
    const p = boundProblems([partition('a', range(a[0]!, a[1]!)), partition('b', range(b[0]!, b[1]!))], 1);
    expect(p.overlaps.length).toBe(overlaps);
    expect(p.gaps.length).toBe(gaps);
  });
});

describe('unpartition (the partition swap in reverse)', () => {
  const plain = (t: Table): Table => {
    const { partitionBy: _key, ...rest } = t;
    return { ...rest, primaryKey: pk(['id', 'at'], `${t.name}_pkey`), partitions: [] };
  };

  test('plain shadow, mirror on the partitioned parent, copy, verify, swap with every partition locked, drop', () => {
    const live = partitioned(base());
    const r = plan(tables(live), tables(plain(base())));
    const steps = flat(r);
    expect(steps.map((s) => `${s.phase} ${s.kind}`)).toEqual([
      'expand sql',
      'expand sql',
      'backfill copy',
      'backfill verify',
      'backfill sql',
      'contract verify',
      'contract sql',
      'contract sql',
    ]);
    expect(steps[0]!.sql[0]).toMatch(/^CREATE TABLE public\.events_zdm_shadow \(/);
    expect(steps[0]!.sql.join('\n')).not.toContain('PARTITION');
    expect(steps[0]!.sql.join('\n')).not.toContain('INDEX');
    expect([steps[4]!.sql, steps[4]!.transaction, steps[4]!.kind === 'sql' && steps[4]!.concurrentIndex]).toEqual([
      ['CREATE INDEX CONCURRENTLY events_note_idx_zdm_new ON public.events_zdm_shadow (note)'],
      false,
      { schema: 'public', name: 'events_note_idx_zdm_new' },
    ]);
    expect(steps[1]!.sql.join('\n')).toContain('AFTER INSERT OR UPDATE OR DELETE ON public.events FOR EACH ROW');
    const relations = (i: number) => steps[i]!.locks.map((l) => `${l.mode} on ${l.relation}`);
    expect(relations(1)).toEqual([
      'SHARE ROW EXCLUSIVE on public.events',
      'SHARE ROW EXCLUSIVE on public.events_2025',
      'SHARE ROW EXCLUSIVE on public.events_default',
    ]);
    const copy = steps[2]!;
    expect(copy.kind === 'copy' && copy.key).toEqual(['id', 'at']);
    expect(relations(6)).toEqual([
      'ACCESS EXCLUSIVE on public.events',
      'ACCESS EXCLUSIVE on public.events_2025',
      'ACCESS EXCLUSIVE on public.events_default',
      'ACCESS EXCLUSIVE on public.events_zdm_shadow',
    ]);
    expect(steps[6]!.summary).toMatch(/^swap public\.events for its plain copy/);
    expect(steps[7]!.sql).toEqual(['DROP TABLE public.events_zdm_retired']);
    expect(steps[7]!.hazards).toEqual(['data-loss']);
    expect(relations(7)).toContain('ACCESS EXCLUSIVE on public.events_2025');
  });

  test('refuses a desired table that takes a partition name, and a column change in the same plan', () => {
    const live = partitioned(base());
    const want = plain(base());
    const other = table('events_2025', [id()]);
    expect(issues(tables(live), tables(want, other)).join('\n')).toMatch(
      /table public\.events: the desired state has a relation named public\.events_2025, a partition of the live public\.events/,
    );
    const changed = {
      ...want,
      columns: want.columns.map((c) => (c.name === 'note' ? { ...c, type: 'varchar(10)' } : c)),
    };
    expect(issues(tables(live), tables(changed))).toEqual([
      'table public.events: column note changes too: change it in a plan of its own before turning the partitioned table into a plain table',
    ]);
  });
});
