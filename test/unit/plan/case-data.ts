/**
 * Add / drop / alter of every object kind, as data: live model, desired model, and the steps the
 * plan must have (phase, summary, and where it matters the SQL, hazards and locks). Used by
 * cases.test.ts (and usable by integration tests that run the same cases against a server).
 */
import type { DatabaseModel, Table } from '../../../src/model/types.js';
import type { PlanOptions } from '../../../src/plan/planner.js';
import type { Hazard, LockInfo, PhaseName } from '../../../src/plan/types.js';
import {
  check,
  col,
  customers,
  db,
  domain,
  enumType,
  exclusion,
  fk,
  id,
  index,
  orders,
  partition,
  pk,
  range,
  schema,
  sequence,
  table,
  tables,
  unique,
  users,
  withTable,
} from './builders.js';

export interface ExpectedStep {
  readonly phase: PhaseName;
  readonly summary: RegExp;
  readonly sql?: readonly (string | RegExp)[];
  readonly hazards?: readonly Hazard[];
  readonly locks?: readonly LockInfo[];
  readonly transaction?: boolean;
}

export interface Case {
  readonly name: string;
  readonly live: DatabaseModel;
  readonly desired: DatabaseModel;
  readonly options?: Partial<PlanOptions>;
  readonly expect: { readonly steps: readonly ExpectedStep[]; readonly warnings?: readonly RegExp[] };
}

const AEL = (relation: string, hold: 'instant' | 'scan' = 'instant'): LockInfo => ({
  relation,
  mode: 'ACCESS EXCLUSIVE',
  hold,
});
const SUE = (relation: string, hold: 'instant' | 'scan' = 'scan'): LockInfo => ({
  relation,
  mode: 'SHARE UPDATE EXCLUSIVE',
  hold,
});

const base = tables(users);
const withUsers = (fn: (t: Table) => Table) => withTable(base, 'users', fn);
const addCols = (...cs: Parameters<typeof col>[]) =>
  withUsers((t) => ({ ...t, columns: [...t.columns, ...cs.map((c) => col(...c))] }));
const usersCol = (name: string, fn: (c: ReturnType<typeof col>) => ReturnType<typeof col>) =>
  withUsers((t) => ({ ...t, columns: t.columns.map((c) => (c.name === name ? fn(c) : c)) }));
const usersWithEmail = addCols(['email', 'text']);
const emailCol = (fn: (c: ReturnType<typeof col>) => ReturnType<typeof col>) =>
  withTable(usersWithEmail, 'users', (t) => ({
    ...t,
    columns: t.columns.map((c) => (c.name === 'email' ? fn(c) : c)),
  }));
const withEmail = (fn: (t: Table) => Table) => withTable(usersWithEmail, 'users', fn);
const usersWith = (params: Readonly<Record<string, string>>) => withUsers((t) => ({ ...t, with: params }));

const events = table(
  'events',
  [id(), col('created_at', 'timestamp with time zone', { nullable: false }), col('during', 'tstzrange')],
  {
    partitionBy: { strategy: 'range', columns: ['created_at'] },
    partitions: [
      partition('events_2025', range('2025-01-01', '2026-01-01')),
      partition('events_2026', range('2026-01-01', '2027-01-01')),
    ],
  },
);
const withEvents = (fn: (t: Table) => Table) => withTable(tables(users, events), 'events', fn);
const eventsLive = tables(users, events);

