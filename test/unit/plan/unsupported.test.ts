/** What zdm cannot plan yet: a PlanningError naming each object (and its desired-state path). */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import {
  check,
  col,
  db,
  enumType,
  id,
  index,
  partition,
  pk,
  range,
  schema,
  table,
  tables,
  users,
  withTable,
} from './builders.js';
import { plan } from './helpers.js';

const events = table('events', [id(), col('at', 'date', { nullable: false })]);
const partitioned = {
  ...events,
  partitionBy: { strategy: 'range' as const, columns: ['at'] },
  partitions: [partition('events_2025', range('2025-01-01', '2026-01-01'))],
};

function planningError(live: DatabaseModel, desired: DatabaseModel): PlanningError {
  try {
    plan(live, desired);
  } catch (e) {
    if (e instanceof PlanningError) return e;
    throw e;
  }
  throw new Error('planned without error');
}

describe('unsupported changes', () => {
  test.each<[string, DatabaseModel, DatabaseModel, string, RegExp, string | undefined]>([
    [
      'a volatile default on a partitioned table with no key to batch the backfill by',
      tables(partitioned),
      withTable(tables(partitioned), 'events', (t) => ({
        ...t,
        columns: [...t.columns, col('token', 'uuid', { default: 'gen_random_uuid()' })],
      })),
      'table public.events',
      /partitioned table can only be walked in batches by a primary key or a unique key over NOT NULL columns/,
      undefined,
    ],
    [
      'type change with no cast and no `using`',
      tables(users),
      withTable(tables(users), 'users', (t) => ({
        ...t,
        columns: [col('id', 'date', { nullable: false }), t.columns[1]!],
      })),
      'column public.users.id',
      /changing the type bigint → date: there is no cast from bigint to date: give a `using` expression/,
      'schemas.public.tables.users.columns.id.type',
    ],
    [
      'plain → partitioned with a key that lacks the partition column (partition swap)',
      tables({ ...events, primaryKey: pk(['id'], 'events_pkey') }),
      tables({ ...partitioned, primaryKey: pk(['id'], 'events_pkey') }),
      'table public.events',
      /must contain the partition key of a partitioned table: add at to its columns/,
      'schemas.public.tables.events.primaryKey',
    ],
    [
      'partitioned → plain without a row key (unpartition)',
      tables(partitioned),
      tables(events),
      'table public.events',
      /the live table has no primary key or unique key over NOT NULL columns: zdm needs one to keep the plain copy in step/,
      'schemas.public.tables.events',
    ],
    [
      'enum value removed',
      db([schema('public', { enums: [enumType('st', ['a', 'b'])] })]),
      db([schema('public', { enums: [enumType('st', ['a'])] })]),
      'enum public.st',
      /removing enum values \(b\) is not supported yet/,
      'schemas.public.enums.st',
    ],
    [
      'enum values reordered',
      db([schema('public', { enums: [enumType('st', ['a', 'b'])] })]),
      db([schema('public', { enums: [enumType('st', ['b', 'a'])] })]),
      'enum public.st',
      /reordering enum values/,
      undefined,
    ],
    [
      'NOT NULL column without default on a table that may have rows',
      tables(users),
      withTable(tables(users), 'users', (t) => ({
        ...t,
        columns: [...t.columns, col('code', 'text', { nullable: false })],
      })),
      'column public.users.code',
      /a NOT NULL column without a default cannot be added to a table that may have rows: give it a default/,
      'schemas.public.tables.users.columns.code',
    ],
    [
      'a validated check cannot become NOT VALID',
      tables({ ...users, checks: [check('c', 'id > 0')] }),
      tables({ ...users, checks: [check('c', 'id > 0', { valid: false })] }),
      'check c on public.users',
      /cannot make it NOT VALID again/,
      undefined,
    ],
    [
      'a name that is not a plain identifier is bracketed in the path',
      tables(table('order items', [col('q', 'integer')])),
      tables(table('order items', [col('q', 'date')])),
      'column public.order items.q',
      /there is no cast from integer to date/,
      'schemas.public.tables["order items"].columns.q.type',
    ],
    [
      'the index behind the replica identity rebuilt in the same plan',
      tables({
        ...users,
        indexes: [index('users_name_key', ['name'], { unique: true })],
        replicaIdentity: { kind: 'index', index: 'users_name_key' },
      }),
      tables({
        ...users,
        indexes: [index('users_name_key', ['name'], { unique: true, where: 'id > 0' })],
        replicaIdentity: { kind: 'index', index: 'users_name_key' },
      }),
      'table public.users',
      /index users_name_key is the replica identity and is rebuilt in this plan: set the replica identity to another index \(or FULL\) in a plan of its own first/,
      'schemas.public.tables.users.replicaIdentity',
    ],
    [
      'a partition swap to partitions with row level security',
      tables({ ...events, primaryKey: pk(['id', 'at'], 'events_pkey'), replicaIdentity: { kind: 'full' } }),
      tables({
        ...partitioned,
        primaryKey: pk(['id', 'at'], 'events_pkey'),
        replicaIdentity: { kind: 'full' },
        partitions: partitioned.partitions.map((p) => ({ ...p, rowLevelSecurity: true as const })),
      }),
      'table public.events',
      /row level security on partitions is not carried by the partition swap yet/,
      'schemas.public.tables.events.partitions',
    ],
    [
      'a partition swap of a table with FORCE ROW LEVEL SECURITY kept',
      tables({ ...events, primaryKey: pk(['id', 'at'], 'events_pkey'), forceRowLevelSecurity: true }),
      tables({ ...partitioned, primaryKey: pk(['id', 'at'], 'events_pkey'), forceRowLevelSecurity: true }),
      'table public.events',
      /FORCE ROW LEVEL SECURITY subjects the table's owner to its policies, and the role making this plan is neither a superuser nor BYPASSRLS/,
      'schemas.public.tables.events.forceRowLevelSecurity',
    ],
    [
      'a live table given a parent (INHERITS)',
      tables(events, table('archive', [col('note', 'text')])),
      tables(events, table('archive', [col('note', 'text')], { inherits: ['public.events'] })),
      'table public.archive',
      /changing the parents of a live table \(INHERITS none → public\.events\) is not supported yet/,
      'schemas.public.tables.archive.inherits',
    ],
    [
      'a partition swap of a table whose constraints get comments',
      tables({ ...events, primaryKey: pk(['id', 'at'], 'events_pkey') }),
      tables({ ...partitioned, primaryKey: { ...pk(['id', 'at'], 'events_pkey'), comment: 'key' } }),
      'table public.events',
      /comments on constraints are not supported by the partition swap yet/,
      'schemas.public.tables.events',
    ],
  ])('%s', (_name, live, desired, object, message, path) => {
    const e = planningError(live, desired);
    expect(e.name).toBe('PlanningError');
    const issue = e.issues.find((i) => i.object === object);
    expect(issue, JSON.stringify(e.issues)).toBeDefined();
    expect(issue!.message).toMatch(message);
    if (path !== undefined) expect(issue!.path).toBe(path);
    expect(e.message).toContain(object);
  });

  // A function with a SQL-standard body (BEGIN ATOMIC) that reads the table or one of its columns:
  // PostgreSQL records the dependency, and zdm does not manage functions yet.
  const withDependent = (m: DatabaseModel, column?: string): DatabaseModel => ({
    ...m,
    dependencies: [{ from: 'function public.f(integer)', to: 'table public.users', ...(column ? { column } : {}) }],
  });

  test.each<[string, DatabaseModel, DatabaseModel, string, RegExp]>([
    [
      'a column a function zdm does not manage uses cannot be dropped',
      withDependent(tables(users), 'name'),
      withTable(tables(users), 'users', (t) => ({ ...t, columns: [id()] })),
      'column public.users.name',
      /function public\.f\(integer\) \(not managed by zdm\) depends on the column: PostgreSQL refuses to drop it/,
    ],
    [
      'a table a function zdm does not manage uses cannot be dropped',
      withDependent(tables(users, events)),
      tables(events),
      'table public.users',
      /function public\.f\(integer\) \(not managed by zdm\) depends on the table/,
    ],
    [
      'the type of a column a function zdm does not manage uses cannot change',
      withDependent(tables(table('users', [id(), col('name', 'character varying(10)')])), 'name'),
      tables(table('users', [id(), col('name', 'text')])),
      'column public.users.name',
      /refuses to change its type/,
    ],
    [
      'a primary key that a kept foreign key references cannot be swapped',
      tables(
        {
          ...users,
          primaryKey: {
            kind: 'primaryKey',
            name: 'users_pkey',
            columns: ['id'],
            include: [],
            deferrable: false,
            initiallyDeferred: false,
          },
        },
        {
          ...events,
          foreignKeys: [
            {
              kind: 'foreignKey',
              name: 'ev_user',
              columns: ['id'],
              references: { schema: 'public', table: 'users', columns: ['id'] },
              onUpdate: 'no action',
              onDelete: 'no action',
              match: 'simple',
              deferrable: false,
              initiallyDeferred: false,
              valid: true,
            },
          ],
        },
      ),
      tables(
        {
          ...users,
          columns: [id(), col('name', 'text', { nullable: false })],
          primaryKey: {
            kind: 'primaryKey',
            name: 'users_pkey',
            columns: ['id', 'name'],
            include: [],
            deferrable: false,
            initiallyDeferred: false,
          },
        },
        {
          ...events,
          foreignKeys: [
            {
              kind: 'foreignKey',
              name: 'ev_user',
              columns: ['id'],
              references: { schema: 'public', table: 'users', columns: ['id'] },
              onUpdate: 'no action',
              onDelete: 'no action',
              match: 'simple',
              deferrable: false,
              initiallyDeferred: false,
              valid: true,
            },
          ],
        },
      ),
      'primary key users_pkey on public.users',
      /replacing it is not supported yet while foreign key ev_user on public\.events references it/,
    ],
  ])('%s', (_name, live, desired, object, message) => {
    const e = planningError(live, desired);
    expect(e.issues.find((i) => i.object === object)?.message, JSON.stringify(e.issues)).toMatch(message);
  });

  test('every unsupported change is listed at once', () => {
    const e = planningError(
      tables(users, events),
      tables({ ...users, columns: [col('id', 'date', { nullable: false }), col('name', 'text')] }, partitioned),
    );
    expect(e.issues.map((i) => i.object)).toEqual(['table public.events', 'column public.users.id']);
    expect(e.message).toMatch(
      /^cannot plan this change:\n {2}- table public\.events: .*\n {2}- column public\.users\.id: /,
    );
  });

  test('a rename does not turn into a drop of the old column and an add of a new one', () => {
    const r = plan(
      tables(users),
      withTable(tables(users), 'users', (t) => ({
        ...t,
        columns: [id(), col('full_name', 'text', { renamedFrom: 'name' })],
      })),
    );
    expect(r.changes.map((c) => c.kind)).toEqual(['replaceColumn']);
  });
});

