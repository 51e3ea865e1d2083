/**
 * Small builders for schema models, so that planner cases stay short. Everything defaults to what a
 * plain PostgreSQL object has (schema `public`, nullable columns, btree indexes, valid constraints).
 */
import { emptySchema } from '../../../src/model/objects.js';
import type {
  CheckConstraint,
  Column,
  DatabaseModel,
  Domain,
  EnumType,
  ExclusionConstraint,
  Extension,
  ForeignKey,
  Index,
  IndexKey,
  MaterializedView,
  Partition,
  PartitionBound,
  PrimaryKey,
  SchemaModel,
  Sequence,
  Table,
  UniqueConstraint,
  View,
} from '../../../src/model/types.js';

export function db(
  schemas: readonly SchemaModel[] = [schema('public')],
  extensions: readonly Extension[] = [],
): DatabaseModel {
  return { kind: 'database', extensions, schemas };
}

export function schema(
  name: string,
  parts: Partial<
    Pick<
      SchemaModel,
      'enums' | 'domains' | 'compositeTypes' | 'sequences' | 'tables' | 'views' | 'materializedViews' | 'comment'
    >
  > = {},
): SchemaModel {
  return { ...emptySchema(name), ...parts };
}

/** A database with one schema `public` holding these tables. */
export function tables(...ts: readonly Table[]): DatabaseModel {
  return db([schema('public', { tables: ts })]);
}

export function col(name: string, type: string, opts: Partial<Omit<Column, 'kind' | 'name' | 'type'>> = {}): Column {
  return { kind: 'column', name, type, nullable: true, ...opts };
}

export const id = (type = 'bigint'): Column => col('id', type, { nullable: false });

export function table(
  name: string,
  columns: readonly Column[],
  parts: Partial<Omit<Table, 'kind' | 'name'>> = {},
): Table {
  return {
    kind: 'table',
    schema: 'public',
    name,
    unlogged: false,
    columns,
    uniqueConstraints: [],
    checks: [],
    foreignKeys: [],
    exclusionConstraints: [],
    indexes: [],
    partitions: [],
    ...parts,
  };
}

export function pk(columns: readonly string[], name = 'pk'): PrimaryKey {
  return { kind: 'primaryKey', name, columns, include: [], deferrable: false, initiallyDeferred: false };
}

export function unique(
  name: string,
  columns: readonly string[],
  opts: Partial<UniqueConstraint> = {},
): UniqueConstraint {
  return {
    kind: 'unique',
    name,
    columns,
    include: [],
    nullsNotDistinct: false,
    deferrable: false,
    initiallyDeferred: false,
    ...opts,
  };
}

export function check(name: string, expression: string, opts: Partial<CheckConstraint> = {}): CheckConstraint {
  return { kind: 'check', name, expression, noInherit: false, valid: true, ...opts };
}

export function fk(
  name: string,
  columns: readonly string[],
  refTable: string,
  refColumns: readonly string[] = ['id'],
  opts: Partial<ForeignKey> = {},
): ForeignKey {
  return {
    kind: 'foreignKey',
    name,
    columns,
    references: { schema: 'public', table: refTable, columns: refColumns },
    onUpdate: 'no action',
    onDelete: 'no action',
    match: 'simple',
    deferrable: false,
    initiallyDeferred: false,
    valid: true,
    ...opts,
  };
}

/** Keys: `'col'`, `'col desc'`, or a full IndexKey. */
export function index(name: string, keys: readonly (string | IndexKey)[], opts: Partial<Index> = {}): Index {
  return {
    kind: 'index',
    name,
    unique: false,
    method: 'btree',
    keys: keys.map((k) => {
      if (typeof k !== 'string') return k;
      const [column, dir] = k.split(' ');
      return { column: column!, descending: dir === 'desc' };
    }),
    include: [],
    nullsNotDistinct: false,
    valid: true,
    ...opts,
  };
}

export function exclusion(name: string, opts: Partial<ExclusionConstraint> = {}): ExclusionConstraint {
  return {
    kind: 'exclusion',
    name,
    method: 'gist',
    elements: [{ key: { column: 'during', descending: false }, operator: '&&' }],
    include: [],
    deferrable: false,
    initiallyDeferred: false,
    ...opts,
  };
}

