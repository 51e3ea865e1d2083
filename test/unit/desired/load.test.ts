import { describe, expect, test } from 'vitest';
import { formatPath, loadDesiredState, locate, parseDesiredState } from '../../../src/desired/index.js';
import { parseKeyString } from '../../../src/desired/index-keys.js';
import type { DatabaseModel, SchemaModel, Table } from '../../../src/model/types.js';

const load = (text: string) => parseDesiredState(text, 'schema.yaml').model;

const schemaOf = (m: DatabaseModel, name = 'public'): SchemaModel => {
  const s = m.schemas.find((x) => x.name === name);
  if (!s) throw new Error(`no schema ${name}`);
  return s;
};

const tableOf = (m: DatabaseModel, name: string, schema = 'public'): Table => {
  const t = schemaOf(m, schema).tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
};

/** One table `t` in `public` with the given lines under it. */
const doc = (...lines: string[]) =>
  ['version: 1', 'schemas:', '  public:', '    tables:', '      t:', ...lines.map((l) => `        ${l}`), ''].join(
    '\n',
  );

describe('the example desired state', () => {
  test('loads into the model it describes', async () => {
    const { model } = await loadDesiredState('test/fixtures/desired/design/schema.yaml');
    expect(model.extensions).toEqual([{ kind: 'extension', name: 'pgcrypto' }]);
    expect(schemaOf(model).enums).toEqual([
      { kind: 'enum', schema: 'public', name: 'order_status', values: ['pending', 'active', 'shipped'] },
    ]);
    const users = tableOf(model, 'users');
    expect(users.columns).toEqual([
      { kind: 'column', name: 'id', type: 'bigint', nullable: false, identity: 'always' },
      { kind: 'column', name: 'display_name', type: 'character varying(200)', nullable: false, renamedFrom: 'name' },
      { kind: 'column', name: 'verified_at', type: 'timestamp with time zone', nullable: true, default: 'now()' },
    ]);
    const orders = tableOf(model, 'orders');
    expect(orders.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'uuid'],
      ['customer_id', 'uuid'],
      // `numeric(10,2)` unquoted in a flow map: YAML splits it at the comma, the loader joins it back.
      ['amount', 'numeric(10,2)'],
      ['status', 'character varying(20)'],
      ['created_at', 'timestamp with time zone'],
    ]);
    expect(orders.primaryKey).toEqual({
      kind: 'primaryKey',
      name: 'orders_pkey',
      columns: ['id', 'created_at'],
      include: [],
      deferrable: false,
      initiallyDeferred: false,
    });
    expect(orders.checks).toEqual([
      { kind: 'check', name: 'chk_orders_amount_positive', expression: 'amount > 0', noInherit: false, valid: true },
    ]);
    expect(orders.foreignKeys).toEqual([
      {
        kind: 'foreignKey',
        name: 'fk_orders_customer',
        columns: ['customer_id'],
        references: { schema: 'public', table: 'customers', columns: ['id'] },
        onUpdate: 'no action',
        onDelete: 'restrict',
        match: 'simple',
        valid: true,
        deferrable: false,
        initiallyDeferred: false,
      },
    ]);
    expect(orders.indexes).toEqual([
      {
        kind: 'index',
        name: 'idx_orders_active_recent',
        unique: false,
        method: 'btree',
        keys: [
          { column: 'customer_id', descending: false },
          { column: 'created_at', descending: true },
        ],
        include: [],
        where: "status = 'active'",
        nullsNotDistinct: false,
        valid: true,
      },
    ]);
    expect(orders.partitionBy).toEqual({ strategy: 'range', columns: ['created_at'] });
    expect(orders.partitions.map((p) => [p.schema, p.name, p.bound])).toEqual([
      ['public', 'orders_p2024q4', { kind: 'range', from: ['2024-10-01'], to: ['2025-01-01'] }],
      ['public', 'orders_default', { kind: 'default' }],
    ]);
  });
});

