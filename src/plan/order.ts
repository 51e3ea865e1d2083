/**
 * The order in which steps are emitted, written down once. Within a phase, steps run group by
 * group in the order below; within a group, in the diff's order (schema, table, object name).
 * Each group says why it sits where it does.
 */
import type { PhaseName } from './types.js';

export const GROUPS = {
  expand: [
    // Containers first: everything below lives in a schema, and an extension may be installed into a new one.
    'schemas',
    // Types, functions and operator classes that columns, defaults and indexes below may use.
    'extensions',
    // Collations: after the extensions (an ICU locale needs none, but a schema may), before the
    // domains, types, columns and indexes that use them (src/plan/techniques/collations.ts).
    'collations',
    // Text search configurations: after the extensions whose parsers and dictionaries they use,
    // before the columns, indexes and views that name them (src/plan/techniques/text-search.ts).
    'textSearch',
    // Enum types and new labels before the domains and columns of that type. Each new label is its
    // own transaction: PostgreSQL refuses to use a label added in the same transaction.
    'enums',
    // After enums (a domain may be over one), before the columns of the domain.
    'domains',
    // Composite types: after the enums and domains an attribute may be of, before the tables and
    // columns of the type (src/plan/techniques/composite-types.ts).
    'compositeTypes',
    // Domains over a composite type: after it, before the columns of the domain.
    'compositeDomains',
    // Before tables and columns whose defaults call nextval(); OWNED BY comes later.
    'sequences',
    // Functions and procedures (new, or replaced with CREATE OR REPLACE) before the tables, columns,
    // checks, defaults and indexes that may call them; their bodies are not checked at creation
    // (check_function_bodies off), so they may name tables created below. Not those with a
    // SQL-standard body that reads tables: 'bodyFunctions'.
    'functions',
    // Casts (CREATE CAST, or DROP and CREATE for a changed one): after the functions and types they
    // use, before the tables, views and SQL-standard bodies that may use them (techniques/casts.ts).
    'casts',
    // New tables with their inline keys, checks, indexes and partitions. Their foreign keys wait for
    // 'foreignKeys', so that new tables may reference each other (or themselves) in any order.
    'tables',
    // UNLOGGED/LOGGED, storage parameters, row level security turned off, replica identity that only
    // adds to what is logged (src/plan/techniques/table-properties.ts says why each goes where).
    'tableOptions',
    // New and altered columns of existing tables, before the indexes and constraints that use them.
    'columns',
    // OWNED BY needs its table and column; it also must move off a column before contract drops it.
    'sequenceOwnership',
    // New partitions of existing partitioned tables: after the parent's columns changed (LIKE copies
    // them), before the parent's new indexes (which must cover every partition to become valid).
    'partitions',
    // CONCURRENTLY builds and repairs, before the constraints that use them: USING INDEX needs its
    // index, and an FK's VALIDATE wants the index on its columns.
    'indexes',
    // ADD CONSTRAINT … USING INDEX, right after its index.
    'keys',
    // Checks added NOT VALID (validated in backfill).
    'checks',
    // After every table, key and index they reference or use.
    'foreignKeys',
    // Exclusion constraints have no online technique; kept apart so they are easy to spot.
    'exclusions',
    // Functions whose result or an argument is a table's or view's row type (RETURNS SETOF
    // public.customer): after the tables, before the views that may call them.
    'rowTypeFunctions',
    // Views and materialized views, created and replaced after every table, column and index they
    // may read, in the order of the desired dependency graph.
    'views',
    // Functions with a SQL-standard body (parsed at creation) that read tables or views, and those
    // whose arguments or result are the row type of a new table.
    'bodyFunctions',
    // Triggers after their tables, views and functions (CREATE [OR REPLACE] TRIGGER: SHARE ROW EXCLUSIVE).
    'triggers',
    // Row level security policies: after the tables, columns and views their expressions may use
    // (src/plan/techniques/policies.ts).
    'policies',
    // Owners (ALTER … OWNER TO): the objects exist by now (src/plan/techniques/owners.ts).
    'owners',
    // Privileges granted: the objects they are on exist by now (src/plan/techniques/grants.ts).
    'grants',
    // Comments last: the objects they are on exist by now.
    'comments',
  ],
  backfill: [
    // --renames views: the renames in place, once the old application version uses its version
    // schema (src/plan/techniques/rename-views.ts; hazard app-compat: the operator's word for it).
    'renameInPlace',
    // Batched data copies before any constraint that checks the copied data.
    'data',
    // Partition swaps: the copy of the live table into its partitioned shadow, then its verification.
    'copyTables',
    // Indexes on the columns filled just above (a rename's or type change's new column) and a
    // partition swap's shadow's non-unique indexes, built CONCURRENTLY once the data is there: built
    // before, every batch would also write an entry in each of them (and no batch update could be
    // HOT). Before the validations below, which may want them.
    'indexes',
    // NOT NULL helper checks of columns that were filled just above: added only now, because a NOT
    // VALID check still applies to every UPDATE, and would fail updates of rows not filled yet.
    'constraintsAfterData',
    // VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: reads and writes go on while it scans.
    'validateChecks',
    'validateForeignKeys',
  ],
  contract: [
    // Dropped triggers first (ACCESS EXCLUSIVE on their table, for an instant): before the views,
    // columns, tables and functions they are on or use.
    'dropTriggers',
    // Views zdm left under a renamed table's old name, views re-created with other columns, dropped
    // views (what reads a view first): before anything changes a column or table they select.
    'dropViews',
    // Functions whose change CREATE OR REPLACE refuses: dropped and created again with the triggers
    // that use them, in one transaction, once the old application version is gone.
    'recreateFunctions',
    // Policies: before the columns their expressions may use are dropped.
    'dropPolicies',
    // Privileges revoked once the old application version is gone.
    'revokes',
    // Foreign keys first: they hold on to the keys, columns and tables dropped below.
    'dropForeignKeys',
    // Partition swaps (the shadow takes the live table's place in one short transaction; foreign keys
    // of other tables re-pointed NOT VALID, then validated): before the drops, which include the
    // retired table.
    'swapTables',
    // SET NOT NULL (no scan: the validated helper check proves it) before PRIMARY KEY USING INDEX needs it.
    'setNotNull',
    // Primary and unique keys made from their prebuilt index, swapped for the old one in one transaction.
    'keys',
    // Row level security turned on, replica identity changes that log less or use an index built in
    // this plan: once the old application version is gone, after the keys they may use, before any
    // index is dropped.
    'tableOptions',
    // DROP INDEX CONCURRENTLY; replacement indexes take the old name.
    'dropIndexes',
    'dropConstraints',
    // Keys whose name a live index or constraint dropped just above held (USING INDEX gives the
    // prebuilt index the key's name, which must be free by then).
    'keysAfterDrops',
    // DROP DEFAULT / DROP IDENTITY / DROP NOT NULL: after the keys that needed the column NOT NULL are gone.
    'columns',
    'dropPartitions',
    // Partitions recreated with a new bound, after the old one is gone.
    'addPartitions',
    'dropColumns',
    'dropTables',
    // Casts: after the views and functions that used them were dropped or replaced, before the
    // functions and types they use.
    'dropCasts',
    // After the triggers, views, columns and tables that used them.
    'dropFunctions',
    // After the columns and tables whose defaults call nextval() on them.
    'dropSequences',
    // Attributes and composite types: after the columns and tables of the type; before the enums
    // and domains an attribute may be of.
    'dropCompositeTypes',
    // After the columns of that type; before the enums a domain may be over.
    'dropDomains',
    'dropEnums',
    // After the tables, indexes and views that named them; before the extensions they use.
    'dropTextSearch',
    // After the columns, indexes, types and domains that used them.
    'dropCollations',
    // After everything that was in them.
    'dropSchemas',
    // Last: dropped columns may have been of one of their types.
    'dropExtensions',
  ],
} as const satisfies Record<PhaseName, readonly string[]>;

export type Group<P extends PhaseName = PhaseName> = (typeof GROUPS)[P][number];

export function groupIndex(phase: PhaseName, group: string): number {
  const i = (GROUPS[phase] as readonly string[]).indexOf(group);
  if (i < 0) throw new Error(`no group ${group} in phase ${phase}`);
  return i;
}
