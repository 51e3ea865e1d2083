/**
 * Table properties read from the catalog (test/fixtures/introspect/table-properties.sql): identity
 * sequence options, storage parameters of tables, partitions and indexes (TOAST ones as `toast.*`),
 * column storage and compression,
 * row level security, replica identity, comments on constraints and domain checks. What the model
 * cannot hold is reported, not dropped; and `zdm pull`'s YAML loads back (and normalizes through the
 * server) to the same model, so a plan against the same database is empty.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSqlScript } from '../../src/db/sql-script.js';
import { introspectDetailed, type UnsupportedFeature } from '../../src/introspect/index.js';
import type { DatabaseModel, Table } from '../../src/model/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { expectRoundTrip } from '../support/roundtrip.js';

const FIXTURE = new URL('../fixtures/introspect/table-properties.sql', import.meta.url);

function table(m: DatabaseModel, name: string): Table {
  const t = m.schemas.find((s) => s.name === 'props')?.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table props.${name}`);
  return t;
}

describe('introspect: table properties', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let model: DatabaseModel;
  let unsupported: readonly UnsupportedFeature[];

  beforeAll(async () => {
    db = await freshDatabase('introspect table properties');
    const r = await runSqlScript(db.client, readFileSync(FIXTURE, 'utf8'));
    expect(r.errors).toEqual([]);
    client = await db.connect();
    ({ model, unsupported } = await introspectDetailed(client));
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reads identity sequence options that differ from the defaults for the column type, and only those', () => {
    const cols = Object.fromEntries(table(model, 'ticket').columns.map((c) => [c.name, c]));
    expect(cols.id).toMatchObject({
      identity: 'always',
      identityOptions: { start: '100', increment: '5', maxValue: '1000000', cache: '20', cycle: true },
    });
    expect(cols.plain_id?.identity).toBe('by default');
    expect(cols.plain_id).not.toHaveProperty('identityOptions');
    // A descending smallint sequence: minValue, maxValue and start at their defaults for it.
    expect(cols.down?.identityOptions).toEqual({ increment: '-1' });
  });

  it('reads storage parameters in the catalog order, TOAST ones as toast.*, on tables, partitions and indexes', () => {
    const ticket = table(model, 'ticket');
    expect(ticket.with).toEqual({ fillfactor: '80', autovacuum_enabled: 'off', 'toast.autovacuum_enabled': 'false' });
    expect(Object.keys(ticket.with!)).toEqual(['fillfactor', 'autovacuum_enabled', 'toast.autovacuum_enabled']);
    const note = ticket.indexes.find((i) => i.name === 'ticket_note');
    expect(Object.entries(note?.with ?? {})).toEqual([
      ['deduplicate_items', 'off'],
      ['fillfactor', '70'],
    ]);
    expect(table(model, 'cache')).toMatchObject({ unlogged: true, with: { autovacuum_vacuum_scale_factor: '0.01' } });
    expect(table(model, 'events')).not.toHaveProperty('with');
    expect(table(model, 'events').partitions[0]).toMatchObject({ name: 'events_eu', with: { fillfactor: '60' } });
    expect(table(model, 'owner')).not.toHaveProperty('with');
  });

  it('reads column storage and compression, storage only when it is not the type default', () => {
    const cols = Object.fromEntries(table(model, 'ticket').columns.map((c) => [c.name, c]));
    expect(cols.note).toMatchObject({ storage: 'external', compression: 'pglz' });
    expect(cols.code).not.toHaveProperty('storage');
    expect(cols.code).not.toHaveProperty('compression');
  });

  it('reads row level security and replica identity of tables and partitions', () => {
    expect(table(model, 'ticket')).toMatchObject({
      rowLevelSecurity: true,
      forceRowLevelSecurity: true,
      replicaIdentity: { kind: 'index', index: 'ticket_code_key' },
    });
    expect(table(model, 'owner').replicaIdentity).toEqual({ kind: 'full' });
    expect(table(model, 'owner')).not.toHaveProperty('rowLevelSecurity');
    expect(table(model, 'nothing').replicaIdentity).toEqual({ kind: 'nothing' });
    expect(table(model, 'cache')).not.toHaveProperty('replicaIdentity');
    const events = table(model, 'events');
    expect(events.rowLevelSecurity).toBe(true);
    expect(events).not.toHaveProperty('forceRowLevelSecurity');
    expect(events.partitions[0]).toMatchObject({ forceRowLevelSecurity: true, replicaIdentity: { kind: 'full' } });
    expect(events.partitions[0]).not.toHaveProperty('rowLevelSecurity');
  });

  it('reads row level security policies: permissive or restrictive, command, roles, USING, WITH CHECK, comment', async () => {
    const [me] = await db.query<{ user: string }>('SELECT current_user AS user');
    expect(table(model, 'ticket').policies).toEqual([
      { name: 'everyone', using: 'true' },
      {
        name: 'own ticket',
        restrictive: true,
        command: 'update',
        // The role and the user that ran the fixture (CURRENT_USER), sorted by code point.
        roles: [me!.user, 'Zdm Props Reader'].sort(),
        using: '(code = CURRENT_USER)',
        withCheck: '(length(code) < 10)',
        comment: 'their own',
      },
    ]);
    expect(table(model, 'owner')).not.toHaveProperty('policies');
  });

  it('reads comments on every kind of constraint and on domain checks', () => {
    const ticket = table(model, 'ticket');
    expect(ticket.primaryKey?.comment).toBe('surrogate key');
    expect(ticket.uniqueConstraints[0]?.comment).toBe('printed on the ticket');
    expect(ticket.checks[0]?.comment).toBe('fits the label printer');
    const owner = table(model, 'owner');
    expect(owner.foreignKeys[0]?.comment).toBe('whose ticket');
    expect(owner.exclusionConstraints[0]?.comment).toBe('one owner per ticket');
    expect(owner.primaryKey).not.toHaveProperty('comment');
    const positive = model.schemas.find((s) => s.name === 'props')?.domains.find((d) => d.name === 'positive');
    expect(positive?.checks).toEqual([
      { name: 'positive_check', expression: '(VALUE > 0)', comment: 'strictly positive' },
    ]);
  });

  it('reports what the model cannot hold instead of dropping it silently', () => {
    expect(unsupported).toContainEqual({
      object: 'props.ticket: index ticket_code_key',
      feature: 'comment on the index of a constraint',
    });
    expect(unsupported).toContainEqual({
      object: 'props.events_us',
      feature: 'UNLOGGED partition, read as a logged one',
    });
    expect(unsupported).toContainEqual({
      object: 'props.ticket: index ticket_pkey',
      feature: 'storage parameters of the index of a constraint (fillfactor=90)',
    });
  });

  it('pulled YAML loads back to the same model, and normalizing it through the server changes nothing', async () => {
    await expectRoundTrip(client, model);
  });

  it('keeps the attribute options PostgreSQL documents and names the others a server keeps of its own', async () => {
    // Seen on a Debian build of PostgreSQL 15: `pg_attver=…` in pg_attribute.attoptions of every
    // column, which ALTER COLUMN … SET rejects. Written here straight into the catalog (superuser).
    const own = await db.connect();
    try {
      await own.query('CREATE TABLE props_attver (a integer, b integer)');
      await own.query('ALTER TABLE props_attver ALTER COLUMN b SET (n_distinct = 7)');
      await own.query(
        `UPDATE pg_catalog.pg_attribute SET attoptions = attoptions || '{pg_attver=35284736}'::text[]
         WHERE attrelid = 'props_attver'::regclass AND attnum > 0`,
      );
      const detailed = await introspectDetailed(own);
      const t = detailed.model.schemas.find((s) => s.name === 'public')?.tables.find((x) => x.name === 'props_attver');
      expect(t?.columns.map((c) => [c.name, c.options])).toEqual([
        ['a', undefined],
        ['b', { n_distinct: '7' }],
      ]);
      expect(detailed.unsupported.filter((u) => u.object.startsWith('public.props_attver'))).toEqual([
        {
          object: 'public.props_attver.a',
          feature: 'attribute options PostgreSQL does not document (pg_attver=35284736)',
        },
        {
          object: 'public.props_attver.b',
          feature: 'attribute options PostgreSQL does not document (pg_attver=35284736)',
        },
      ]);
    } finally {
      await own.query('DROP TABLE IF EXISTS props_attver');
      await own.end();
    }
  });
});