describe('mapping to the model', () => {
  test('nullable defaults to true, except for primary key and identity columns', () => {
    const t = tableOf(
      load(
        doc(
          'columns:',
          '  a: { type: int }',
          '  b: { type: int, nullable: false }',
          '  c: { type: int }',
          '  d: { type: int, identity: by default }',
          'primaryKey: { columns: [c] }',
        ),
      ),
      't',
    );
    expect(t.columns.map((c) => [c.name, c.nullable])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
      ['d', false],
    ]);
  });

  test('YAML numbers and booleans in SQL text are kept as written', () => {
    const t = tableOf(
      load(
        doc(
          'columns:',
          '  a: { type: int, default: 0 }',
          '  b: { type: boolean, default: true }',
          '  c: { type: numeric, default: 1.50 }',
          '  d: { type: bigint, default: 9223372036854775807 }',
          '  e: { type: int, default: 0x1F }',
          'checks:',
          '  c1: { expression: true }',
          'indexes:',
          '  i: { columns: [a], with: { fillfactor: 70, fastupdate: off, deduplicate_items: false } }',
        ),
      ),
      't',
    );
    expect(t.columns.map((c) => c.default)).toEqual(['0', 'true', '1.50', '9223372036854775807', '0x1F']);
    expect(t.checks[0]!.expression).toBe('true');
    expect(t.indexes[0]!.with).toEqual({ deduplicate_items: 'false', fastupdate: 'off', fillfactor: '70' });
  });

  test('SQL with commas inside a flow map does not need quotes', () => {
    const t = tableOf(
      load(
        doc(
          'columns:',
          '  a: { type: numeric(10, 2), default: coalesce(1, 2, 3) }',
          '  b: { type: int, generated: greatest(a, 0) }',
          'indexes:',
          '  i: { columns: [{ expression: coalesce(a, b) }, b] }',
          'partitionBy: { strategy: range, columns: [(coalesce(a, 0)), b] }',
        ),
      ),
      't',
    );
    expect(t.columns[0]).toMatchObject({ type: 'numeric(10,2)', default: 'coalesce(1, 2, 3)' });
    expect(t.columns[1]!.generated).toEqual({ expression: 'greatest(a, 0)', stored: true });
    expect(t.indexes[0]!.keys[0]).toEqual({ expression: 'coalesce(a, b)', descending: false });
    expect(t.partitionBy!.columns).toEqual(['(coalesce(a, 0))', 'b']);
  });

  test('types: aliases, arrays, enums and domains of the same schema', () => {
    const m = load(
      [
        'version: 1',
        'schemas:',
        '  public:',
        '    enums:',
        '      order_status: [a, b]',
        '      text: [x]',
        '      Mood: [happy]',
        '    domains:',
        '      positive: { type: int4, checks: { positive_check: { expression: VALUE > 0 } } }',
        '      statuses: { type: "order_status[]" }',
        '    tables:',
        '      t:',
        '        columns:',
        '          a: { type: order_status }',
        '          b: { type: "order_status[]" }',
        '          c: { type: public.order_status }',
        '          d: { type: text }',
        '          e: { type: \'"Mood"\' }',
        '          f: { type: positive }',
        '          g: { type: other.thing }',
        '          h: { type: INT8 }',
        '          i: { type: "varchar(20)[]" }',
        '          j: { type: citext }',
        '',
      ].join('\n'),
    );
    expect(tableOf(m, 't').columns.map((c) => c.type)).toEqual([
      'public.order_status',
      'public.order_status[]',
      'public.order_status',
      'text',
      'public."Mood"',
      'public.positive',
      'other.thing',
      'bigint',
      'character varying(20)[]',
      'citext',
    ]);
    expect(schemaOf(m).domains).toEqual([
      {
        kind: 'domain',
        schema: 'public',
        name: 'positive',
        type: 'integer',
        nullable: true,
        checks: [{ name: 'positive_check', expression: 'VALUE > 0' }],
      },
      { kind: 'domain', schema: 'public', name: 'statuses', type: 'public.order_status[]', nullable: true, checks: [] },
    ]);
  });

  test('sequences: PostgreSQL defaults for the type and direction, 64-bit values exact', () => {
    const m = load(
      [
        'version: 1',
        'schemas:',
        '  public:',
        '    sequences:',
        '      plain: {}',
        '      down: { increment: -1 }',
        '      small: { type: int2, increment: "-5", cache: 10, cycle: true }',
        '      big: { minValue: 100, maxValue: 9223372036854775806, start: "9223372036854775000" }',
        '      owned: { type: int, ownedBy: t.id }',
        '      owned2: { ownedBy: { table: t, column: id } }',
        '    tables:',
        '      t:',
        '        columns:',
        '          id: { type: int }',
        '',
      ].join('\n'),
    );
    const seq = (name: string) => schemaOf(m).sequences.find((s) => s.name === name)!;
    const numbers = (name: string) => {
      const s = seq(name);
      return [s.type, s.start, s.increment, s.minValue, s.maxValue, s.cache, s.cycle];
    };
    expect(numbers('plain')).toEqual(['bigint', '1', '1', '1', '9223372036854775807', '1', false]);
    expect(numbers('down')).toEqual(['bigint', '-1', '-1', '-9223372036854775808', '-1', '1', false]);
    expect(numbers('small')).toEqual(['smallint', '-1', '-5', '-32768', '-1', '10', true]);
    expect(numbers('big')).toEqual(['bigint', '9223372036854775000', '1', '100', '9223372036854775806', '1', false]);
    expect(seq('owned').type).toBe('integer');
    expect(seq('owned').ownedBy).toEqual({ schema: 'public', table: 't', column: 'id' });
    expect(seq('owned2').ownedBy).toEqual({ schema: 'public', table: 't', column: 'id' });
  });

  test('constraints: defaults, NOT VALID, timing, references in the referencing schema', () => {
    const m = load(
      [
        'version: 1',
        'schemas:',
        '  sales:',
        '    tables:',
        '      customers:',
        '        columns: { id: { type: bigint } }',
        '        uniqueConstraints: { customers_id_key: { columns: [id] } }',
        '      orders:',
        '        columns: { customer_id: { type: bigint } }',
        '        checks: { chk: { expression: customer_id > 0, notValid: true, noInherit: true } }',
        '        foreignKeys:',
        '          fk: { columns: [customer_id], references: { table: customers, columns: [id] }, deferrable: true,',
        '                initiallyDeferred: true, notValid: true, match: full, onUpdate: set null }',
        '',
      ].join('\n'),
    );
    const orders = tableOf(m, 'orders', 'sales');
    expect(orders.checks[0]).toEqual({
      kind: 'check',
      name: 'chk',
      expression: 'customer_id > 0',
      noInherit: true,
      valid: false,
    });
    expect(orders.foreignKeys[0]).toEqual({
      kind: 'foreignKey',
      name: 'fk',
      columns: ['customer_id'],
      references: { schema: 'sales', table: 'customers', columns: ['id'] },
      onUpdate: 'set null',
      onDelete: 'no action',
      match: 'full',
      valid: false,
      deferrable: true,
      initiallyDeferred: true,
    });
  });

  test('indexes and exclusion constraints: key strings, key objects, defaults', () => {
    const t = tableOf(
      load(
        doc(
          'columns: { a: { type: text }, b: { type: tstzrange }, first name: { type: text } }',
          'indexes:',
          "  i1: { columns: [a DESC NULLS LAST, first name, b nulls first], using: GiST, include: [b], where: a <> '' }",
          '  i2: { columns: [{ expression: lower(a), collation: C, opclass: text_pattern_ops, order: desc, nulls: first }] }',
          '  i3: { columns: [a], unique: true, nullsNotDistinct: true, comment: uniq }',
          'exclusionConstraints:',
          "  x: { using: gist, elements: [{ column: a, with: '=' }, { expression: b, with: '&&', nulls: last }] }",
        ),
      ),
      't',
    );
    expect(t.indexes).toEqual([
      {
        kind: 'index',
        name: 'i1',
        unique: false,
        method: 'gist',
        keys: [
          { column: 'a', descending: true, nullsFirst: false },
          { column: 'first name', descending: false },
          { column: 'b', descending: false, nullsFirst: true },
        ],
        include: ['b'],
        where: "a <> ''",
        nullsNotDistinct: false,
        valid: true,
      },
      {
        kind: 'index',
        name: 'i2',
        unique: false,
        method: 'btree',
        keys: [{ expression: 'lower(a)', collation: 'C', opclass: 'text_pattern_ops', descending: true }],
        include: [],
        nullsNotDistinct: false,
        valid: true,
      },
      {
        kind: 'index',
        name: 'i3',
        unique: true,
        method: 'btree',
        keys: [{ column: 'a', descending: false }],
        include: [],
        nullsNotDistinct: true,
        valid: true,
        comment: 'uniq',
      },
    ]);
    expect(t.exclusionConstraints).toEqual([
      {
        kind: 'exclusion',
        name: 'x',
        method: 'gist',
        elements: [
          { key: { column: 'a', descending: false }, operator: '=' },
          { key: { expression: 'b', descending: false }, operator: '&&' },
        ],
        include: [],
        deferrable: false,
        initiallyDeferred: false,
      },
    ]);
  });

  test('partitions: every bound kind, sub-partitions, another schema, MINVALUE', () => {
    const m = load(
      [
        'version: 1',
        'schemas:',
        '  archive: {}',
        '  public:',
        '    tables:',
        '      t:',
        '        columns: { id: { type: int }, region: { type: text }, "Mixed Case": { type: int } }',
        '        partitionBy: { strategy: range, columns: [id] }',
        '        partitions:',
        '          t_low: { from: [minvalue], to: [100], schema: archive, comment: old }',
        '          t_mid:',
        "            from: ['100']",
        '            to: [200]',
        '            partitionBy: { strategy: list, columns: [region] }',
        '            partitions:',
        '              t_mid_eu: { in: [de, fr] }',
        '              t_mid_rest:',
        '                default: true',
        '                partitionBy: { strategy: hash, columns: [Mixed Case] }',
        '                partitions:',
        '                  t_h0: { modulus: 2, remainder: 0 }',
        '                  t_h1: { modulus: 2, remainder: 1 }',
        '          t_high: { from: [200], to: [MaxValue] }',
        '',
      ].join('\n'),
    );
    const t = tableOf(m, 't');
    expect(t.partitions.map((p) => [p.schema, p.name, p.bound])).toEqual([
      ['archive', 't_low', { kind: 'range', from: ['MINVALUE'], to: ['100'] }],
      ['public', 't_mid', { kind: 'range', from: ['100'], to: ['200'] }],
      ['public', 't_high', { kind: 'range', from: ['200'], to: ['MAXVALUE'] }],
    ]);
    expect(t.partitions[0]!.comment).toBe('old');
    const mid = t.partitions[1]!;
    expect(mid.partitionBy).toEqual({ strategy: 'list', columns: ['region'] });
    expect(mid.partitions.map((p) => [p.name, p.bound])).toEqual([
      ['t_mid_eu', { kind: 'list', values: ['de', 'fr'] }],
      ['t_mid_rest', { kind: 'default' }],
    ]);
    const rest = mid.partitions[1]!;
    // A key column is its name, as introspection reads it, even when SQL needs quotes for it.
    expect(rest.partitionBy).toEqual({ strategy: 'hash', columns: ['Mixed Case'] });
    expect(rest.partitions.map((p) => p.bound)).toEqual([
      { kind: 'hash', modulus: 2, remainder: 0 },
      { kind: 'hash', modulus: 2, remainder: 1 },
    ]);
  });

  test('named objects keep the order of the YAML maps, integer-like names included', () => {
    const t = tableOf(load(doc('columns:', '  b: { type: int }', '  "2": { type: int }', '  "1": { type: int }')), 't');
    expect(t.columns.map((c) => c.name)).toEqual(['b', '2', '1']);
  });

  test('names are the text written, not what YAML makes of it', () => {
    const t = tableOf(
      load(
        doc(
          'columns:',
          '  1e3: { type: int }',
          '  null: { type: int }',
          '  yes: { type: int }',
          '  0x1F: { type: int }',
        ),
      ),
      't',
    );
    expect(t.columns.map((c) => c.name)).toEqual(['1e3', 'null', 'yes', '0x1F']);
  });

  test('extensions: names or { name, schema }; the public schema is the default', () => {
    const m = load(
      'version: 1\nextensions: [pgcrypto, { name: cube, schema: ext }, { name: hstore, schema: public }]\n',
    );
    expect(m.extensions).toEqual([
      { kind: 'extension', name: 'pgcrypto' },
      { kind: 'extension', name: 'cube', schema: 'ext' },
      { kind: 'extension', name: 'hstore' },
    ]);
  });

  test('anchors and aliases', () => {
    const t = tableOf(
      load(doc('columns:', '  a: &money { type: "numeric(12,2)", nullable: false }', '  b: *money')),
      't',
    );
    expect(t.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['a', 'numeric(12,2)', false],
      ['b', 'numeric(12,2)', false],
    ]);
  });
});