export function partition(
  name: string,
  bound: PartitionBound,
  parts: Partial<Omit<Partition, 'kind' | 'name' | 'bound'>> = {},
): Partition {
  return {
    kind: 'partition',
    schema: 'public',
    name,
    bound,
    uniqueConstraints: [],
    checks: [],
    foreignKeys: [],
    exclusionConstraints: [],
    indexes: [],
    partitions: [],
    ...parts,
  };
}

export const range = (from: string, to: string): PartitionBound => ({ kind: 'range', from: [from], to: [to] });

export function enumType(name: string, values: readonly string[], opts: Partial<EnumType> = {}): EnumType {
  return { kind: 'enum', schema: 'public', name, values, ...opts };
}

export function domain(name: string, type: string, opts: Partial<Domain> = {}): Domain {
  return { kind: 'domain', schema: 'public', name, type, nullable: true, checks: [], ...opts };
}

export function sequence(name: string, opts: Partial<Sequence> = {}): Sequence {
  return {
    kind: 'sequence',
    schema: 'public',
    name,
    type: 'bigint',
    start: '1',
    increment: '1',
    minValue: '1',
    maxValue: '9223372036854775807',
    cache: '1',
    cycle: false,
    ...opts,
  };
}

/** The model with table `name` of schema `public` replaced by `fn(table)`. */
export function withTable(m: DatabaseModel, name: string, fn: (t: Table) => Table): DatabaseModel {
  return {
    ...m,
    schemas: m.schemas.map((s) =>
      s.name === 'public' ? { ...s, tables: s.tables.map((t) => (t.name === name ? fn(t) : t)) } : s,
    ),
  };
}

/** The usual `orders` / `customers` pair of the seed scenarios. */
export const customers = table('customers', [id('uuid'), col('name', 'text')], {
  primaryKey: pk(['id'], 'customers_pkey'),
});
export const orders = table(
  'orders',
  [
    id('uuid'),
    col('customer_id', 'uuid', { nullable: false }),
    col('amount', 'numeric(10,2)', { nullable: false }),
    col('status', 'character varying(20)', { nullable: false }),
    col('created_at', 'timestamp with time zone', { nullable: false }),
  ],
  { primaryKey: pk(['id'], 'orders_pkey') },
);
export const users = table('users', [id(), col('name', 'text')], { primaryKey: pk(['id'], 'users_pkey') });

/** A view; `columns` as `name type` pairs (`['id bigint', 'name text']`), the types a server would read. */
export function view(name: string, definition: string, columns: readonly string[], opts: Partial<View> = {}): View {
  return {
    kind: 'view',
    schema: 'public',
    name,
    definition,
    columns: columns.map((c) => {
      const [n, ...type] = c.split(' ');
      return { name: n!, type: type.join(' ') };
    }),
    securityBarrier: false,
    securityInvoker: false,
    ...opts,
  };
}

export function materializedView(
  name: string,
  definition: string,
  columns: readonly string[],
  opts: Partial<MaterializedView> = {},
): MaterializedView {
  const v = view(name, definition, columns);
  return {
    kind: 'materializedView',
    schema: 'public',
    name,
    definition,
    columns: v.columns,
    withData: true,
    indexes: [],
    ...opts,
  };
}

/** `m` with these views and materialized views in `public`, and these dependency edges (`from -> to[.column]`). */
export function withViews(
  m: DatabaseModel,
  views: readonly (View | MaterializedView)[],
  edges: readonly string[] = [],
): DatabaseModel {
  return {
    ...m,
    schemas: m.schemas.map((s) =>
      s.name !== 'public'
        ? s
        : {
            ...s,
            views: views.filter((v): v is View => v.kind === 'view'),
            materializedViews: views.filter((v): v is MaterializedView => v.kind === 'materializedView'),
          },
    ),
    dependencies: edges.map((e) => {
      const [from, to] = e.split(' -> ') as [string, string];
      const m2 = /^(\w+ [^ ]+?)(?:#(.+))?$/.exec(to)!;
      return { from, to: m2[1]!, ...(m2[2] ? { column: m2[2] } : {}) };
    }),
  };
}