describe('type changes PostgreSQL refuses or re-parses unpredictably', () => {
  test.each<[string, DatabaseModel, DatabaseModel, RegExp]>([
    [
      'text → varchar with a check on the column',
      tables(table('t', [col('s', 'text')], { checks: [check('ck', "(s <> ''::text)")] })),
      tables(table('t', [col('s', 'character varying')], { checks: [check('ck', "(s <> ''::text)")] })),
      /re-parse the expressions that use the column/,
    ],
    [
      'a partition key column',
      tables({ ...table('t', [col('s', 'character varying(10)')]), partitionBy: { strategy: 'list', columns: ['s'] } }),
      tables({ ...table('t', [col('s', 'character varying(20)')]), partitionBy: { strategy: 'list', columns: ['s'] } }),
      /in the partition key/,
    ],
    [
      'a column a generated column uses',
      tables(
        table('t', [
          col('s', 'character varying(10)'),
          col('g', 'text', { generated: { expression: 'upper((s)::text)', stored: true } }),
        ]),
      ),
      tables(
        table('t', [
          col('s', 'character varying(20)'),
          col('g', 'text', { generated: { expression: 'upper((s)::text)', stored: true } }),
        ]),
      ),
      /a generated column uses the column/,
    ],
  ])('%s', (_name, live, desired, message) => {
    expect(planningError(live, desired).issues[0]?.message).toMatch(message);
  });
});