describe('index key strings', () => {
  test.each([
    ['created_at', { column: 'created_at', descending: false }],
    ['created_at desc', { column: 'created_at', descending: true }],
    ['created_at DESC NULLS FIRST', { column: 'created_at', descending: true }],
    ['created_at desc nulls last', { column: 'created_at', descending: true, nullsFirst: false }],
    ['created_at asc', { column: 'created_at', descending: false }],
    ['created_at asc nulls last', { column: 'created_at', descending: false }],
    ['created_at nulls first', { column: 'created_at', descending: false, nullsFirst: true }],
    ['first name desc', { column: 'first name', descending: true }],
    ['  padded  ', { column: 'padded', descending: false }],
  ])('%j', (text, key) => {
    expect(parseKeyString(text)).toEqual(key);
  });
});

describe('directories and the source map', () => {
  test('files are merged: extensions, schemas, objects; references resolve across files', async () => {
    const { model, sources } = await loadDesiredState('test/fixtures/desired/split');
    expect(model.extensions.map((e) => e.name)).toEqual(['pgcrypto', 'cube']);
    expect(model.schemas.map((s) => s.name)).toEqual(['public', 'sales']);
    expect(schemaOf(model).comment).toBe('merged from a second file');
    expect(tableOf(model, 'users').columns[1]!.type).toBe('public.order_status');
    expect(tableOf(model, 'orders', 'sales').foreignKeys[0]!.references).toEqual({
      schema: 'public',
      table: 'users',
      columns: ['id'],
    });
    expect(sources.get('schemas.public.tables.users.columns.id')).toEqual({
      file: 'test/fixtures/desired/split/public.yaml',
      line: 9,
      column: 11,
    });
    expect(sources.get('schemas.sales.tables.orders.foreignKeys.fk_orders_user')).toEqual({
      file: 'test/fixtures/desired/split/sales.yaml',
      line: 13,
      column: 11,
    });
  });

  test('paths quote names that are not plain identifiers; locate falls back to the enclosing node', () => {
    const path = ['schemas', 'public', 'tables', 'order items', 'columns', 'id'];
    expect(formatPath(path)).toBe('schemas.public.tables["order items"].columns.id');
    expect(formatPath(['extensions', 0])).toBe('extensions[0]');
    const { sources } = parseDesiredState(
      'version: 1\nschemas:\n  public:\n    tables:\n      order items:\n        columns:\n          id: { type: int }\n',
      'x.yaml',
    );
    expect(locate(sources, path)).toEqual({ file: 'x.yaml', line: 7, column: 11 });
    expect(locate(sources, [...path, 'default'])).toEqual({ file: 'x.yaml', line: 7, column: 11 });
  });
});