export const CASES: readonly Case[] = [
  // ---------------------------------------------------------------- extensions and schemas
  {
    name: 'create extension',
    live: base,
    desired: db(base.schemas, [{ kind: 'extension', name: 'pgcrypto' }]),
    expect: {
      steps: [
        { phase: 'expand', summary: /create extension pgcrypto/, sql: ['CREATE EXTENSION pgcrypto'], hazards: [] },
      ],
    },
  },
  {
    name: 'drop extension',
    live: db(base.schemas, [{ kind: 'extension', name: 'pgcrypto' }]),
    desired: base,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop extension pgcrypto/,
          sql: ['DROP EXTENSION pgcrypto'],
          hazards: ['data-loss'],
        },
      ],
    },
  },
  {
    name: 'move extension to another schema',
    live: db([...base.schemas, schema('ext')], [{ kind: 'extension', name: 'citext' }]),
    desired: db([...base.schemas, schema('ext')], [{ kind: 'extension', name: 'citext', schema: 'ext' }]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /move extension citext/,
          sql: ['ALTER EXTENSION citext SET SCHEMA ext'],
          hazards: ['app-compat'],
        },
      ],
    },
  },
  {
    name: 'create schema with a comment',
    live: base,
    desired: db([...base.schemas, schema('billing', { comment: "Money's home" })]),
    expect: {
      steps: [
        { phase: 'expand', summary: /create schema billing/, sql: ['CREATE SCHEMA billing'] },
        {
          phase: 'expand',
          summary: /set comment on schema billing/,
          sql: ["COMMENT ON SCHEMA billing IS 'Money''s home'"],
        },
      ],
    },
  },
  {
    name: 'drop an empty schema',
    live: db([...base.schemas, schema('old')]),
    desired: base,
    expect: { steps: [{ phase: 'contract', summary: /drop schema old/, sql: ['DROP SCHEMA old'], hazards: [] }] },
  },
  {
    name: 'drop a schema with a table: the table first, then the schema',
    live: db([...base.schemas, schema('old', { tables: [{ ...table('t', [id()]), schema: 'old' }] })]),
    desired: base,
    expect: {
      steps: [
        { phase: 'contract', summary: /drop table old\.t/, hazards: ['data-loss'] },
        { phase: 'contract', summary: /drop schema old/ },
      ],
    },
  },
  // ---------------------------------------------------------------- enums
  {
    name: 'create enum',
    live: base,
    desired: db([schema('public', { tables: [users], enums: [enumType('status', ['new', 'done'])] })]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create enum public\.status/,
          sql: ["CREATE TYPE public.status AS ENUM ('new', 'done')"],
        },
      ],
    },
  },
  {
    name: 'drop enum',
    live: db([schema('public', { tables: [users], enums: [enumType('status', ['new'])] })]),
    desired: base,
    expect: { steps: [{ phase: 'contract', summary: /drop enum public\.status/, sql: ['DROP TYPE public.status'] }] },
  },
  {
    name: 'enum value appended',
    live: db([schema('public', { enums: [enumType('status', ['new', 'done'])] })]),
    desired: db([schema('public', { enums: [enumType('status', ['new', 'done', 'archived'])] })]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add value 'archived'/,
          sql: ["ALTER TYPE public.status ADD VALUE IF NOT EXISTS 'archived'"],
          transaction: true,
          locks: [],
        },
      ],
    },
  },
  {
    name: 'enum values inserted in the middle and at the start, each in its own step',
    live: db([schema('public', { enums: [enumType('status', ['new', 'done'])] })]),
    desired: db([schema('public', { enums: [enumType('status', ['draft', 'new', 'active', 'done'])] })]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add value 'draft'.*before 'new'/,
          sql: ["ALTER TYPE public.status ADD VALUE IF NOT EXISTS 'draft' BEFORE 'new'"],
        },
        {
          phase: 'expand',
          summary: /add value 'active'.*after 'new'/,
          sql: ["ALTER TYPE public.status ADD VALUE IF NOT EXISTS 'active' AFTER 'new'"],
        },
      ],
    },
  },
  {
    name: 'enum comment',
    live: db([schema('public', { enums: [enumType('status', ['new'])] })]),
    desired: db([schema('public', { enums: [enumType('status', ['new'], { comment: 'order state' })] })]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /comment on type public\.status/,
          sql: ["COMMENT ON TYPE public.status IS 'order state'"],
        },
      ],
    },
  },
  // ---------------------------------------------------------------- domains
  {
    name: 'create domain',
    live: base,
    desired: db([
      schema('public', {
        tables: [users],
        domains: [domain('email', 'text', { checks: [{ name: 'email_at', expression: "VALUE ~ '@'" }] })],
      }),
    ]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create domain public\.email/,
          sql: ["CREATE DOMAIN public.email AS text CONSTRAINT email_at CHECK (VALUE ~ '@')"],
        },
      ],
    },
  },
  {
    name: 'drop domain',
    live: db([schema('public', { domains: [domain('email', 'text')] })]),
    desired: db([schema('public')]),
    expect: { steps: [{ phase: 'contract', summary: /drop domain public\.email/, sql: ['DROP DOMAIN public.email'] }] },
  },
  {
    name: 'domain check added: NOT VALID, then VALIDATE, which blocks writes on the tables using it',
    live: db([
      schema('public', {
        domains: [domain('email', 'text')],
        tables: [table('people', [id(), col('mail', 'public.email')])],
      }),
    ]),
    desired: db([
      schema('public', {
        domains: [domain('email', 'text', { checks: [{ name: 'email_at', expression: "VALUE ~ '@'" }] })],
        tables: [table('people', [id(), col('mail', 'public.email')])],
      }),
    ]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add check email_at of domain/,
          sql: ["ALTER DOMAIN public.email ADD CONSTRAINT email_at CHECK (VALUE ~ '@') NOT VALID"],
          hazards: [],
        },
        {
          phase: 'backfill',
          summary: /validate check email_at of domain public\.email \(checks every row of public\.people/,
          sql: ['ALTER DOMAIN public.email VALIDATE CONSTRAINT email_at'],
          hazards: ['blocks-writes'],
          locks: [{ relation: 'public.people', mode: 'SHARE', hold: 'scan' }],
        },
      ],
    },
  },
  {
    name: 'domain default set and NOT NULL dropped',
    live: db([schema('public', { domains: [domain('qty', 'integer', { nullable: false })] })]),
    desired: db([schema('public', { domains: [domain('qty', 'integer', { default: '1' })] })]),
    expect: {
      steps: [
        { phase: 'expand', summary: /set default of domain/, sql: ['ALTER DOMAIN public.qty SET DEFAULT 1'] },
        { phase: 'expand', summary: /drop NOT NULL of domain/, sql: ['ALTER DOMAIN public.qty DROP NOT NULL'] },
      ],
    },
  },
  // ---------------------------------------------------------------- sequences
  {
    name: 'create sequence owned by a new column: sequence first, OWNED BY after the column exists; nextval() is volatile: backfill',
    live: base,
    desired: db([
      schema('public', {
        sequences: [sequence('users_no_seq', { ownedBy: { schema: 'public', table: 'users', column: 'no' } })],
        tables: [
          {
            ...users,
            columns: [...users.columns, col('no', 'bigint', { default: "nextval('public.users_no_seq'::regclass)" })],
          },
        ],
      }),
    ]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create sequence public\.users_no_seq/,
          sql: [
            'CREATE SEQUENCE public.users_no_seq AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1 NO CYCLE',
          ],
        },
        { phase: 'expand', summary: /add column public\.users\.no nullable, then SET DEFAULT nextval/ },
        {
          phase: 'expand',
          summary: /owned by public\.users\.no/,
          sql: ['ALTER SEQUENCE public.users_no_seq OWNED BY public.users.no'],
        },
        { phase: 'backfill', summary: /backfill public\.users\.no = nextval/ },
      ],
    },
  },
  {
    name: 'alter sequence increment and cache',
    live: db([schema('public', { sequences: [sequence('s')] })]),
    desired: db([schema('public', { sequences: [sequence('s', { increment: '10', cache: '20' })] })]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /alter sequence public\.s/,
          sql: ['ALTER SEQUENCE public.s INCREMENT BY 10 CACHE 20'],
        },
      ],
    },
  },
  {
    name: 'drop sequence: its current value is lost',
    live: db([schema('public', { sequences: [sequence('s')] })]),
    desired: db([schema('public')]),
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop sequence public\.s/,
          sql: ['DROP SEQUENCE public.s'],
          hazards: ['data-loss'],
        },
      ],
    },
  },
  {
    name: 'a sequence owned by a dropped column goes with the column',
    live: db([
      schema('public', {
        sequences: [sequence('users_no_seq', { ownedBy: { schema: 'public', table: 'users', column: 'no' } })],
        tables: [
          {
            ...users,
            columns: [...users.columns, col('no', 'bigint', { default: "nextval('public.users_no_seq'::regclass)" })],
          },
        ],
      }),
    ]),
    desired: base,
    expect: { steps: [{ phase: 'contract', summary: /drop column public\.users\.no/, hazards: ['data-loss'] }] },
  },
  // ---------------------------------------------------------------- tables
  {
    name: 'create table with keys, checks, an index and comments: one step, comments after',
    live: base,
    desired: tables(
      users,
      table('teams', [id(), col('slug', 'text', { nullable: false, comment: 'url name' }), col('size', 'integer')], {
        primaryKey: pk(['id'], 'teams_pkey'),
        uniqueConstraints: [unique('teams_slug_key', ['slug'])],
        checks: [check('teams_size_check', 'size > 0')],
        indexes: [index('teams_size_idx', ['size'])],
        comment: 'Teams',
      }),
    ),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create table public\.teams \(3 columns, 1 index\)/,
          sql: [
            'CREATE TABLE public.teams (\n  id bigint NOT NULL,\n  slug text NOT NULL,\n  size integer,\n  CONSTRAINT teams_pkey PRIMARY KEY (id),\n  CONSTRAINT teams_slug_key UNIQUE (slug),\n  CONSTRAINT teams_size_check CHECK (size > 0)\n)',
            'CREATE INDEX teams_size_idx ON public.teams (size)',
          ],
          locks: [AEL('public.teams')],
          hazards: [],
        },
        {
          phase: 'expand',
          summary: /set 2 comments on table public\.teams/,
          sql: ["COMMENT ON TABLE public.teams IS 'Teams'", "COMMENT ON COLUMN public.teams.slug IS 'url name'"],
        },
      ],
    },
  },
  {
    name: 'create table with a foreign key: FK NOT VALID after the table, VALIDATE in backfill',
    live: tables(customers),
    desired: tables(customers, {
      ...orders,
      foreignKeys: [fk('orders_customer_fk', ['customer_id'], 'customers')],
      indexes: [index('orders_customer_idx', ['customer_id'])],
    }),
    expect: {
      steps: [
        { phase: 'expand', summary: /create table public\.orders/ },
        {
          phase: 'expand',
          summary: /add foreign key orders_customer_fk .* NOT VALID/,
          locks: [
            { relation: 'public.orders', mode: 'SHARE ROW EXCLUSIVE', hold: 'instant' },
            { relation: 'public.customers', mode: 'SHARE ROW EXCLUSIVE', hold: 'instant' },
          ],
        },
        { phase: 'backfill', summary: /validate foreign key orders_customer_fk/ },
      ],
    },
  },
  {
    name: 'drop table',
    live: tables(users, customers),
    desired: base,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop table public\.customers and its data/,
          sql: ['DROP TABLE public.customers'],
          hazards: ['data-loss'],
          locks: [AEL('public.customers')],
        },
      ],
    },
  },
  {
    name: 'table made UNLOGGED: no online technique',
    live: base,
    desired: withUsers((t) => ({ ...t, unlogged: true })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /make public\.users UNLOGGED \(no online technique: rewrites/,
          hazards: ['blocks-reads', 'table-rewrite'],
          locks: [AEL('public.users', 'scan')],
        },
      ],
    },
  },
  {
    name: 'create a partitioned table with its partitions in one step',
    live: base,
    desired: tables(users, events),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create table public\.events \(3 columns, 2 partitions\)/,
          sql: [
            /^CREATE TABLE public\.events \(\n.*\n\) PARTITION BY RANGE \(created_at\)$/s,
            "CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
            "CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
          ],
        },
      ],
    },
  },
  // ---------------------------------------------------------------- columns
  {
    name: 'add nullable column',
    live: base,
    desired: addCols(['nickname', 'character varying(50)']),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add column public\.users\.nickname/,
          sql: ['ALTER TABLE public.users ADD COLUMN nickname varchar(50)'],
          locks: [AEL('public.users')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'add column with a volatile default: nullable + SET DEFAULT, batched backfill',
    live: base,
    desired: addCols(['token', 'uuid', { default: 'gen_random_uuid()' }]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add column public\.users\.token nullable, then SET DEFAULT/,
          sql: [
            'ALTER TABLE public.users ADD COLUMN token uuid',
            'ALTER TABLE public.users ALTER COLUMN token SET DEFAULT gen_random_uuid()',
          ],
        },
        {
          phase: 'backfill',
          summary: /backfill public\.users\.token = gen_random_uuid\(\)/,
          sql: [
            'UPDATE public.users SET token = gen_random_uuid() WHERE token IS NULL AND (id) > ($1) AND (id) <= ($2)',
          ],
          transaction: false,
          locks: [{ relation: 'public.users', mode: 'ROW EXCLUSIVE', hold: 'instant' }],
        },
      ],
    },
  },
  {
    name: 'add NOT NULL column with a volatile default: backfill, then the NOT NULL recipe (check after the data)',
    live: base,
    desired: addCols(['token', 'uuid', { nullable: false, default: 'gen_random_uuid()' }]),
    expect: {
      steps: [
        { phase: 'expand', summary: /add column public\.users\.token nullable/ },
        { phase: 'backfill', summary: /backfill public\.users\.token/ },
        {
          phase: 'backfill',
          summary: /add check users_token_not_null/,
          sql: ['ALTER TABLE public.users ADD CONSTRAINT users_token_not_null CHECK (token IS NOT NULL) NOT VALID'],
        },
        { phase: 'backfill', summary: /validate check users_token_not_null/ },
        { phase: 'contract', summary: /set public\.users\.token NOT NULL/ },
      ],
    },
  },
  {
    name: 'add NOT NULL column without default, with a `using` expression to fill existing rows',
    live: base,
    desired: addCols(['display', 'text', { nullable: false, using: 'name' }]),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add column public\.users\.display nullable \(filled by backfill\)/,
          sql: ['ALTER TABLE public.users ADD COLUMN display text'],
        },
        { phase: 'backfill', summary: /backfill public\.users\.display = name/ },
        { phase: 'backfill', summary: /add check users_display_not_null/ },
        { phase: 'backfill', summary: /validate check users_display_not_null/ },
        { phase: 'contract', summary: /set public\.users\.display NOT NULL/ },
      ],
    },
  },
  {
    name: 'add NOT NULL column without default to a table the caller knows is empty',
    live: base,
    desired: addCols(['code', 'text', { nullable: false }]),
    options: { rowCounts: { 'public.users': 0 } },
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add column public\.users\.code/,
          sql: ['ALTER TABLE public.users ADD COLUMN code text NOT NULL'],
        },
      ],
    },
  },
  {
    name: 'add identity column to an existing table: rewrite',
    live: tables(table('logs', [col('msg', 'text')])),
    desired: tables(table('logs', [col('msg', 'text'), col('id', 'bigint', { nullable: false, identity: 'always' })])),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add column public\.logs\.id \(rewrites the table under ACCESS EXCLUSIVE/,
          sql: ['ALTER TABLE public.logs ADD COLUMN id bigint NOT NULL GENERATED ALWAYS AS IDENTITY'],
          hazards: ['blocks-reads', 'table-rewrite'],
        },
      ],
    },
  },
  {
    name: 'drop column',
    live: usersWithEmail,
    desired: base,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop column public\.users\.email/,
          sql: ['ALTER TABLE public.users DROP COLUMN email'],
          hazards: ['data-loss'],
          locks: [AEL('public.users')],
        },
      ],
    },
  },
  {
    name: 'varchar(20) → varchar(50) in place',
    live: addCols(['code', 'character varying(20)']),
    desired: addCols(['code', 'character varying(50)']),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /binary-coercible: no rewrite/,
          sql: ['ALTER TABLE public.users ALTER COLUMN code TYPE varchar(50)'],
          hazards: [],
          locks: [AEL('public.users')],
        },
      ],
    },
  },
  {
    name: 'varchar(20) → text in place',
    live: addCols(['code', 'character varying(20)']),
    desired: addCols(['code', 'text']),
    expect: {
      steps: [
        { phase: 'expand', summary: /type .* → text/, sql: ['ALTER TABLE public.users ALTER COLUMN code TYPE text'] },
      ],
    },
  },
  {
    name: 'numeric(10,2) → numeric(12,2) in place',
    live: addCols(['amount', 'numeric(10,2)']),
    desired: addCols(['amount', 'numeric(12,2)']),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /numeric\(10,2\) → numeric\(12,2\)/,
          sql: ['ALTER TABLE public.users ALTER COLUMN amount TYPE numeric(12,2)'],
        },
      ],
    },
  },
  {
    name: 'timestamp(3) → timestamp(6) in place',
    live: addCols(['at', 'timestamp(3) without time zone']),
    desired: addCols(['at', 'timestamp(6) without time zone']),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /binary-coercible/,
          sql: ['ALTER TABLE public.users ALTER COLUMN at TYPE timestamp(6)'],
        },
      ],
    },
  },
  {
    name: 'set a default on an existing column',
    live: usersWithEmail,
    desired: emailCol((c) => ({ ...c, default: "''::text" })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /set default of public\.users\.email/,
          sql: ["ALTER TABLE public.users ALTER COLUMN email SET DEFAULT ''::text"],
        },
      ],
    },
  },
  {
    name: 'drop a default: in contract, once the old application version is gone',
    live: emailCol((c) => ({ ...c, default: "''::text" })),
    desired: usersWithEmail,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop default of public\.users\.email/,
          sql: ['ALTER TABLE public.users ALTER COLUMN email DROP DEFAULT'],
        },
      ],
    },
  },
  {
    name: 'drop NOT NULL: in expand',
    live: emailCol((c) => ({ ...c, nullable: false })),
    desired: usersWithEmail,
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /drop NOT NULL of public\.users\.email/,
          sql: ['ALTER TABLE public.users ALTER COLUMN email DROP NOT NULL'],
        },
      ],
    },
  },
  {
    name: 'existing NOT NULL column made an identity: sequence moved past the largest value',
    live: base,
    desired: usersCol('id', (c) => ({ ...c, identity: 'by default' })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /make public\.users\.id an identity column/,
          sql: [
            'ALTER TABLE public.users ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY',
            "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.users', 'id'), pg_catalog.max(id)) FROM public.users HAVING pg_catalog.max(id) IS NOT NULL",
          ],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'column comment',
    live: usersWithEmail,
    desired: emailCol((c) => ({ ...c, comment: 'C:\\mail' })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /set comment on column public\.users\.email/,
          sql: ["COMMENT ON COLUMN public.users.email IS E'C:\\\\mail'"],
          locks: [SUE('public.users', 'instant')],
        },
      ],
    },
  },
  // ---------------------------------------------------------------- primary keys and unique constraints
  {
    name: 'add unique constraint: unique index CONCURRENTLY, then USING INDEX in expand',
    live: usersWithEmail,
    desired: withEmail((t) => ({ ...t, uniqueConstraints: [unique('users_email_key', ['email'])] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build unique index users_email_key/,
          sql: ['CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON public.users (email)'],
          transaction: false,
          locks: [SUE('public.users')],
        },
        {
          phase: 'expand',
          summary: /add unique constraint users_email_key .* using index users_email_key/,
          sql: ['ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key'],
          locks: [AEL('public.users')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'add unique constraint over the INVALID leftover of a failed build: built under its name again (apply drops the leftover)',
    live: withEmail((t) => ({ ...t, indexes: [index('users_email_key', ['email'], { unique: true, valid: false })] })),
    desired: withEmail((t) => ({ ...t, uniqueConstraints: [unique('users_email_key', ['email'])] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build unique index users_email_key/,
          sql: ['CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON public.users (email)'],
        },
        { phase: 'expand', summary: /add unique constraint users_email_key/ },
      ],
    },
  },
  {
    name: 'add primary key on NOT NULL columns: all in expand',
    live: tables(table('tags', [col('name', 'text', { nullable: false })])),
    desired: tables(
      table('tags', [col('name', 'text', { nullable: false })], { primaryKey: pk(['name'], 'tags_pkey') }),
    ),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build unique index tags_pkey/,
          sql: ['CREATE UNIQUE INDEX CONCURRENTLY tags_pkey ON public.tags (name)'],
        },
        {
          phase: 'expand',
          summary: /add primary key tags_pkey/,
          sql: ['ALTER TABLE public.tags ADD CONSTRAINT tags_pkey PRIMARY KEY USING INDEX tags_pkey'],
        },
      ],
    },
  },
  {
    name: 'add primary key on a nullable column: NOT NULL recipe first, USING INDEX in contract after SET NOT NULL',
    live: tables(table('tags', [col('name', 'text')])),
    desired: tables(
      table('tags', [col('name', 'text', { nullable: false })], { primaryKey: pk(['name'], 'tags_pkey') }),
    ),
    expect: {
      steps: [
        { phase: 'expand', summary: /build unique index tags_pkey/ },
        { phase: 'expand', summary: /add check tags_name_not_null/ },
        { phase: 'backfill', summary: /validate check tags_name_not_null/ },
        { phase: 'contract', summary: /set public\.tags\.name NOT NULL/ },
        { phase: 'contract', summary: /add primary key tags_pkey .* using index tags_pkey/ },
      ],
    },
  },
  {
    name: 'unique constraint changed: new index under a fresh name, swapped in contract',
    live: withEmail((t) => ({ ...t, uniqueConstraints: [unique('users_email_key', ['email'])] })),
    desired: withEmail((t) => ({ ...t, uniqueConstraints: [unique('users_email_key', ['email', 'name'])] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build unique index users_email_key_new/,
          sql: ['CREATE UNIQUE INDEX CONCURRENTLY users_email_key_new ON public.users (email, name)'],
        },
        {
          phase: 'contract',
          summary: /swap unique constraint users_email_key for unique constraint users_email_key/,
          sql: [
            'ALTER TABLE public.users DROP CONSTRAINT users_email_key',
            'ALTER TABLE public.users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key_new',
          ],
          hazards: ['unique-scope-change'],
        },
      ],
    },
  },
  {
    name: 'drop unique constraint',
    live: withEmail((t) => ({ ...t, uniqueConstraints: [unique('users_email_key', ['email'])] })),
    desired: usersWithEmail,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop unique constraint users_email_key/,
          sql: ['ALTER TABLE public.users DROP CONSTRAINT users_email_key'],
          hazards: ['unique-scope-change'],
        },
      ],
    },
  },
  {
    name: 'drop primary key',
    live: base,
    desired: withUsers((t) => {
      const { primaryKey: _pk, ...rest } = t;
      return rest;
    }),
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop primary key users_pkey/,
          sql: ['ALTER TABLE public.users DROP CONSTRAINT users_pkey'],
          hazards: ['unique-scope-change'],
        },
      ],
    },
  },
  // ---------------------------------------------------------------- checks
  {
    name: 'check changed under the same name: dropped and re-added NOT VALID in one expand transaction',
    live: withTable(tables(orders), 'orders', (t) => ({ ...t, checks: [check('amount_positive', 'amount > 0')] })),
    desired: withTable(tables(orders), 'orders', (t) => ({ ...t, checks: [check('amount_positive', 'amount >= 0')] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /replace check amount_positive/,
          sql: [
            'ALTER TABLE public.orders DROP CONSTRAINT amount_positive',
            'ALTER TABLE public.orders ADD CONSTRAINT amount_positive CHECK (amount >= 0) NOT VALID',
          ],
          hazards: ['not-validated'],
        },
        { phase: 'backfill', summary: /validate check amount_positive/ },
      ],
    },
  },
  {
    name: 'drop check',
    live: withTable(tables(orders), 'orders', (t) => ({ ...t, checks: [check('amount_positive', 'amount > 0')] })),
    desired: tables(orders),
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop check amount_positive/,
          sql: ['ALTER TABLE public.orders DROP CONSTRAINT amount_positive'],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'a live NOT VALID check is validated',
    live: withTable(tables(orders), 'orders', (t) => ({
      ...t,
      checks: [check('amount_positive', 'amount > 0', { valid: false })],
    })),
    desired: withTable(tables(orders), 'orders', (t) => ({ ...t, checks: [check('amount_positive', 'amount > 0')] })),
    expect: {
      steps: [{ phase: 'backfill', summary: /validate check amount_positive/, locks: [SUE('public.orders')] }],
    },
  },
  // ---------------------------------------------------------------- foreign keys
  {
    name: 'drop foreign key: first in contract, ACCESS EXCLUSIVE on both tables',
    live: tables(customers, { ...orders, foreignKeys: [fk('fk_c', ['customer_id'], 'customers')] }),
    desired: tables(customers, orders),
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop foreign key fk_c/,
          sql: ['ALTER TABLE public.orders DROP CONSTRAINT fk_c'],
          locks: [AEL('public.orders'), AEL('public.customers')],
        },
      ],
    },
  },
  {
    name: 'foreign key changed (ON DELETE): replaced NOT VALID under its name',
    live: tables(customers, {
      ...orders,
      foreignKeys: [fk('fk_c', ['customer_id'], 'customers')],
      indexes: [index('o_c', ['customer_id'])],
    }),
    desired: tables(customers, {
      ...orders,
      foreignKeys: [fk('fk_c', ['customer_id'], 'customers', ['id'], { onDelete: 'cascade' })],
      indexes: [index('o_c', ['customer_id'])],
    }),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /replace foreign key fk_c/,
          sql: [
            'ALTER TABLE public.orders DROP CONSTRAINT fk_c',
            'ALTER TABLE public.orders ADD CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES public.customers (id) ON DELETE CASCADE NOT VALID',
          ],
          hazards: ['not-validated'],
        },
        { phase: 'backfill', summary: /validate foreign key fk_c/ },
      ],
    },
  },
  {
    name: 'a live NOT VALID foreign key is validated',
    live: tables(customers, {
      ...orders,
      foreignKeys: [fk('fk_c', ['customer_id'], 'customers', ['id'], { valid: false })],
      indexes: [index('o_c', ['customer_id'])],
    }),
    desired: tables(customers, {
      ...orders,
      foreignKeys: [fk('fk_c', ['customer_id'], 'customers')],
      indexes: [index('o_c', ['customer_id'])],
    }),
    expect: {
      steps: [
        {
          phase: 'backfill',
          summary: /validate foreign key fk_c/,
          locks: [SUE('public.orders'), { relation: 'public.customers', mode: 'ROW SHARE', hold: 'scan' }],
        },
      ],
    },
  },
  {
    name: 'foreign key on a partitioned table, PostgreSQL 16: no NOT VALID there, validated at once (blocks writes)',
    live: eventsLive,
    desired: withEvents((t) => ({ ...t, columns: t.columns, foreignKeys: [fk('events_user_fk', ['id'], 'users')] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add foreign key events_user_fk .*validated at once: PostgreSQL < 18/,
          sql: [
            'ALTER TABLE public.events ADD CONSTRAINT events_user_fk FOREIGN KEY (id) REFERENCES public.users (id)',
          ],
          hazards: ['blocks-writes'],
        },
      ],
      warnings: [/events_user_fk on public\.events has no index/],
    },
  },
  {
    name: 'foreign key on a partitioned table, PostgreSQL 18: NOT VALID + VALIDATE',
    live: eventsLive,
    desired: withEvents((t) => ({ ...t, foreignKeys: [fk('events_user_fk', ['id'], 'users')] })),
    options: { serverVersion: 'PostgreSQL 18.1' },
    expect: {
      steps: [
        { phase: 'expand', summary: /add foreign key events_user_fk .* NOT VALID/, hazards: [] },
        { phase: 'backfill', summary: /validate foreign key events_user_fk/ },
      ],
      warnings: [/has no index/],
    },
  },
  // ---------------------------------------------------------------- exclusion constraints
  {
    name: 'add exclusion constraint to an existing table: ACCESS EXCLUSIVE for the build',
    live: tables(table('rooms', [id(), col('during', 'tstzrange')])),
    desired: tables(
      table('rooms', [id(), col('during', 'tstzrange')], { exclusionConstraints: [exclusion('rooms_no_overlap')] }),
    ),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add exclusion constraint rooms_no_overlap on public\.rooms \(no online technique/,
          sql: ['ALTER TABLE public.rooms ADD CONSTRAINT rooms_no_overlap EXCLUDE USING gist (during WITH &&)'],
          hazards: ['blocks-reads'],
          locks: [AEL('public.rooms', 'scan')],
        },
      ],
    },
  },
  {
    name: 'add exclusion constraint to an empty table: instant',
    live: tables(table('rooms', [id(), col('during', 'tstzrange')])),
    desired: tables(
      table('rooms', [id(), col('during', 'tstzrange')], { exclusionConstraints: [exclusion('rooms_no_overlap')] }),
    ),
    options: { rowCounts: { 'public.rooms': 0 } },
    expect: {
      steps: [
        { phase: 'expand', summary: /^add exclusion constraint rooms_no_overlap on public\.rooms$/, hazards: [] },
      ],
    },
  },
  {
    name: 'drop exclusion constraint',
    live: tables(
      table('rooms', [id(), col('during', 'tstzrange')], { exclusionConstraints: [exclusion('rooms_no_overlap')] }),
    ),
    desired: tables(table('rooms', [id(), col('during', 'tstzrange')])),
    expect: { steps: [{ phase: 'contract', summary: /drop exclusion constraint rooms_no_overlap/ }] },
  },
  // ---------------------------------------------------------------- indexes
  {
    name: 'drop index: DROP INDEX CONCURRENTLY in contract',
    live: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'])] })),
    desired: base,
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /drop index public\.users_name_idx/,
          sql: ['DROP INDEX CONCURRENTLY public.users_name_idx'],
          transaction: false,
          locks: [SUE('public.users', 'instant')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'index changed: built under a fresh name, old one dropped and the new one renamed in contract',
    live: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'], { comment: 'lookup' })] })),
    desired: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name desc'], { comment: 'lookup' })] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build index users_name_idx_new .* to replace users_name_idx/,
          sql: ['CREATE INDEX CONCURRENTLY users_name_idx_new ON public.users (name DESC)'],
        },
        {
          phase: 'contract',
          summary: /drop index public\.users_name_idx/,
          sql: ['DROP INDEX CONCURRENTLY public.users_name_idx'],
        },
        {
          phase: 'contract',
          summary: /rename index users_name_idx_new to users_name_idx/,
          sql: [
            'ALTER INDEX public.users_name_idx_new RENAME TO users_name_idx',
            "COMMENT ON INDEX public.users_name_idx IS 'lookup'",
          ],
        },
      ],
    },
  },
  {
    name: 'an INVALID live index with the desired definition is rebuilt with REINDEX CONCURRENTLY',
    live: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'], { valid: false })] })),
    desired: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'])] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /rebuild invalid index public\.users_name_idx/,
          sql: ['REINDEX INDEX CONCURRENTLY public.users_name_idx'],
          transaction: false,
          locks: [SUE('public.users')],
        },
      ],
    },
  },
  {
    name: 'index with method, expression, opclass, collation, NULLS FIRST, INCLUDE, WITH and WHERE',
    live: base,
    desired: withUsers((t) => ({
      ...t,
      indexes: [
        index('users_name_trgm', [{ column: 'name', opclass: 'public.gin_trgm_ops', descending: false }], {
          method: 'gin',
        }),
        index(
          'users_lower_name',
          [{ expression: 'lower(name)', collation: 'C', descending: true, nullsFirst: false }, 'id'],
          { include: ['name'], with: { fillfactor: '70' }, where: 'id > 0', unique: true },
        ),
      ],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create index users_lower_name/,
          sql: [
            'CREATE UNIQUE INDEX CONCURRENTLY users_lower_name ON public.users ((lower(name)) COLLATE "C" DESC NULLS LAST, id) INCLUDE (name) WITH (fillfactor = 70) WHERE id > 0',
          ],
        },
        {
          phase: 'expand',
          summary: /create index users_name_trgm/,
          sql: ['CREATE INDEX CONCURRENTLY users_name_trgm ON public.users USING gin (name public.gin_trgm_ops)'],
        },
      ],
    },
  },
  {
    name: 'index on a partitioned table: ON ONLY parent, CONCURRENTLY per partition, ATTACH',
    live: eventsLive,
    desired: withEvents((t) => ({ ...t, indexes: [index('events_created_idx', ['created_at'])] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create index events_created_idx on public\.events alone/,
          sql: ['CREATE INDEX events_created_idx ON ONLY public.events (created_at)'],
          locks: [{ relation: 'public.events', mode: 'SHARE', hold: 'instant' }],
        },
        {
          phase: 'expand',
          summary: /create index events_2025_events_created_idx_idx on partition public\.events_2025/,
          sql: ['CREATE INDEX CONCURRENTLY events_2025_events_created_idx_idx ON public.events_2025 (created_at)'],
          transaction: false,
          locks: [SUE('public.events_2025')],
        },
        {
          phase: 'expand',
          summary: /attach index/,
          sql: ['ALTER INDEX public.events_created_idx ATTACH PARTITION public.events_2025_events_created_idx_idx'],
        },
        { phase: 'expand', summary: /create index .* on partition public\.events_2026/ },
        { phase: 'expand', summary: /attach index/ },
      ],
    },
  },
  {
    name: 'index comment',
    live: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'])] })),
    desired: withUsers((t) => ({ ...t, indexes: [index('users_name_idx', ['name'], { comment: 'for search' })] })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /set comment on index public\.users_name_idx/,
          sql: ["COMMENT ON INDEX public.users_name_idx IS 'for search'"],
          locks: [SUE('public.users_name_idx', 'instant')],
        },
      ],
    },
  },
  // ---------------------------------------------------------------- partitions
  {
    name: 'partition added to an existing partitioned table: LIKE + ATTACH (SHARE UPDATE EXCLUSIVE on the parent)',
    live: eventsLive,
    desired: withEvents((t) => ({
      ...t,
      partitions: [...t.partitions, partition('events_2027', range('2027-01-01', '2028-01-01'))],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create public\.events_2027 and attach it as a partition of public\.events$/,
          sql: [
            'CREATE TABLE public.events_2027 (LIKE public.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
            "ALTER TABLE public.events ATTACH PARTITION public.events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
          ],
          locks: [SUE('public.events', 'instant'), AEL('public.events_2027')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'partition added next to a default partition: ATTACH scans the default partition',
    live: withEvents((t) => ({
      ...t,
      partitions: [...t.partitions, partition('events_default', { kind: 'default' })],
    })),
    desired: withEvents((t) => ({
      ...t,
      partitions: [
        ...t.partitions,
        partition('events_default', { kind: 'default' }),
        partition('events_2027', range('2027-01-01', '2028-01-01')),
      ],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /scans the default partition public\.events_default under ACCESS EXCLUSIVE/,
          hazards: ['blocks-reads'],
          locks: [SUE('public.events', 'instant'), AEL('public.events_2027'), AEL('public.events_default', 'scan')],
        },
      ],
    },
  },
  {
    name: 'partition dropped: DETACH CONCURRENTLY, then DROP TABLE',
    live: eventsLive,
    desired: withEvents((t) => ({ ...t, partitions: t.partitions.slice(1) })),
    expect: {
      steps: [
        {
          phase: 'contract',
          summary: /detach partition public\.events_2025 .* concurrently/,
          sql: ['ALTER TABLE public.events DETACH PARTITION public.events_2025 CONCURRENTLY'],
          transaction: false,
        },
        {
          phase: 'contract',
          summary: /drop detached partition public\.events_2025 and its data/,
          sql: ['DROP TABLE public.events_2025'],
          hazards: ['data-loss'],
        },
      ],
    },
  },
  {
    name: 'partition bound changed: dropped and recreated in contract',
    live: eventsLive,
    desired: withEvents((t) => ({
      ...t,
      partitions: [partition('events_2025', range('2024-01-01', '2026-01-01')), t.partitions[1]!],
    })),
    expect: {
      steps: [
        { phase: 'contract', summary: /detach partition public\.events_2025/ },
        {
          phase: 'contract',
          summary: /drop detached partition public\.events_2025 .*recreated/,
          hazards: ['data-loss'],
        },
        {
          phase: 'contract',
          summary: /create public\.events_2025 and attach it/,
          sql: [/LIKE/, /FROM \('2024-01-01'\)/],
        },
      ],
    },
  },

  // ------------------------------------------------------------------------------------------
  // Table properties (src/plan/techniques/table-properties.ts)
  {
    name: 'identity sequence options changed: one ALTER COLUMN in expand',
    live: usersCol('id', (c) => ({ ...c, identity: 'always' })),
    desired: usersCol('id', (c) => ({
      ...c,
      identity: 'always',
      identityOptions: { increment: '5', maxValue: '1000000', cache: '20', cycle: true },
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary:
            /identity sequence of public\.users\.id: increment 1 → 5, maxValue 9223372036854775807 → 1000000, cache 1 → 20, cycle false → true/,
          sql: [
            'ALTER TABLE public.users ALTER COLUMN id SET INCREMENT BY 5 SET MAXVALUE 1000000 SET CACHE 20 SET CYCLE',
          ],
          locks: [AEL('public.users')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'identity sequence options back to the defaults: stated explicitly',
    live: usersCol('id', (c) => ({
      ...c,
      type: 'integer',
      identity: 'by default',
      identityOptions: { minValue: '10', cycle: true },
    })),
    desired: usersCol('id', (c) => ({ ...c, type: 'integer', identity: 'by default' })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /minValue 10 → 1, start 10 → 1, cycle true → false/,
          sql: ['ALTER TABLE public.users ALTER COLUMN id SET MINVALUE 1 SET START WITH 1 SET NO CYCLE'],
        },
      ],
    },
  },
  {
    name: 'identity added with options: ADD GENERATED … AS IDENTITY (options)',
    live: base,
    desired: usersCol('id', (c) => ({ ...c, identity: 'always', identityOptions: { start: '1000' } })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /make public\.users\.id an identity column/,
          sql: [
            'ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 1000)',
            /setval/,
          ],
        },
      ],
    },
  },
  {
    name: 'table storage parameters set and reset in one statement, SHARE UPDATE EXCLUSIVE',
    live: usersWith({ autovacuum_enabled: 'false', fillfactor: '90' }),
    desired: usersWith({ fillfactor: '80', 'toast.autovacuum_enabled': 'false' }),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary:
            /set storage parameters of public\.users: fillfactor = 80, toast\.autovacuum_enabled = false, reset autovacuum_enabled/,
          sql: [
            'ALTER TABLE public.users RESET (autovacuum_enabled), SET (fillfactor = 80, toast.autovacuum_enabled = false)',
          ],
          locks: [SUE('public.users', 'instant')],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'storage parameters in another order only: nothing to do',
    live: usersWith({ autovacuum_enabled: 'false', fillfactor: '90' }),
    desired: usersWith({ fillfactor: '90', autovacuum_enabled: 'false' }),
    expect: { steps: [] },
  },
  {
    name: 'one parameter changes where setting only it would reorder them: all are set, in the desired order',
    live: usersWith({ fillfactor: '90', autovacuum_enabled: 'false' }),
    desired: usersWith({ fillfactor: '80', autovacuum_enabled: 'false' }),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /fillfactor = 80, autovacuum_enabled = false/,
          sql: ['ALTER TABLE public.users SET (fillfactor = 80, autovacuum_enabled = false)'],
        },
      ],
    },
  },
  {
    name: 'the last parameter changes: only it is set',
    live: usersWith({ fillfactor: '90', autovacuum_enabled: 'false' }),
    desired: usersWith({ fillfactor: '90', autovacuum_enabled: 'true' }),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /: autovacuum_enabled = true$/,
          sql: ['ALTER TABLE public.users SET (autovacuum_enabled = true)'],
        },
      ],
    },
  },
  {
    name: 'index storage parameters: ALTER INDEX, lock on the index alone; gin fastupdate takes ACCESS EXCLUSIVE',
    live: withUsers((t) => ({
      ...t,
      indexes: [index('users_name_idx', ['name']), index('users_name_gin', ['name'], { method: 'gin' })],
    })),
    desired: withUsers((t) => ({
      ...t,
      indexes: [
        index('users_name_idx', ['name'], { with: { fillfactor: '70', deduplicate_items: 'off' } }),
        index('users_name_gin', ['name'], { method: 'gin', with: { fastupdate: 'off' } }),
      ],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /set storage parameters of index public\.users_name_gin: fastupdate = off/,
          sql: ['ALTER INDEX public.users_name_gin SET (fastupdate = off)'],
          locks: [AEL('public.users_name_gin')],
        },
        {
          phase: 'expand',
          summary: /set storage parameters of index public\.users_name_idx: fillfactor = 70, deduplicate_items = off/,
          sql: ['ALTER INDEX public.users_name_idx SET (fillfactor = 70, deduplicate_items = off)'],
          locks: [SUE('public.users_name_idx', 'instant')],
        },
      ],
    },
  },
  {
    name: 'BRIN pages_per_range changed: the index is rebuilt (an ALTER would not change the built index)',
    live: withUsers((t) => ({ ...t, indexes: [index('users_id_brin', ['id'], { method: 'brin' })] })),
    desired: withUsers((t) => ({
      ...t,
      indexes: [index('users_id_brin', ['id'], { method: 'brin', with: { pages_per_range: '32' } })],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /build index users_id_brin_new .* to replace users_id_brin/,
          sql: [/WITH \(pages_per_range = 32\)/],
        },
        { phase: 'contract', summary: /drop index public\.users_id_brin/ },
        { phase: 'contract', summary: /rename index users_id_brin_new to users_id_brin/ },
      ],
    },
  },
  {
    name: 'row level security on: contract, app-compat; off: expand, app-compat',
    live: tables(users, table('posts', [id()], { rowLevelSecurity: true, forceRowLevelSecurity: true })),
    desired: tables({ ...users, rowLevelSecurity: true, forceRowLevelSecurity: true }, table('posts', [id()])),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /disable row level security on public\.posts/,
          sql: ['ALTER TABLE public.posts DISABLE ROW LEVEL SECURITY'],
          locks: [AEL('public.posts')],
          hazards: ['app-compat'],
        },
        {
          phase: 'expand',
          summary: /stop forcing row level security on public\.posts/,
          sql: ['ALTER TABLE public.posts NO FORCE ROW LEVEL SECURITY'],
          hazards: ['app-compat'],
        },
        {
          phase: 'contract',
          summary: /enable row level security on public\.users/,
          sql: ['ALTER TABLE public.users ENABLE ROW LEVEL SECURITY'],
          locks: [AEL('public.users')],
          hazards: ['app-compat'],
        },
        {
          phase: 'contract',
          summary: /force row level security on public\.users/,
          sql: ['ALTER TABLE public.users FORCE ROW LEVEL SECURITY'],
          hazards: ['app-compat'],
        },
      ],
    },
  },
  {
    name: 'replica identity: FULL in expand; NOTHING in contract with app-compat; an index built in this plan in contract',
    live: tables(
      users,
      table('a', [id()], { primaryKey: pk(['id'], 'a_pkey') }),
      table('b', [id(), col('code', 'text', { nullable: false })], { primaryKey: pk(['id'], 'b_pkey') }),
    ),
    desired: tables(
      { ...users, replicaIdentity: { kind: 'full' } },
      table('a', [id()], { primaryKey: pk(['id'], 'a_pkey'), replicaIdentity: { kind: 'nothing' } }),
      table('b', [id(), col('code', 'text', { nullable: false })], {
        primaryKey: pk(['id'], 'b_pkey'),
        indexes: [index('b_code_key', ['code'], { unique: true })],
        replicaIdentity: { kind: 'index', index: 'b_code_key' },
      }),
    ),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /set replica identity of public\.users to FULL \(was DEFAULT\)$/,
          sql: ['ALTER TABLE public.users REPLICA IDENTITY FULL'],
          locks: [AEL('public.users')],
          hazards: [],
        },
        { phase: 'expand', summary: /create index b_code_key on public\.b/ },
        {
          phase: 'contract',
          summary: /set replica identity of public\.a to NOTHING .*UPDATE and DELETE fail/,
          sql: ['ALTER TABLE public.a REPLICA IDENTITY NOTHING'],
          hazards: ['app-compat'],
        },
        {
          phase: 'contract',
          summary: /set replica identity of public\.b to USING INDEX b_code_key \(was DEFAULT\)$/,
          sql: ['ALTER TABLE public.b REPLICA IDENTITY USING INDEX b_code_key'],
          locks: [AEL('public.b'), { relation: 'public.b_code_key', mode: 'SHARE', hold: 'instant' }],
          hazards: [],
        },
      ],
    },
  },
  {
    name: 'constraint comments: changed alone with COMMENT ON CONSTRAINT (ACCESS SHARE); a new constraint gets its comment in its own step',
    live: withUsers((t) => ({ ...t, checks: [check('users_name_len', 'length(name) < 100')] })),
    desired: withUsers((t) => ({
      ...t,
      primaryKey: { ...pk(['id'], 'users_pkey'), comment: 'surrogate' },
      checks: [
        check('users_name_len', 'length(name) < 100', { comment: 'fits the label printer' }),
        check('users_name_nonempty', "name <> ''", { comment: "it's never empty" }),
      ],
    })),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /add check users_name_nonempty/,
          sql: [
            /ADD CONSTRAINT users_name_nonempty CHECK/,
            "COMMENT ON CONSTRAINT users_name_nonempty ON public.users IS 'it''s never empty'",
          ],
        },
        {
          phase: 'expand',
          summary: /set 2 comments on table public\.users/,
          sql: [
            "COMMENT ON CONSTRAINT users_pkey ON public.users IS 'surrogate'",
            "COMMENT ON CONSTRAINT users_name_len ON public.users IS 'fits the label printer'",
          ],
          locks: [{ relation: 'public.users', mode: 'ACCESS SHARE', hold: 'instant' }],
        },
        { phase: 'backfill', summary: /validate check users_name_nonempty/ },
      ],
    },
  },
  {
    name: 'a new table with every property: all in its creation step',
    live: db(),
    desired: tables(
      table(
        't',
        [
          col('id', 'integer', { nullable: false, identity: 'always', identityOptions: { cache: '10' } }),
          col('code', 'text', { nullable: false }),
        ],
        {
          primaryKey: { ...pk(['id'], 't_pkey'), comment: 'key' },
          with: { fillfactor: '70' },
          rowLevelSecurity: true,
          replicaIdentity: { kind: 'index', index: 't_code_key' },
          indexes: [index('t_code_key', ['code'], { unique: true, with: { deduplicate_items: 'off' } })],
        },
      ),
    ),
    expect: {
      steps: [
        {
          phase: 'expand',
          summary: /create table public\.t/,
          sql: [
            /^CREATE TABLE public\.t \(\n {2}id integer NOT NULL GENERATED ALWAYS AS IDENTITY \(CACHE 10\),[\s\S]*\) WITH \(fillfactor = 70\)$/,
            'CREATE UNIQUE INDEX t_code_key ON public.t (code) WITH (deduplicate_items = off)',
            "COMMENT ON CONSTRAINT t_pkey ON public.t IS 'key'",
            'ALTER TABLE public.t ENABLE ROW LEVEL SECURITY',
            'ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_code_key',
          ],
          hazards: [],
        },
      ],
    },
  },
];
