/**
 * A model that uses every feature of the model types, with names chosen to trip YAML and SQL
 * quoting. Shared by the round-trip and writer tests.
 */
import { emptySchema as noObjects } from '../../../src/model/objects.js';
import type {
  Column,
  DatabaseModel,
  Index,
  IndexKey,
  Partition,
  PartitionBound,
  RelationParts,
  SchemaModel,
  Table,
} from '../../../src/model/types.js';

export const col = (
  name: string,
  type: string,
  extra: Partial<Omit<Column, 'kind' | 'name' | 'type'>> = {},
): Column => ({
  kind: 'column',
  name,
  type,
  nullable: true,
  ...extra,
});

const noParts: RelationParts = {
  uniqueConstraints: [],
  checks: [],
  foreignKeys: [],
  exclusionConstraints: [],
  indexes: [],
  partitions: [],
};

export const table = (
  schema: string,
  name: string,
  columns: Column[],
  extra: Partial<Omit<Table, 'kind' | 'schema' | 'name' | 'columns'>> = {},
): Table => ({ kind: 'table', schema, name, unlogged: false, columns, ...noParts, ...extra });

export const partition = (
  schema: string,
  name: string,
  bound: PartitionBound,
  extra: Partial<Omit<Partition, 'kind' | 'schema' | 'name' | 'bound'>> = {},
): Partition => ({ kind: 'partition', schema, name, bound, ...noParts, ...extra });

export const key = (column: string, extra: Partial<IndexKey> = {}): IndexKey => ({
  column,
  descending: false,
  ...extra,
});

