/**
 * Introspection of test/fixtures/introspect/kitchen-sink.sql (every feature the model holds) on a
 * real server: exact model values per feature, determinism, immunity to a hostile search_path, and
 * the session left as it was.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/connection.js';
import { IntrospectionError, introspect, introspectDetailed } from '../../src/introspect/index.js';
import type { DatabaseModel, Partition, SchemaModel, Table } from '../../src/model/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { runSqlScript } from '../support/sql-script.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'introspect');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');

/** Empty relation parts, to spell out only what a table or partition has. */
const none = {
  uniqueConstraints: [],
  checks: [],
  foreignKeys: [],
  exclusionConstraints: [],
  indexes: [],
  partitions: [],
};

function schema(m: DatabaseModel, name: string): SchemaModel {
  const s = m.schemas.find((x) => x.name === name);
  if (!s) throw new Error(`no schema ${name} in the model`);
  return s;
}

function table(m: DatabaseModel, schemaName: string, name: string): Table {
  const t = schema(m, schemaName).tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${schemaName}.${name} in the model`);
  return t;
}

function partition(parent: Table | Partition, name: string): Partition {
  const p = parent.partitions.find((x) => x.name === name);
  if (!p) throw new Error(`no partition ${name} of ${parent.name}`);
  return p;
}

describe('introspect (kitchen sink)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let model: DatabaseModel;
  let unsupported: Awaited<ReturnType<typeof introspectDetailed>>['unsupported'];

  beforeAll(async () => {
    db = await freshDatabase('introspect');
    const scripts = ['kitchen-sink.sql'];
    if (db.major >= 15) scripts.push('kitchen-sink-pg15.sql');
    if (db.major >= 18) scripts.push('kitchen-sink-pg18.sql');
    for (const s of scripts) {
      const r = await runSqlScript(db.client, fixture(s));
      expect(r.errors, s).toEqual([]);
    }
    // An INVALID index: a unique CONCURRENTLY build that meets duplicates fails and leaves it behind
    // (outside a transaction, as CONCURRENTLY must be).
    await db.exec(`INSERT INTO shop.bookings (id, room_id, during) VALUES
      (1, 7, '[2024-01-01,2024-01-02)'), (2, 7, '[2024-02-01,2024-02-02)')`);
    await expect(
      db.exec('CREATE UNIQUE INDEX CONCURRENTLY bookings_room_key ON shop.bookings (room_id)'),
    ).rejects.toThrow(/could not create unique index/);
    client = await db.connect();
    ({ model, unsupported } = await introspectDetailed(client));
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reads the server version', async () => {
    const [row] = await db.query<{ v: string; n: string }>(
      `SELECT pg_catalog.current_setting('server_version') AS v, pg_catalog.current_setting('server_version_num') AS n`,
    );
    expect(model.server).toEqual({ version: `PostgreSQL ${row!.v.split(' ')[0]}`, versionNum: Number(row!.n) });
    expect(model.server?.version).toMatch(/^PostgreSQL \d+\.\d+/);
  });

  it('lists extensions (not plpgsql) with their schema when not public', () => {
    expect(model.extensions).toEqual([
      { kind: 'extension', name: 'btree_gist', schema: 'ext', installedVersion: expect.any(String) },
      { kind: 'extension', name: 'cube', installedVersion: expect.any(String) },
      { kind: 'extension', name: 'earthdistance', installedVersion: expect.any(String) },
    ]);
  });

  it('lists schemas sorted by name, with comments; not zdm, not system schemas', () => {
    expect(model.schemas.map((s) => s.name)).toEqual(['Shop "EU"', 'ext', 'public', 'shop']);
    expect(schema(model, 'shop').comment).toBe('The shop');
    expect(schema(model, 'Shop "EU"').comment).toBeUndefined();
  });

  it('leaves out everything an extension owns, and keeps a schema that holds only extension objects', () => {
    // cube, earthdistance (its domain earth, functions) live in public; btree_gist in ext.
    expect(schema(model, 'public')).toMatchObject({ enums: [], domains: [], sequences: [], tables: [] });
    expect(schema(model, 'ext')).toEqual({
      kind: 'schema',
      name: 'ext',
      grants: [],
      enums: [],
      domains: [],
      compositeTypes: [],
      sequences: [],
      tables: [],
      views: [],
      materializedViews: [],
      functions: [],
      triggers: [],
    });
    const fnSchemas = new Set(model.dependents?.functions.map((f) => f.schema));
    expect(fnSchemas).toEqual(new Set(['shop']));
  });

  it('reads enums with values in sort order and comments', () => {
    expect(schema(model, 'shop').enums).toEqual([
      {
        kind: 'enum',
        schema: 'shop',
        name: 'order_status',
        values: ['pending', 'active', 'shipped'],
        comment: 'Lifecycle of an order',
        // PostgreSQL's default (a NULL ACL): USAGE to PUBLIC.
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
    ]);
    expect(schema(model, 'Shop "EU"').enums).toEqual([
      {
        kind: 'enum',
        schema: 'Shop "EU"',
        name: 'Währung',
        values: ['EUR', 'CHF', "it's"],
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
    ]);
  });

  it('reads domains: base type, NOT NULL, default, collation, named checks', () => {
    expect(schema(model, 'shop').domains).toEqual([
      {
        kind: 'domain',
        schema: 'shop',
        name: 'code',
        type: 'text',
        nullable: true,
        collation: 'C',
        checks: [{ name: 'code_check', expression: "(VALUE ~ '^[A-Z]+$'::text)" }],
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
      {
        kind: 'domain',
        schema: 'shop',
        name: 'positive_amount',
        type: 'numeric(12,2)',
        nullable: false,
        default: '0',
        checks: [
          { name: 'positive_amount_check', expression: '(VALUE >= (0)::numeric)' },
          { name: 'positive_amount_max', expression: '(VALUE < (1000000)::numeric)' },
        ],
        comment: 'Money, never negative',
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
    ]);
  });

  it('reads standalone and serial-owned sequences, not identity sequences', () => {
    expect(schema(model, 'shop').sequences).toEqual([
      {
        kind: 'sequence',
        grants: [],
        schema: 'shop',
        name: 'customers_legacy_id_seq',
        type: 'integer',
        start: '1',
        increment: '1',
        minValue: '1',
        maxValue: '2147483647',
        cache: '1',
        cycle: false,
        ownedBy: { schema: 'shop', table: 'customers', column: 'legacy_id' },
      },
      {
        kind: 'sequence',
        grants: [],
        schema: 'shop',
        name: 'invoice_no',
        type: 'integer',
        start: '1000',
        increment: '5',
        minValue: '10',
        maxValue: '1000000',
        cache: '10',
        cycle: true,
        comment: 'Invoice numbers',
      },
    ]);
  });

  it('lists tables sorted by name; partitions only under their parent', () => {
    expect(schema(model, 'shop').tables.map((t) => t.name)).toEqual([
      'addresses',
      'audit_log',
      'base_log',
      'bookings',
      'customers',
      'order_items',
      'orders',
      'products',
      'sessions',
    ]);
    expect(schema(model, 'Shop "EU"').tables.map((t) => t.name)).toEqual(['Event Log', 'Preise']);
  });

  it('reads columns: types, identity, defaults, collation, arrays, domains, comments', () => {
    expect(table(model, 'shop', 'customers').columns).toEqual([
      { kind: 'column', name: 'id', type: 'bigint', nullable: false, identity: 'always' },
      { kind: 'column', name: 'email', type: 'text', nullable: false, collation: 'C', comment: 'Login e-mail' },
      { kind: 'column', name: 'name', type: 'character varying(200)', nullable: false },
      { kind: 'column', name: 'tags', type: 'text[]', nullable: false, default: "'{}'::text[]" },
      { kind: 'column', name: 'region_code', type: 'shop.code', nullable: true },
      { kind: 'column', name: 'balance', type: 'shop.positive_amount', nullable: true },
      { kind: 'column', name: 'created_at', type: 'timestamp with time zone', nullable: false, default: 'now()' },
      { kind: 'column', name: 'score', type: 'numeric(5,2)', nullable: true },
      {
        kind: 'column',
        name: 'legacy_id',
        type: 'integer',
        nullable: false,
        default: "nextval('shop.customers_legacy_id_seq'::regclass)",
      },
      { kind: 'column', name: 'matrix', type: 'integer[]', nullable: true },
    ]);
    expect(table(model, 'shop', 'orders').columns).toEqual([
      { kind: 'column', name: 'id', type: 'bigint', nullable: false, identity: 'by default' },
      { kind: 'column', name: 'customer_id', type: 'bigint', nullable: false },
      {
        kind: 'column',
        name: 'status',
        type: 'shop.order_status',
        nullable: false,
        default: "'pending'::shop.order_status",
      },
      { kind: 'column', name: 'amount', type: 'numeric(10,2)', nullable: false },
      { kind: 'column', name: 'region', type: 'text', nullable: false, default: "'eu'::text" },
      { kind: 'column', name: 'created_at', type: 'timestamp with time zone', nullable: false },
    ]);
    expect(table(model, 'Shop "EU"', 'Event Log').columns).toEqual([
      { kind: 'column', name: 'Event Id', type: 'uuid', nullable: false },
      { kind: 'column', name: 'Währung', type: '"Shop ""EU"""."Währung"', nullable: true },
      { kind: 'column', name: 'payload', type: 'jsonb', nullable: true },
    ]);
    expect(table(model, 'Shop "EU"', 'Preise').columns[1]).toEqual({
      kind: 'column',
      name: 'Betrag',
      type: 'numeric(10,2)',
      nullable: true,
      comment: 'Betrag in "EUR"',
    });
  });

  it('reads generated columns (stored; virtual on PostgreSQL 18) without a default', () => {
    const cols = table(model, 'shop', 'products').columns;
    expect(cols.find((c) => c.name === 'price_with_tax')).toEqual({
      kind: 'column',
      name: 'price_with_tax',
      type: 'numeric',
      nullable: true,
      generated: { expression: '(price * 1.2)', stored: true },
    });
    expect(cols.find((c) => c.name === 'invoice')).toEqual({
      kind: 'column',
      name: 'invoice',
      type: 'integer',
      nullable: true,
      default: "nextval('shop.invoice_no'::regclass)",
    });
    if (db.major >= 18) {
      expect(cols.find((c) => c.name === 'price_cents')).toEqual({
        kind: 'column',
        name: 'price_cents',
        type: 'bigint',
        nullable: true,
        generated: { expression: '((price * (100)::numeric))::bigint', stored: false },
      });
      // A named NOT NULL constraint (PostgreSQL 18) is the column's nullable, not a constraint.
      expect(cols.find((c) => c.name === 'barcode')?.nullable).toBe(false);
    }
  });

  it('reads a table: primary key with INCLUDE, deferrable unique, checks (NOT VALID, NO INHERIT), comment', () => {
    const { columns: _c, indexes: _i, ...rest } = table(model, 'shop', 'customers');
    expect(rest).toEqual({
      kind: 'table',
      schema: 'shop',
      name: 'customers',
      unlogged: false,
      grants: [],
      primaryKey: {
        kind: 'primaryKey',
        name: 'customers_pkey',
        columns: ['id'],
        include: ['email'],
        deferrable: false,
        initiallyDeferred: false,
      },
      uniqueConstraints: [
        {
          kind: 'unique',
          name: 'customers_email_key',
          columns: ['email'],
          include: [],
          nullsNotDistinct: false,
          deferrable: true,
          initiallyDeferred: false,
        },
      ],
      checks: [
        { kind: 'check', name: 'customers_local_only', expression: '(id > 0)', noInherit: true, valid: true },
        {
          kind: 'check',
          name: 'customers_name_check',
          expression: '(char_length((name)::text) > 0)',
          noInherit: false,
          valid: false,
        },
        {
          kind: 'check',
          name: 'customers_score_check',
          expression: '(score >= (0)::numeric)',
          noInherit: false,
          valid: true,
        },
      ],
      foreignKeys: [],
      exclusionConstraints: [],
      partitions: [],
      comment: 'People who buy',
    });
  });

  it('reads UNLOGGED', () => {
    expect(table(model, 'shop', 'sessions')).toMatchObject({ unlogged: true });
    expect(table(model, 'shop', 'sessions').columns[2]).toEqual({
      kind: 'column',
      name: 'expires_at',
      type: 'timestamp(3) without time zone',
      nullable: true,
    });
  });

  it('reads indexes not behind a constraint, with every key option', () => {
    const key = (column: string, extra: object = {}) => ({ column, descending: false, ...extra });
    const index = (name: string, keys: object[], extra: object = {}) => ({
      kind: 'index',
      name,
      unique: false,
      method: 'btree',
      keys,
      include: [],
      nullsNotDistinct: false,
      valid: true,
      ...extra,
    });
    expect(table(model, 'shop', 'customers').indexes).toEqual([
      index('customers_active_idx', [key('created_at')], {
        where: '(score > (0)::numeric)',
        comment: 'Recently active',
      }),
      index('customers_created_brin_idx', [key('created_at')], { method: 'brin', with: { pages_per_range: '32' } }),
      index('customers_email_hash_idx', [key('email')], { method: 'hash' }),
      index('customers_lower_name_idx', [{ expression: 'lower(name::text)', descending: false }]),
      index('customers_name_c_idx', [key('name', { collation: 'C' })]),
      index('customers_name_incl_idx', [key('name')], { include: ['email', 'score'], with: { fillfactor: '70' } }),
      index('customers_name_pattern_idx', [key('name', { opclass: 'text_pattern_ops' })]),
      index('customers_order_idx', [
        { column: 'created_at', descending: true, nullsFirst: false },
        { column: 'score', descending: false, nullsFirst: true },
        { column: 'id', descending: true },
      ]),
      index('customers_tags_idx', [key('tags')], { method: 'gin' }),
    ]);
    const products = table(model, 'shop', 'products').indexes;
    expect(products[0]).toEqual(
      index('products_lower_sku_idx', [{ expression: 'lower(sku)', descending: false }], { unique: true }),
    );
    // The failed CONCURRENTLY build and the gist index; the exclusion constraint's index is not listed.
    expect(table(model, 'shop', 'bookings').indexes).toEqual([
      index('bookings_during_idx', [key('during')], { method: 'gist' }),
      index('bookings_room_key', [key('room_id')], { unique: true, valid: false }),
    ]);
  });

  it('reads NULLS NOT DISTINCT on PostgreSQL 15+', () => {
    const products = table(model, 'shop', 'products');
    if (db.major < 15) {
      expect(products.uniqueConstraints).toEqual([]);
      return;
    }
    expect(products.uniqueConstraints).toEqual([
      {
        kind: 'unique',
        name: 'products_barcode_key',
        columns: ['barcode'],
        include: [],
        nullsNotDistinct: true,
        deferrable: false,
        initiallyDeferred: false,
      },
    ]);
    expect(products.indexes.find((i) => i.name === 'products_sku_barcode_idx')).toMatchObject({
      unique: true,
      nullsNotDistinct: true,
      keys: [
        { column: 'sku', descending: false },
        { column: 'barcode', descending: false },
      ],
    });
  });

  it('reads foreign keys: every option, composite, to a partitioned table, cross-schema', () => {
    expect(table(model, 'shop', 'order_items').foreignKeys).toEqual([
      {
        kind: 'foreignKey',
        name: 'order_items_order_fk',
        columns: ['order_id', 'order_created_at', 'order_region'],
        references: { schema: 'shop', table: 'orders', columns: ['id', 'created_at', 'region'] },
        onUpdate: 'no action',
        onDelete: 'no action',
        match: 'simple',
        deferrable: false,
        initiallyDeferred: false,
        valid: true,
      },
      {
        kind: 'foreignKey',
        name: 'order_items_product_fk',
        columns: ['product_code'],
        references: { schema: 'shop', table: 'products', columns: ['code'] },
        onUpdate: 'set null',
        onDelete: 'cascade',
        match: 'full',
        deferrable: true,
        initiallyDeferred: true,
        valid: false,
      },
    ]);
    expect(table(model, 'Shop "EU"', 'Preise').foreignKeys).toEqual([
      {
        kind: 'foreignKey',
        name: 'Preise_Produkt Code_fkey',
        columns: ['Produkt Code'],
        references: { schema: 'shop', table: 'products', columns: ['code'] },
        onUpdate: 'no action',
        onDelete: 'no action',
        match: 'simple',
        deferrable: false,
        initiallyDeferred: false,
        valid: true,
      },
    ]);
  });

  it('reads exclusion constraints with per-element operators, INCLUDE, WHERE and timing', () => {
    expect(table(model, 'shop', 'bookings').exclusionConstraints).toEqual([
      {
        kind: 'exclusion',
        name: 'bookings_no_overlap',
        method: 'gist',
        elements: [
          { key: { column: 'room_id', descending: false }, operator: '=' },
          { key: { column: 'during', descending: false }, operator: '&&' },
        ],
        include: ['id'],
        where: '(NOT cancelled)',
        deferrable: true,
        initiallyDeferred: true,
      },
    ]);
  });

  it('reads range partitions, a sub-partitioned list partition and default partitions', () => {
    const orders = table(model, 'shop', 'orders');
    expect(orders.partitionBy).toEqual({ strategy: 'range', columns: ['created_at'] });
    expect(orders.primaryKey).toEqual({
      kind: 'primaryKey',
      name: 'orders_pkey',
      columns: ['id', 'created_at', 'region'],
      include: [],
      deferrable: false,
      initiallyDeferred: false,
    });
    expect(orders.indexes.map((i) => i.name)).toEqual(['orders_customer_idx']);
    expect(orders.partitions.map((p) => [p.name, p.bound])).toEqual([
      ['orders_2024', { kind: 'range', from: ['2024-01-01 00:00:00+00'], to: ['2025-01-01 00:00:00+00'] }],
      ['orders_2025', { kind: 'range', from: ['2025-01-01 00:00:00+00'], to: ['2026-01-01 00:00:00+00'] }],
      ['orders_default', { kind: 'default' }],
      ['orders_old', { kind: 'range', from: ['MINVALUE'], to: ['2024-01-01 00:00:00+00'] }],
    ]);
    expect(partition(orders, 'orders_2025')).toEqual({
      kind: 'partition',
      schema: 'shop',
      name: 'orders_2025',
      bound: { kind: 'range', from: ['2025-01-01 00:00:00+00'], to: ['2026-01-01 00:00:00+00'] },
      ...none,
      partitionBy: { strategy: 'list', columns: ['region'] },
      partitions: [
        {
          kind: 'partition',
          schema: 'shop',
          name: 'orders_2025_eu',
          bound: { kind: 'list', values: ['eu', 'ch'] },
          ...none,
        },
        { kind: 'partition', schema: 'shop', name: 'orders_2025_rest', bound: { kind: 'default' }, ...none },
      ],
    });
  });

  it('lists on a partition only what was declared on it: no attached index, cloned constraint or trigger', () => {
    const orders = table(model, 'shop', 'orders');
    expect(partition(orders, 'orders_2024')).toEqual({
      kind: 'partition',
      schema: 'shop',
      name: 'orders_2024',
      bound: { kind: 'range', from: ['2024-01-01 00:00:00+00'], to: ['2025-01-01 00:00:00+00'] },
      ...none,
      checks: [
        {
          kind: 'check',
          name: 'orders_2024_big_check',
          expression: '(amount < (1000000)::numeric)',
          noInherit: false,
          valid: true,
        },
      ],
      foreignKeys: [
        {
          kind: 'foreignKey',
          name: 'orders_2024_product_fk',
          columns: ['region'],
          references: { schema: 'shop', table: 'products', columns: ['code'] },
          onUpdate: 'no action',
          onDelete: 'no action',
          match: 'simple',
          deferrable: false,
          initiallyDeferred: false,
          valid: false,
        },
      ],
      indexes: [
        {
          kind: 'index',
          name: 'orders_2024_amount_idx',
          unique: false,
          method: 'btree',
          keys: [{ column: 'amount', descending: true }],
          include: [],
          nullsNotDistinct: false,
          valid: true,
        },
      ],
      comment: 'Orders of 2024',
    });
    expect(model.dependents?.triggers.map((t) => `${t.table}.${t.name}`)).toEqual([
      'customers.customers_touch',
      'orders.orders_touch',
    ]);
  });

  it('reads hash partitions and list partitions on an expression, with quoted names and NULL', () => {
    const log = table(model, 'Shop "EU"', 'Event Log');
    expect(log.partitionBy).toEqual({ strategy: 'hash', columns: ['Event Id'] });
    expect(log.partitions).toEqual([
      {
        kind: 'partition',
        schema: 'Shop "EU"',
        name: 'Event Log 0',
        bound: { kind: 'hash', modulus: 2, remainder: 0 },
        ...none,
      },
      {
        kind: 'partition',
        schema: 'Shop "EU"',
        name: 'Event Log 1',
        bound: { kind: 'hash', modulus: 2, remainder: 1 },
        ...none,
      },
    ]);
    const preise = table(model, 'Shop "EU"', 'Preise');
    expect(preise.partitionBy).toEqual({ strategy: 'list', columns: ['lower(kind)'] });
    expect(preise.partitions.map((p) => [p.name, p.bound])).toEqual([
      ['Preise a', { kind: 'list', values: ["it's", 'NULL'] }],
      ['Preise b', { kind: 'list', values: ['b'] }],
    ]);
  });

  it('reads views and materialized views, their columns, options and comments', () => {
    const shop = schema(model, 'shop');
    expect(shop.views.map((v) => v.name)).toEqual(['customer_names']);
    const v = shop.views[0]!;
    expect(v).toMatchObject({ kind: 'view', schema: 'shop', name: 'customer_names', securityBarrier: false });
    // pg_get_viewdef with an empty search_path: names qualified, no leading blank, no final semicolon.
    expect(v.definition).toMatch(/^SELECT .*\n.*FROM shop\.customers$/s);
    expect(v.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'bigint'],
      ['name', 'character varying(200)'],
    ]);
    const mv = shop.materializedViews[0]!;
    expect(mv).toMatchObject({ kind: 'materializedView', name: 'order_totals', withData: true });
    expect(mv.definition).toMatch(/FROM shop\.orders\n\s+GROUP BY /);
  });

  it('reads the dependency graph, and functions and triggers as dependents', () => {
    const edges = (model.dependencies ?? []).filter((d) => d.from.includes(' shop.') || d.from.includes(' on shop.'));
    expect(edges).toEqual(
      expect.arrayContaining([
        { from: 'view shop.customer_names', to: 'table shop.customers', column: 'id' },
        { from: 'view shop.customer_names', to: 'table shop.customers', column: 'name' },
        { from: 'materializedView shop.order_totals', to: 'table shop.orders', column: 'amount' },
        { from: 'materializedView shop.order_totals', to: 'table shop.orders', column: 'customer_id' },
        { from: 'function shop.customer_count()', to: 'table shop.customers', column: 'score' },
        { from: 'trigger customers_touch on shop.customers', to: 'function shop.touch()' },
        { from: 'trigger customers_touch on shop.customers', to: 'table shop.customers', column: 'name' },
      ]),
    );
    // A view's rule depends on its own view too: not an edge.
    expect(edges.some((d) => d.from === d.to)).toBe(false);
    expect(model.dependents).toEqual({
      functions: [
        {
          kind: 'function',
          schema: 'shop',
          name: 'customer_count()',
          dependsOn: [{ schema: 'shop', table: 'customers', column: 'score' }],
        },
        { kind: 'function', schema: 'shop', name: 'touch()', dependsOn: [] },
      ],
      triggers: [
        {
          kind: 'trigger',
          schema: 'shop',
          name: 'customers_touch',
          table: 'customers',
          dependsOn: [
            { schema: 'shop', table: 'customers' },
            { schema: 'shop', table: 'customers', column: 'name' },
          ],
        },
        {
          kind: 'trigger',
          schema: 'shop',
          name: 'orders_touch',
          table: 'orders',
          dependsOn: [{ schema: 'shop', table: 'orders' }],
        },
      ],
    });
    // Functions and triggers are managed (issue 12): nothing else here is left out.
    expect(model.unmanaged).toEqual({});
  });

  it('reads composite types with their attributes in order, collations and comments', () => {
    expect(schema(model, 'shop').compositeTypes).toEqual([
      {
        kind: 'compositeType',
        schema: 'shop',
        name: 'address',
        attributes: [
          { name: 'street', type: 'text' },
          { name: 'city', type: 'text' },
        ],
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
      {
        kind: 'compositeType',
        schema: 'shop',
        name: 'price',
        attributes: [
          { name: 'amount', type: 'numeric(10,2)' },
          { name: 'currency', type: 'text', collation: 'C', comment: 'ISO 4217' },
          { name: 'status', type: 'shop.order_status' },
        ],
        comment: 'an amount in a currency',
        grants: [{ grantee: 'public', privilege: 'USAGE' }],
      },
    ]);
  });

  it('reads an inheritance child with its parents and own columns, a typed table as a plain table, and reports what the model cannot hold', () => {
    // The inherited column `at` comes from shop.base_log: the child lists its own.
    expect(table(model, 'shop', 'audit_log').columns.map((c) => c.name)).toEqual(['who']);
    expect(table(model, 'shop', 'audit_log').inherits).toEqual(['shop.base_log']);
    expect(table(model, 'shop', 'addresses').columns).toEqual([
      { kind: 'column', name: 'street', type: 'text', nullable: false },
      { kind: 'column', name: 'city', type: 'text', nullable: true },
    ]);
    const expected = [{ object: 'shop.addresses', feature: 'typed table (OF shop.address), read as a plain table' }];
    if (db.major >= 18)
      expected.push({ object: 'shop.products: products_price_sane', feature: 'NOT ENFORCED constraint' });
    expect(unsupported).toEqual(expected);
    if (db.major >= 18) {
      expect(table(model, 'shop', 'products').checks.map((c) => c.name)).toEqual(['products_price_sane']);
    }
  });

  it('gives a deep-equal model every time, on any connection', async () => {
    expect(await introspect(client)).toEqual(model);
    expect(await introspect(db.client)).toEqual(model);
  });

  it('reads only the schemas asked for (partitions follow their parent)', async () => {
    const only = await introspect(client, { schemas: ['Shop "EU"', 'zdm'] });
    expect(only.schemas).toEqual([schema(model, 'Shop "EU"')]);
    expect(only.dependents).toEqual({ functions: [], triggers: [] });
  });

  it('never reads the zdm schema', () => {
    expect(model.schemas.some((s) => s.name === 'zdm')).toBe(false);
    expect((model.dependencies ?? []).some((d) => / zdm\./.test(d.from) || / zdm\./.test(d.to))).toBe(false);
  });

  it("leaves the caller's session as it was", async () => {
    await client.query(`SET search_path = shop, public`);
    await client.query(`SET TimeZone = 'America/New_York'`);
    await introspect(client);
    const rows = await client.query<{ sp: string; tz: string; iso: string }>(
      `SELECT pg_catalog.current_setting('search_path') AS sp, pg_catalog.current_setting('TimeZone') AS tz,
              pg_catalog.current_setting('transaction_isolation') AS iso`,
    );
    expect(rows.rows[0]).toEqual({ sp: 'shop, public', tz: 'America/New_York', iso: 'read committed' });
    await client.query('RESET search_path; RESET TimeZone');
  });

  it("reads inside the caller's transaction with inTransaction, and leaves its settings alone", async () => {
    const c = await db.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL search_path = shop');
      await c.query('CREATE TABLE shop.scratch (x int)');
      const m = await introspect(c, { schemas: ['shop'], inTransaction: true });
      expect(schema(m, 'shop').tables.map((t) => t.name)).toContain('scratch');
      const sp = await c.query<{ sp: string }>(`SELECT pg_catalog.current_setting('search_path') AS sp`);
      expect(sp.rows[0]!.sp).toBe('shop');
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
  });

  it("refuses to run in the caller's open transaction without inTransaction, and leaves it open", async () => {
    const c = await db.connect();
    try {
      await c.query('BEGIN');
      await c.query('CREATE TABLE shop.uncommitted (x int)');
      await expect(introspect(c)).rejects.toThrow(/called inside an open transaction; pass \{ inTransaction: true \}/);
      // Still the caller's transaction: its table is there, and goes away with its rollback.
      const r = await c.query(`SELECT pg_catalog.to_regclass('shop.uncommitted') IS NOT NULL AS there`);
      expect(r.rows[0]).toEqual({ there: true });
      await c.query('ROLLBACK');
      const after = await c.query(`SELECT pg_catalog.to_regclass('shop.uncommitted') IS NOT NULL AS there`);
      expect(after.rows[0]).toEqual({ there: false });
    } finally {
      await c.end();
    }
  });

  it('wraps a failing query with what was being read, keeps the cause and rolls back', async () => {
    const seen: string[] = [];
    const failing: Queryable = {
      query: async (text: string, values?: readonly unknown[]) => {
        seen.push(text);
        if (text.includes('pg_catalog.pg_index i')) throw new Error('boom');
        return values ? client.query(text, [...values]) : client.query(text);
      },
    } as Queryable;
    const err = await introspect(failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntrospectionError);
    expect((err as Error).message).toBe('introspecting indexes: boom');
    expect(((err as Error).cause as Error).message).toBe('boom');
    expect(seen.at(-1)).toBe('ROLLBACK');
    const iso = await client.query<{ iso: string }>(
      `SELECT pg_catalog.current_setting('transaction_isolation') AS iso`,
    );
    expect(iso.rows[0]!.iso).toBe('read committed');
  });

  it('is not fooled by a hostile search_path and look-alike catalog objects', async () => {
    // evil comes before pg_catalog: unqualified pg_class, format_type() and even = on oids would be
    // evil's. shop and "Shop ""EU""" on the path would let format_type() drop their qualification.
    await db.exec(`
      CREATE SCHEMA evil;
      CREATE TABLE evil.pg_class (oid oid, relname name, relkind "char", relnamespace oid);
      CREATE FUNCTION evil.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$ SELECT 'hacked'::text $$;
      CREATE FUNCTION evil.pg_get_expr(pg_node_tree, oid) RETURNS text LANGUAGE sql AS $$ SELECT 'hacked'::text $$;
      CREATE FUNCTION evil.oid_eq(oid, oid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
      CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oid_eq);
    `);
    const before = await introspect(client);
    await db.exec(`ALTER DATABASE "${db.name}" SET search_path = evil, pg_catalog, shop, "Shop ""EU""", public`);
    const hostile = await db.connect();
    try {
      const probe = await hostile.query<{ t: string }>('SELECT format_type(23, NULL) AS t');
      expect(probe.rows[0]!.t).toBe('hacked');
      const after = await introspect(hostile);
      expect(after).toEqual(before);
      expect(table(after, 'shop', 'orders').columns[2]!.type).toBe('shop.order_status');
      const sp = await hostile.query<{ sp: string }>(`SELECT pg_catalog.current_setting('search_path') AS sp`);
      expect(sp.rows[0]!.sp).toBe('evil, pg_catalog, shop, "Shop ""EU""", public');
    } finally {
      await hostile.end();
      await db.exec(`ALTER DATABASE "${db.name}" RESET search_path`);
    }
    // Apart from evil itself, the same as before it existed.
    expect({
      ...before,
      schemas: before.schemas.filter((s) => s.name !== 'evil'),
      dependents: { ...before.dependents!, functions: before.dependents!.functions.filter((f) => f.schema !== 'evil') },
      dependencies: before.dependencies!.filter((d) => !d.from.includes(' evil.')),
      liveOwners: Object.fromEntries(
        Object.entries(before.liveOwners!).filter(([k]) => !/^(schema evil$|\S+ evil\.)/.test(k)),
      ),
      unmanaged: model.unmanaged,
    }).toEqual(model);
    expect(before.unmanaged).toEqual({ ...model.unmanaged, operator: 1 });
  });
});