export const index = (
  name: string,
  keys: IndexKey[],
  extra: Partial<Omit<Index, 'kind' | 'name' | 'keys'>> = {},
): Index => ({
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

export const emptySchema = (name: string, extra: Partial<SchemaModel> = {}): SchemaModel => ({
  ...noObjects(name),
  ...extra,
});

/** 63 bytes exactly: 31 two-byte letters and one ASCII one. */
export const LONGEST_NAME = `${'é'.repeat(31)}x`;

const users = table(
  'public',
  'users',
  [
    col('id', 'bigint', {
      nullable: false,
      identity: 'always',
      identityOptions: { increment: '5', maxValue: '1000000', cache: '20', cycle: true },
      comment: 'surrogate key',
    }),
    col('display_name', 'character varying(200)', { nullable: false, collation: 'C', renamedFrom: 'name' }),
    col('status', 'public.order_status', { default: "'pending'::order_status" }),
    col('statuses', 'public.order_status[]'),
    col('mood', 'public."Mood Ü"'),
    col('answer', 'public.yes', { using: 'answer::text::yes', reverse: 'answer::text' }),
    col('score', 'public.positive_int'),
    col('tags', 'text[]', { default: "'{}'::text[]" }),
    col('created', 'timestamp(3) with time zone', {
      nullable: false,
      default: 'now()',
      notNullName: 'users "created" required',
    }),
    col('created desc', 'timestamp without time zone'),
    col('price', 'numeric(10,2)', { default: '1.50' }),
    col('qty', 'integer', { default: '0' }),
    col('total', 'numeric', { generated: { expression: 'price * (qty)::numeric', stored: true } }),
    col('total_virtual', 'numeric', { generated: { expression: 'price * 2', stored: false } }),
    col('flags', 'bit varying(5)'),
    col('initial', '"char"'),
    col('code', 'character(1)'),
    col('active', 'boolean', { default: 'true' }),
    col('local_time', 'time with time zone'),
    col('names', 'character varying[]'),
    col('ratio', 'double precision', { default: '-5' }),
    col('Column "Q" ü', 'interval'),
    col('yes', 'text', { default: "'yes'::text" }),
    col('1e3', 'integer'),
    col('note', 'text', {
      comment: 'free text: with # and - and "quotes"\nand a second line',
      storage: 'external',
      compression: 'pglz',
    }),
    col('during', 'tstzrange'),
    col('room', 'integer', { options: { n_distinct: '-0.02', n_distinct_inherited: '50' }, statistics: 1000 }),
  ],
  {
    comment: 'people',
    renamedFrom: 'accounts',
    with: { fillfactor: '80', autovacuum_enabled: 'off', 'toast.autovacuum_enabled': 'false' },
    rowLevelSecurity: true,
    forceRowLevelSecurity: true,
    replicaIdentity: { kind: 'full' },
    clusterOn: 'users_code_key',
    policies: [
      { name: 'everyone', using: 'true' },
      {
        name: 'own rows',
        restrictive: true,
        command: 'update',
        roles: ['App Reader', 'app_writer'],
        using: '(display_name = CURRENT_USER)',
        withCheck: "(note <> 'x: y')",
        comment: 'only their own',
      },
    ],
    primaryKey: {
      kind: 'primaryKey',
      name: 'users_pk_custom',
      columns: ['id'],
      include: ['display_name'],
      deferrable: false,
      initiallyDeferred: false,
      comment: 'the key: with "quotes"',
    },
    uniqueConstraints: [
      {
        kind: 'unique',
        name: 'users_display_name_key',
        columns: ['display_name', 'code'],
        include: ['qty'],
        nullsNotDistinct: true,
        deferrable: true,
        initiallyDeferred: true,
      },
      {
        kind: 'unique',
        name: 'users_code_key',
        columns: ['code'],
        include: [],
        nullsNotDistinct: false,
        deferrable: false,
        initiallyDeferred: false,
        comment: 'one per code',
      },
    ],
    checks: [
      { kind: 'check', name: 'chk_price', expression: 'price >= (0)::numeric', noInherit: true, valid: false },
      {
        kind: 'check',
        name: 'chk_qty',
        expression: '(qty < 1000)',
        noInherit: false,
        valid: true,
        comment: 'fits the label printer',
      },
      { kind: 'check', name: 'chk_true', expression: 'true', noInherit: false, valid: true },
    ],
    exclusionConstraints: [
      {
        kind: 'exclusion',
        name: 'users_no_overlap',
        method: 'gist',
        elements: [
          { key: key('room'), operator: '=' },
          {
            key: {
              expression: 'tstzrange(created, created)',
              descending: true,
              nullsFirst: false,
              opclass: 'range_ops',
            },
            operator: '&&',
          },
          { key: key('display_name', { collation: 'C' }), operator: 'public.===' },
        ],
        include: ['note'],
        where: "(status <> 'shipped'::order_status)",
        comment: 'no double booking',
        deferrable: true,
        initiallyDeferred: false,
      },
      {
        kind: 'exclusion',
        name: 'users_btree_excl',
        method: 'btree',
        elements: [{ key: key('qty'), operator: '=' }],
        include: [],
        deferrable: false,
        initiallyDeferred: false,
      },
    ],
    indexes: [
      index('idx_users_lower_name', [{ expression: 'lower((display_name)::text)', descending: false }], {
        unique: true,
        nullsNotDistinct: true,
        include: ['tags'],
        where: "status = 'active'::order_status",
        with: { deduplicate_items: 'off', fillfactor: '70' },
        comment: 'case-insensitive lookup',
      }),
      index('idx_users_created', [
        key('created', { descending: true, nullsFirst: false }),
        key('display_name', { nullsFirst: true, collation: 'C', opclass: 'text_pattern_ops' }),
        key('qty', { descending: true }),
        key('price', { nullsFirst: true }),
      ]),
      index('idx_users_tags', [key('tags')], { method: 'gin', valid: false }),
      index('idx_users_awkward', [key('created desc'), key('Column "Q" ü', { descending: true }), key('1e3')]),
      index('idx_users_hash', [key('yes')], { method: 'hash', with: { fillfactor: 'true' } }),
    ],
  },
);

const legacy = table(
  'public',
  'legacy',
  [col('id', 'integer', { nullable: false, default: "nextval('legacy_id_seq'::regclass)" }), col(LONGEST_NAME, 'text')],
  {
    primaryKey: {
      kind: 'primaryKey',
      name: 'legacy_pkey',
      columns: ['id'],
      include: [],
      deferrable: false,
      initiallyDeferred: false,
    },
  },
);

const orders = table(
  'public',
  'orders',
  [
    col('id', 'uuid', { nullable: false }),
    col('created_at', 'timestamp with time zone', { nullable: false }),
    col('user_id', 'bigint', { nullable: false }),
    col('legacy_id', 'integer'),
    col('region', 'text'),
  ],
  {
    primaryKey: {
      kind: 'primaryKey',
      name: 'orders_pkey',
      columns: ['id', 'created_at'],
      include: [],
      deferrable: false,
      initiallyDeferred: false,
    },
    foreignKeys: [
      {
        kind: 'foreignKey',
        name: 'fk_orders_user',
        comment: 'who ordered',
        columns: ['user_id'],
        references: { schema: 'public', table: 'users', columns: ['id'] },
        onUpdate: 'set null',
        onDelete: 'cascade',
        match: 'full',
        valid: false,
        deferrable: true,
        initiallyDeferred: true,
      },
      {
        kind: 'foreignKey',
        name: 'fk_orders_legacy',
        columns: ['legacy_id'],
        references: { schema: 'public', table: 'legacy', columns: ['id'] },
        onUpdate: 'no action',
        onDelete: 'set default',
        match: 'simple',
        valid: true,
        deferrable: false,
        initiallyDeferred: false,
      },
    ],
    indexes: [index('idx_orders_user', [key('user_id'), key('created_at', { descending: true })])],
    partitionBy: { strategy: 'range', columns: ['created_at'] },
    partitions: [
      partition(
        'public',
        'orders_2024',
        { kind: 'range', from: ['2024-01-01 00:00:00+00'], to: ['2025-01-01 00:00:00+00'] },
        {
          comment: 'last year',
          with: { fillfactor: '90' },
          rowLevelSecurity: true,
          replicaIdentity: { kind: 'nothing' },
          checks: [
            { kind: 'check', name: 'chk_2024_region', expression: 'region IS NOT NULL', noInherit: false, valid: true },
          ],
          indexes: [index('idx_orders_2024_region', [key('region')])],
          partitionBy: { strategy: 'range', columns: ['created_at'] },
          partitions: [
            partition(
              'public',
              'orders_2024_h1',
              { kind: 'range', from: ['2024-01-01 00:00:00+00'], to: ['2024-07-01 00:00:00+00'] },
              {
                notNullNames: { created_at: 'orders_2024_h1_created_at_not_null' },
                foreignKeys: [
                  {
                    kind: 'foreignKey',
                    name: 'fk_orders_2024_h1_legacy',
                    columns: ['legacy_id'],
                    references: { schema: 'public', table: 'legacy', columns: ['id'] },
                    onUpdate: 'restrict',
                    onDelete: 'no action',
                    match: 'partial',
                    valid: true,
                    deferrable: false,
                    initiallyDeferred: false,
                  },
                ],
              },
            ),
            partition('public', 'orders_2024_rest', { kind: 'default' }),
          ],
        },
      ),
      partition(
        'archive',
        'orders_old',
        { kind: 'range', from: ['MINVALUE'], to: ['2024-01-01 00:00:00+00'] },
        {
          comment: 'in another schema',
        },
      ),
      partition('public', 'orders_future', { kind: 'range', from: ['2025-01-01 00:00:00+00'], to: ['MAXVALUE'] }),
      partition(
        'public',
        'orders_default',
        { kind: 'default' },
        {
          uniqueConstraints: [
            {
              kind: 'unique',
              name: 'orders_default_region_key',
              columns: ['id', 'region'],
              include: [],
              nullsNotDistinct: false,
              deferrable: false,
              initiallyDeferred: false,
            },
          ],
        },
      ),
    ],
  },
);

const events = table(
  'public',
  'events',
  [
    col('id', 'bigint', {
      nullable: false,
      identity: 'by default',
      identityOptions: { start: '-100', increment: '-1' },
    }),
    col('payload', 'jsonb'),
  ],
  {
    unlogged: true,
    partitionBy: { strategy: 'hash', columns: ['(id % (10)::bigint)'] },
    partitions: [
      partition(
        'public',
        'events_p0',
        { kind: 'hash', modulus: 2, remainder: 0 },
        {
          replicaIdentity: { kind: 'index', index: 'events_p0_pkey' },
          primaryKey: {
            kind: 'primaryKey',
            name: 'events_p0_pkey',
            columns: ['id'],
            include: [],
            deferrable: false,
            initiallyDeferred: false,
          },
          exclusionConstraints: [
            {
              kind: 'exclusion',
              name: 'events_p0_excl',
              method: 'gist',
              elements: [{ key: { expression: "(payload ->> 'k'::text)", descending: false }, operator: '=' }],
              include: [],
              deferrable: false,
              initiallyDeferred: false,
            },
          ],
        },
      ),
      partition('public', 'events_p1', { kind: 'hash', modulus: 2, remainder: 1 }),
    ],
  },
);

const weird = table(
  'public',
  'Weird "Table" ü',
  [col('Region Name', 'text', { nullable: false }), col('v', 'integer')],
  {
    unlogged: true,
    comment: '#not a comment',
    partitionBy: { strategy: 'list', columns: ['Region Name'] },
    partitions: [partition('public', 'Weird part', { kind: 'list', values: ['x', '1', 'yes', 'null', 'NULL'] })],
  },
);

const yamlSpecial = ['null', '1e3', '- x', '#x', 'on', 'true', '~', 'a: b'].map((name) =>
  table('public', name, [col(name, 'text', { nullable: false })], {
    primaryKey: {
      kind: 'primaryKey',
      name: `${name}_pkey`,
      columns: [name],
      include: [],
      deferrable: false,
      initiallyDeferred: false,
    },
  }),
);

export const FULL_MODEL: DatabaseModel = {
  kind: 'database',
  extensions: [
    { kind: 'extension', name: 'pgcrypto' },
    { kind: 'extension', name: 'cube', schema: 'ext', version: '1.5' },
  ],
  schemas: [
    {
      kind: 'schema',
      name: 'public',
      comment: 'standard public schema',
      enums: [
        {
          kind: 'enum',
          schema: 'public',
          name: 'order_status',
          values: ['pending', 'active', 'shipped'],
          comment: 'lifecycle',
        },
        {
          kind: 'enum',
          schema: 'public',
          name: 'yes',
          values: ['yes', 'no', 'null', '~', '1e3', '- x', '#x', 'true', '0777', 'a: b', "it's", 'ünï', ' padded '],
        },
        { kind: 'enum', schema: 'public', name: 'Mood Ü', values: [] },
      ],
      compositeTypes: [
        {
          kind: 'compositeType',
          schema: 'public',
          name: 'point2',
          // Not in name order: the type's order is kept.
          attributes: [
            { name: 'y', type: 'double precision', comment: 'north' },
            { name: 'x', type: 'double precision' },
            { name: 'label', type: 'text', collation: 'C' },
            { name: 'status', type: 'public.order_status' },
          ],
          comment: 'a point',
        },
      ],
      domains: [
        {
          kind: 'domain',
          schema: 'public',
          name: 'positive_int',
          type: 'integer',
          nullable: false,
          default: '1',
          checks: [
            { name: 'positive_int_check', expression: 'VALUE > 0' },
            { name: 'a_small', expression: '(VALUE < 1000000)', comment: 'below a million' },
          ],
          comment: 'strictly positive',
        },
        { kind: 'domain', schema: 'public', name: 'email', type: 'text', nullable: true, collation: 'C', checks: [] },
        {
          kind: 'domain',
          schema: 'public',
          name: 'status_d',
          type: 'public.order_status[]',
          nullable: true,
          checks: [],
        },
      ],
      sequences: [
        {
          kind: 'sequence',
          schema: 'public',
          name: 'legacy_id_seq',
          type: 'integer',
          start: '1',
          increment: '1',
          minValue: '1',
          maxValue: '2147483647',
          cache: '1',
          cycle: false,
          ownedBy: { schema: 'public', table: 'legacy', column: 'id' },
        },
        {
          kind: 'sequence',
          schema: 'public',
          name: 'countdown',
          type: 'bigint',
          start: '-1',
          increment: '-1',
          minValue: '-9223372036854775808',
          maxValue: '-1',
          cache: '20',
          cycle: true,
          comment: 'counts down',
        },
        {
          kind: 'sequence',
          schema: 'public',
          name: 'big',
          type: 'bigint',
          start: '9223372036854775000',
          increment: '5',
          minValue: '100',
          maxValue: '9223372036854775807',
          cache: '1',
          cycle: false,
        },
        {
          kind: 'sequence',
          schema: 'public',
          name: 'small_desc',
          type: 'smallint',
          start: '-10',
          increment: '-2',
          minValue: '-32768',
          maxValue: '-10',
          cache: '1',
          cycle: false,
        },
      ],
      tables: [
        users,
        legacy,
        // INHERITS: its own columns only, an index over an inherited one.
        table('public', 'legacy_archive', [col('archived_at', 'timestamp with time zone')], {
          inherits: ['public.legacy'],
          indexes: [index('legacy_archive_id', [key('id')])],
        }),
        orders,
        events,
        weird,
        ...yamlSpecial,
        table('public', LONGEST_NAME, []),
      ],
      views: [
        {
          kind: 'view',
          schema: 'public',
          name: 'active_users',
          definition: 'SELECT users.id,\n    users.email\n   FROM public.users\n  WHERE (users.id > 0)',
          columns: [{ name: 'email', comment: 'where to write' }],
          securityBarrier: true,
          securityInvoker: false,
          checkOption: 'local',
          comment: 'users that can log in',
        },
        {
          kind: 'view',
          schema: 'public',
          name: 'one',
          definition: 'SELECT 1 AS one',
          columns: [],
          securityBarrier: false,
          securityInvoker: true,
        },
      ],
      materializedViews: [
        {
          kind: 'materializedView',
          schema: 'public',
          name: 'user_counts',
          definition: 'SELECT count(*) AS n\n   FROM public.users',
          columns: [{ name: 'n', comment: 'how many' }],
          withData: false,
          indexes: [index('user_counts_n', [key('n')], { unique: true, comment: 'one row' })],
          with: { fillfactor: '70' },
          comment: 'counted nightly',
        },
      ],
      functions: [
        {
          kind: 'function',
          schema: 'public',
          name: 'gross',
          arguments: [{ name: 'n', type: 'numeric' }],
          returns: 'numeric',
          language: 'sql',
          body: ' SELECT round(n * 1.25, 2) ',
          volatility: 'immutable',
          parallel: 'safe',
          comment: 'net plus VAT',
        },
        {
          kind: 'function',
          schema: 'public',
          name: 'gross',
          arguments: [
            { name: 'n', type: 'numeric' },
            { name: 'rate', type: 'numeric', default: '0.2' },
          ],
          returns: 'numeric',
          language: 'sql',
          body: 'RETURN (n * ((1)::numeric + rate))',
          sqlBody: true,
          volatility: 'immutable',
        },
        {
          kind: 'procedure',
          schema: 'public',
          name: 'reprice',
          arguments: [{ mode: 'inout', name: 'pct', type: 'numeric' }],
          language: 'plpgsql',
          body: '\nBEGIN\n  UPDATE public.users SET id = id;\nEND\n',
          securityDefiner: true,
          set: { search_path: 'public, pg_temp' },
        },
        {
          kind: 'function',
          schema: 'public',
          name: 'touch',
          arguments: [],
          returns: 'trigger',
          language: 'plpgsql',
          body: 'BEGIN RETURN NEW; END',
          cost: 5,
        },
        {
          kind: 'aggregate',
          schema: 'public',
          name: 'median',
          arguments: [{ type: 'integer' }],
          aggregate: { sfunc: 'array_append', stype: 'integer[]', finalfunc: 'public._median', initcond: '{}' },
          language: 'internal',
          body: '',
          parallel: 'safe',
          comment: 'the middle one',
        },
        {
          kind: 'aggregate',
          schema: 'public',
          name: 'total',
          arguments: [],
          aggregate: { sfunc: 'int4pl', stype: 'integer', combinefunc: 'int4pl', finalfuncExtra: true },
          language: 'internal',
          body: '',
        },
      ],
      triggers: [
        {
          kind: 'trigger',
          schema: 'public',
          table: 'users',
          name: 'users_late',
          timing: 'after',
          events: ['insert'],
          forEach: 'row',
          function: 'public.touch',
          constraint: { deferrable: true, initiallyDeferred: true },
        },
        {
          kind: 'trigger',
          schema: 'public',
          table: 'users',
          name: 'users_touch',
          timing: 'before',
          events: ['insert', 'update'],
          columns: ['id'],
          forEach: 'row',
          when: 'new.id > 0',
          function: 'public.touch',
          arguments: ['a', 'b c'],
          enabled: 'replica',
          comment: 'touches',
        },
        {
          kind: 'trigger',
          schema: 'public',
          table: 'users',
          name: 'users_vector',
          timing: 'before',
          events: ['insert'],
          forEach: 'row',
          function: 'tsvector_update_trigger',
          arguments: ['v', 'pg_catalog.english', 'name'],
        },
      ],
    },
    emptySchema('archive'),
    emptySchema('Sales', {
      comment: 'upper-case schema',
      views: [
        {
          kind: 'view',
          schema: 'Sales',
          name: 'Odd/Name.v',
          definition: 'SELECT customers.id\n   FROM "Sales".customers',
          columns: [],
          securityBarrier: false,
          securityInvoker: false,
        },
        {
          kind: 'view',
          schema: 'Sales',
          name: 'odd/name.V',
          definition: 'SELECT 2 AS two',
          columns: [],
          securityBarrier: false,
          securityInvoker: false,
        },
      ],
      tables: [
        table('Sales', 'customers', [col('id', 'bigint', { nullable: false }), col('user_id', 'bigint')], {
          primaryKey: {
            kind: 'primaryKey',
            name: 'customers_pkey',
            columns: ['id'],
            include: [],
            deferrable: false,
            initiallyDeferred: false,
          },
          foreignKeys: [
            {
              kind: 'foreignKey',
              name: 'customers_user_fk',
              columns: ['user_id'],
              references: { schema: 'public', table: 'users', columns: ['id'] },
              onUpdate: 'no action',
              onDelete: 'no action',
              match: 'simple',
              valid: true,
              deferrable: false,
              initiallyDeferred: false,
            },
          ],
        }),
      ],
    }),
  ],
  dependents: {
    functions: [],
    triggers: [],
  },
  server: { version: 'PostgreSQL 18.4', versionNum: 180004 },
};
