/**
 * Catalog SQL: one query per object kind for the whole database, so introspection costs the same
 * dozen round trips for 5 tables or 5,000. Every catalog relation, function and type is
 * `pg_catalog.`-qualified; the session also runs with `search_path = ''` (see index.ts), so neither a
 * hostile search_path nor look-alike objects in user schemas change what is read.
 *
 * Every query takes one parameter: `$1`, the schemas to read (`text[]`), or NULL for all of them.
 * Row types mirror the SQL aliases exactly; oids come back as text (map keys), `"char"` columns as
 * one-letter strings ('' when unset).
 */
import { VERSION_SCHEMA_COMMENT_PREFIX } from '../model/versions.js';

/**
 * zdm's version schemas (src/model/versions.ts), marked by their comment: `ns` is the pg_namespace alias.
 */
export const NOT_VERSION_SCHEMA = (ns: string): string => `NOT EXISTS (SELECT FROM pg_catalog.pg_description vd
    WHERE vd.objoid = ${ns}.oid AND vd.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND vd.objsubid = 0
      AND vd.description LIKE '${VERSION_SCHEMA_COMMENT_PREFIX}%')`;

/** PostgreSQL's own schemas, zdm's journal schema and zdm's version schemas are never read. */
export const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'zdm') AND n.nspname !~ '^pg_(toast|temp)' AND ${NOT_VERSION_SCHEMA('n')}`;

/** The caller's `schemas` option. */
export const USER_SCHEMAS = `($1::pg_catalog.text[] IS NULL OR n.nspname::pg_catalog.text = ANY ($1::pg_catalog.text[]))`;

/** Objects an extension created (pg_depend deptype 'e') belong to the extension, not to the schema. */
export function notExtensionMember(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT FROM pg_catalog.pg_depend x
    WHERE x.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND x.objid = ${oid} AND x.deptype = 'e')`;
}

/** `schema.name`, or just `name` for objects in pg_catalog. */
function qualifiedName(schemaCol: string, nameCol: string): string {
  return `CASE WHEN ${schemaCol} = 'pg_catalog' THEN ${nameCol}::pg_catalog.text
    ELSE ${schemaCol}::pg_catalog.text || '.' || ${nameCol}::pg_catalog.text END`;
}

export function description(catalog: string, oid: string, subId = '0'): string {
  return `(SELECT d.description FROM pg_catalog.pg_description d
    WHERE d.classoid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND d.objoid = ${oid} AND d.objsubid = ${subId})`;
}

/**
 * Tables and partitions zdm reads. Partitions are read whatever the `schemas` option says: they belong
 * under their parent, which the option selects.
 */
const RELS_CTE = relsCte(`'r', 'p'`);

/** The same, with materialized views: the relations whose indexes are read. */
const INDEXED_RELS_CTE = relsCte(`'r', 'p', 'm'`);

function relsCte(relkinds: string): string {
  return `rels AS (
  SELECT c.oid, c.relispartition
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN (${relkinds})
    AND ${SYSTEM_SCHEMAS}
    AND (c.relispartition OR ${USER_SCHEMAS})
    AND ${notExtensionMember('pg_class', 'c.oid')}
)`;
}

export interface SettingsRow {
  readonly server_version: string;
  readonly server_version_num: string;
}

export const SETTINGS_SQL = `SELECT pg_catalog.current_setting('server_version') AS server_version,
  pg_catalog.current_setting('server_version_num') AS server_version_num`;

export interface OutsideTransactionRow {
  readonly outside: boolean;
}

/**
 * True when the session has no transaction block open: a statement run on its own is its own
 * transaction, which starts with it (now() = statement_timestamp()); inside a block, now() is the
 * time of the earlier BEGIN.
 */
export const OUTSIDE_TRANSACTION_SQL = 'SELECT pg_catalog.now() = pg_catalog.statement_timestamp() AS outside';

export interface SchemaRow {
  readonly name: string;
  readonly comment: string | null;
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

export const SCHEMAS_SQL = `SELECT n.nspname AS name, ${description('pg_namespace', 'n.oid')} AS comment,
  pg_catalog.pg_get_userbyid(n.nspowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_namespace n
WHERE ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_namespace', 'n.oid')}`;

export interface ExtensionRow {
  readonly name: string;
  readonly schema: string;
  readonly version: string;
}

export const EXTENSIONS_SQL = `SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'`;

// Privileges (issue 12): the grantee of an aclexplode row, `public` for PUBLIC.
const GRANTEE = `CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(a.grantee)::pg_catalog.text END`;

/**
 * The privileges of one function or type as a JSON list of `{ grantee, privilege, grantable }`, the
 * owner's own left out: from its ACL, or, when that is NULL (never granted or revoked), from
 * PostgreSQL's default for the kind (`acldefault('f' | 'T', owner)`: EXECUTE / USAGE to PUBLIC;
 * `aclKind` undefined: an ACL that is never NULL).
 */
export const aclGrantsJson = (acl: string, aclKind: 'f' | 'T' | undefined, owner: string): string =>
  `(SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object('grantee', x.grantee, 'privilege', x.privilege,
      'grantable', x.grantable) ORDER BY x.grantee, x.privilege), '[]')
    FROM (SELECT ${GRANTEE} AS grantee, a.privilege_type AS privilege, pg_catalog.bool_or(a.is_grantable) AS grantable
      FROM pg_catalog.aclexplode(${aclKind === undefined ? acl : `COALESCE(${acl}, pg_catalog.acldefault('${aclKind}', ${owner}))`}) a
      WHERE a.grantee <> ${owner} GROUP BY 1, 2) x)`;

export interface TypeRow {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  /** pg_type.typtype: e enum, d domain; c (composite), r (range), b (base) only to report them. */
  readonly type_type: string;
  readonly enum_values: string[] | null;
  readonly base_type: string | null;
  readonly not_null: boolean;
  readonly default_value: string | null;
  readonly collation: string | null;
  readonly comment: string | null;
  /** Privileges (issue 12): aclGrantsJson. */
  readonly grants: readonly GrantJson[];
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

/** One privilege of an aclGrantsJson list. */
export interface GrantJson {
  readonly grantee: string;
  readonly privilege: string;
  readonly grantable: boolean;
}

export const TYPES_SQL = `SELECT t.oid::pg_catalog.text AS oid, n.nspname AS schema, t.typname AS name, t.typtype AS type_type,
  CASE WHEN t.typtype = 'e' THEN ARRAY(
    SELECT e.enumlabel::pg_catalog.text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
  ) END AS enum_values,
  CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base_type,
  t.typnotnull AS not_null,
  pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_value,
  CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> b.typcollation
    THEN ${qualifiedName('cn.nspname', 'co.collname')} END AS collation,
  ${description('pg_type', 't.oid')} AS comment,
  ${aclGrantsJson('t.typacl', 'T', 't.typowner')} AS grants,
  pg_catalog.pg_get_userbyid(t.typowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype IN ('e', 'd', 'c', 'r', 'b')
  AND (t.typtype <> 'c' OR EXISTS (SELECT FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
  AND (t.typtype <> 'b' OR t.typelem = 0)
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_type', 't.oid')}`;

export interface DomainCheckRow {
  readonly type_oid: string;
  readonly name: string;
  readonly expression: string;
  readonly comment: string | null;
}

export const DOMAIN_CHECKS_SQL = `SELECT con.contypid::pg_catalog.text AS type_oid, con.conname AS name,
  pg_catalog.pg_get_expr(con.conbin, 0) AS expression, ${description('pg_constraint', 'con.oid')} AS comment
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_type t ON t.oid = con.contypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE con.contype = 'c' AND t.typtype = 'd'
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_type', 't.oid')}`;

export interface SequenceRow {
  readonly schema: string;
  readonly name: string;
  readonly type: string;
  readonly start: string;
  readonly increment: string;
  readonly min_value: string;
  readonly max_value: string;
  readonly cache: string;
  readonly cycle: boolean;
  readonly owned_schema: string | null;
  readonly owned_table: string | null;
  readonly owned_column: string | null;
  readonly comment: string | null;
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

/** Identity sequences (deptype 'i') are part of their column, not sequences of their own. */
export const SEQUENCES_SQL = `SELECT n.nspname AS schema, c.relname AS name,
  pg_catalog.format_type(s.seqtypid, NULL) AS type,
  s.seqstart::pg_catalog.text AS start, s.seqincrement::pg_catalog.text AS increment,
  s.seqmin::pg_catalog.text AS min_value, s.seqmax::pg_catalog.text AS max_value,
  s.seqcache::pg_catalog.text AS cache, s.seqcycle AS cycle,
  own.owned_schema, own.owned_table, own.owned_column,
  ${description('pg_class', 'c.oid')} AS comment, pg_catalog.pg_get_userbyid(c.relowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN LATERAL (
  SELECT tn.nspname AS owned_schema, tc.relname AS owned_table, a.attname AS owned_column
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype = 'a'
  LIMIT 1
) own ON true
WHERE c.relkind = 'S'
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_class', 'c.oid')}
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')`;

export interface RelationRow {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  /** r table, p partitioned table, f foreign table (reported as unsupported). */
  readonly relkind: string;
  readonly unlogged: boolean;
  readonly is_partition: boolean;
  readonly parent_oid: string | null;
  readonly partition_bound: string | null;
  readonly partition_key: string | null;
  /** `OF type` of a typed table. */
  readonly of_type: string | null;
  /** Parents of a (non-partition) inheritance child, `schema.name`. */
  readonly inherits: string[];
  readonly comment: string | null;
  /** pg_class.reloptions (`name=value`), in the catalog's order; null when none. */
  readonly options: string[] | null;
  /** The TOAST table's reloptions, each prefixed `toast.` (empty when none). */
  readonly toast_options: string[];
  readonly row_security: boolean;
  readonly force_row_security: boolean;
  /** pg_class.relreplident: d default, f full, n nothing, i index. */
  readonly replica_identity: string;
  /** The index flagged indisreplident (with replica identity 'i'). */
  readonly replica_identity_index: string | null;
  /** The index flagged indisclustered (ALTER TABLE … CLUSTER ON). */
  readonly cluster_index: string | null;
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

export const RELATIONS_SQL = `SELECT c.oid::pg_catalog.text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS relkind,
  c.relpersistence = 'u' AS unlogged, c.relispartition AS is_partition,
  CASE WHEN c.relispartition THEN (
    SELECT h.inhparent::pg_catalog.text FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid
  ) END AS parent_oid,
  CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
  CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
  CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END AS of_type,
  ARRAY(
    SELECT pn.nspname::pg_catalog.text || '.' || pc.relname::pg_catalog.text
    FROM pg_catalog.pg_inherits h
    JOIN pg_catalog.pg_class pc ON pc.oid = h.inhparent
    JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
    WHERE h.inhrelid = c.oid AND NOT c.relispartition
    ORDER BY h.inhseqno
  ) AS inherits,
  ${description('pg_class', 'c.oid')} AS comment,
  c.reloptions::pg_catalog.text[] AS options,
  ARRAY(
    SELECT 'toast.' || o.option FROM pg_catalog.pg_class tc, pg_catalog.unnest(tc.reloptions) WITH ORDINALITY AS o(option, ord)
    WHERE tc.oid = c.reltoastrelid ORDER BY o.ord
  ) AS toast_options,
  c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
  c.relreplident AS replica_identity,
  CASE WHEN c.relreplident = 'i' THEN (
    SELECT ric.relname FROM pg_catalog.pg_index ri JOIN pg_catalog.pg_class ric ON ric.oid = ri.indexrelid
    WHERE ri.indrelid = c.oid AND ri.indisreplident
  ) END AS replica_identity_index,
  (SELECT cic.relname FROM pg_catalog.pg_index ci JOIN pg_catalog.pg_class cic ON cic.oid = ci.indexrelid
    WHERE ci.indrelid = c.oid AND ci.indisclustered) AS cluster_index,
  pg_catalog.pg_get_userbyid(c.relowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f')
  AND ${SYSTEM_SCHEMAS}
  AND (c.relispartition OR ${USER_SCHEMAS})
  AND ${notExtensionMember('pg_class', 'c.oid')}`;

export interface ColumnRow {
  readonly table_oid: string;
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly not_null: boolean;
  readonly default_value: string | null;
  /** 'a' always, 'd' by default, '' none. */
  readonly identity: string;
  /** 's' stored, 'v' virtual (PostgreSQL 18), '' none. */
  readonly generated: string;
  readonly collation: string | null;
  readonly comment: string | null;
  /** Declared on the table itself (false: inherited only, from an INHERITS parent). */
  readonly local: boolean;
  /** pg_attribute.attoptions (`n_distinct=-0.02`); null when none. */
  readonly options: string[] | null;
  /** pg_attribute.attstattarget when set (null: the default; -1 before PostgreSQL 17). */
  readonly statistics: number | null;
  /** pg_attribute.attstorage when it is not the type's typstorage (`p`, `e`, `x`, `m`); null otherwise. */
  readonly storage: string | null;
  /** pg_attribute.attcompression (`p` pglz, `l` lz4); null when not set. */
  readonly compression: string | null;
  /** The identity sequence's options (identity columns only; 64-bit values as text). */
  readonly identity_type: string | null;
  readonly identity_start: string | null;
  readonly identity_increment: string | null;
  readonly identity_min: string | null;
  readonly identity_max: string | null;
  readonly identity_cache: string | null;
  readonly identity_cycle: boolean | null;
}

/**
 * A partition's columns are its parent's: they are not read. An identity column's sequence is
 * found through its internal dependency (deptype 'i') on the column.
 */
export const COLUMNS_SQL = `WITH ${RELS_CTE}
SELECT a.attrelid::pg_catalog.text AS table_oid, a.attnum AS position, a.attname AS name,
  pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_value,
  a.attidentity AS identity, a.attgenerated AS generated,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
    THEN ${qualifiedName('cn.nspname', 'co.collname')} END AS collation,
  ${description('pg_class', 'a.attrelid', 'a.attnum')} AS comment,
  a.attislocal AS local, a.attoptions::pg_catalog.text[] AS options, NULLIF(a.attstattarget, -1)::pg_catalog.int4 AS statistics,
  CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::pg_catalog.text END AS storage,
  NULLIF(a.attcompression::pg_catalog.text, '') AS compression,
  ids.identity_type, ids.identity_start, ids.identity_increment, ids.identity_min, ids.identity_max,
  ids.identity_cache, ids.identity_cycle
FROM rels
JOIN pg_catalog.pg_attribute a ON a.attrelid = rels.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN LATERAL (
  SELECT pg_catalog.format_type(s.seqtypid, NULL) AS identity_type,
    s.seqstart::pg_catalog.text AS identity_start, s.seqincrement::pg_catalog.text AS identity_increment,
    s.seqmin::pg_catalog.text AS identity_min, s.seqmax::pg_catalog.text AS identity_max,
    s.seqcache::pg_catalog.text AS identity_cache, s.seqcycle AS identity_cycle
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid
  WHERE a.attidentity <> '' AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
    AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'i'
  LIMIT 1
) ids ON true
WHERE NOT rels.relispartition AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

export interface ConstraintRow {
  readonly table_oid: string;
  readonly name: string;
  /** p, u, c, f or x. */
  readonly type: string;
  readonly deferrable: boolean;
  readonly deferred: boolean;
  readonly validated: boolean;
  readonly no_inherit: boolean;
  readonly index_oid: string;
  readonly expression: string | null;
  readonly columns: string[];
  readonly ref_schema: string | null;
  readonly ref_table: string | null;
  readonly ref_columns: string[];
  readonly on_update: string;
  readonly on_delete: string;
  readonly match_type: string;
  readonly exclusion_operators: string[];
  /** PostgreSQL 15+: `ON DELETE SET NULL (columns)`. */
  readonly delete_set_columns: number;
  /** PostgreSQL 18+: false for NOT ENFORCED. */
  readonly enforced: boolean;
  /** PostgreSQL 18+: WITHOUT OVERLAPS / PERIOD. */
  readonly period: boolean;
  readonly comment: string | null;
}

function attnames(attnums: string, relid: string): string {
  return `ARRAY(
    SELECT a.attname::pg_catalog.text
    FROM pg_catalog.unnest(${attnums}) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ${relid} AND a.attnum = k.attnum
    ORDER BY k.ord
  )`;
}

/**
 * Constraints declared on each relation. `conparentid <> 0` marks a constraint cloned from a
 * partitioned parent (and the per-partition copies of a foreign key to a partitioned table), a check
 * with `NOT conislocal` is inherited: neither was declared here. NOT NULL constraints (contype 'n',
 * PostgreSQL 18) are the columns' `nullable`; constraint triggers ('t') are read as triggers.
 */
export function constraintsSql(versionNum: number): string {
  return `WITH ${RELS_CTE}
SELECT con.conrelid::pg_catalog.text AS table_oid, con.conname AS name, con.contype AS type,
  con.condeferrable AS deferrable, con.condeferred AS deferred, con.convalidated AS validated,
  con.connoinherit AS no_inherit, con.conindid::pg_catalog.text AS index_oid,
  CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid) END AS expression,
  ${attnames('con.conkey', 'con.conrelid')} AS columns,
  rn.nspname AS ref_schema, rc.relname AS ref_table,
  ${attnames('con.confkey', 'con.confrelid')} AS ref_columns,
  con.confupdtype AS on_update, con.confdeltype AS on_delete, con.confmatchtype AS match_type,
  ARRAY(
    SELECT ${qualifiedName('opn.nspname', 'o.oprname')}
    FROM pg_catalog.unnest(con.conexclop) WITH ORDINALITY AS k(opr, ord)
    JOIN pg_catalog.pg_operator o ON o.oid = k.opr
    JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace
    ORDER BY k.ord
  ) AS exclusion_operators,
  ${versionNum >= 150000 ? 'COALESCE(pg_catalog.cardinality(con.confdelsetcols), 0)' : '0'} AS delete_set_columns,
  ${versionNum >= 180000 ? 'con.conenforced' : 'true'} AS enforced,
  ${versionNum >= 180000 ? 'con.conperiod' : 'false'} AS period,
  ${description('pg_constraint', 'con.oid')} AS comment
FROM rels
JOIN pg_catalog.pg_constraint con ON con.conrelid = rels.oid
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'f', 'x')
  AND con.conparentid = 0
  AND (con.contype <> 'c' OR con.conislocal)`;
}

export interface NotNullNameRow {
  readonly table_oid: string;
  readonly column: string;
  readonly name: string;
  /** For a partition: the name of its parent's NOT NULL constraint on the same column (null: none, or not a partition). */
  readonly parent_name: string | null;
}

/**
 * PostgreSQL 18: the names of the NOT NULL constraints (contype 'n', one column each) of tables and
 * partitions, with a partition's parent's name for the same column. Earlier versions have none.
 */
export const NOT_NULL_NAMES_SQL = `WITH ${RELS_CTE}
SELECT con.conrelid::pg_catalog.text AS table_oid, a.attname AS column, con.conname AS name,
  (SELECT pc.conname FROM pg_catalog.pg_inherits i
     JOIN pg_catalog.pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
     JOIN pg_catalog.pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'n' AND pc.conkey[1] = pa.attnum
   WHERE rels.relispartition AND i.inhrelid = con.conrelid
   LIMIT 1) AS parent_name
FROM rels
JOIN pg_catalog.pg_constraint con ON con.conrelid = rels.oid AND con.contype = 'n'
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]`;

export interface IndexRow {
  readonly oid: string;
  readonly table_oid: string;
  readonly name: string;
  readonly unique: boolean;
  readonly method: string;
  readonly key_count: number;
  readonly valid: boolean;
  /** `pg_get_indexdef`, only when some key may print a COLLATE or operator class (else null). */
  readonly definition: string | null;
  readonly predicate: string | null;
  readonly options: string[] | null;
  readonly nulls_not_distinct: boolean;
  /** Backs a primary key, unique or exclusion constraint of its table. */
  readonly backs_constraint: boolean;
  /** A partition's index attached to its parent's index (declared on the parent). */
  readonly attached: boolean;
  readonly comment: string | null;
}

/**
 * Whether `pg_get_indexdef` may print a COLLATE, an operator class or its options after some key of
 * index `i`, the only things its definition is read for. It cannot for a column key whose collation
 * is the column's (or none) and whose operator class is the default one for exactly the column's
 * type (ruleutils.c: `indcoll != keycolcollation`, `GetDefaultOpClass(keycoltype) != opclass`), without
 * options. Expression keys and columns of a domain type (whose base type GetDefaultOpClass looks at)
 * are not judged: they always fetch it. Skipping the call where it cannot
 * matter saves one deparse per index, most of this query's time on a schema of thousands of tables.
 * The operator class is probed by its oid (a correlated EXISTS): as a LEFT JOIN the planner hashed
 * all of pg_opclass once per index (2.4 s of 10,000 tables' 30,000 indexes).
 */
const INDEX_MAY_PRINT_SUFFIX = `EXISTS (
    SELECT FROM ROWS FROM (pg_catalog.unnest(i.indkey::pg_catalog.int2[]), pg_catalog.unnest(i.indclass::pg_catalog.oid[]),
      pg_catalog.unnest(i.indcollation::pg_catalog.oid[])) WITH ORDINALITY AS k(attnum, opclass, coll, ord)
    LEFT JOIN pg_catalog.pg_attribute ka ON ka.attrelid = i.indrelid AND ka.attnum = k.attnum AND k.attnum <> 0
    LEFT JOIN pg_catalog.pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k.ord
    WHERE k.ord <= i.indnkeyatts
      AND (ka.attnum IS NULL
        OR EXISTS (SELECT FROM pg_catalog.pg_type kt WHERE kt.oid = ka.atttypid AND kt.typtype = 'd')
        OR (k.coll <> 0 AND k.coll <> ka.attcollation)
        OR NOT EXISTS (SELECT FROM pg_catalog.pg_opclass kc
          WHERE kc.oid = k.opclass AND kc.opcdefault AND kc.opcintype = ka.atttypid)
        OR ia.attoptions IS NOT NULL))`;

/** All indexes of the relations read (materialized views too), including those behind constraints (for their keys). */
export function indexesSql(versionNum: number): string {
  return `WITH ${INDEXED_RELS_CTE}
SELECT i.indexrelid::pg_catalog.text AS oid, i.indrelid::pg_catalog.text AS table_oid, ic.relname AS name,
  i.indisunique AS unique, am.amname AS method, i.indnkeyatts AS key_count, i.indisvalid AS valid,
  CASE WHEN ${INDEX_MAY_PRINT_SUFFIX} THEN pg_catalog.pg_get_indexdef(i.indexrelid, 0, true) END AS definition,
  pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
  ic.reloptions::pg_catalog.text[] AS options,
  ${versionNum >= 150000 ? 'i.indnullsnotdistinct' : 'false'} AS nulls_not_distinct,
  EXISTS (SELECT FROM pg_catalog.pg_constraint con
    WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')) AS backs_constraint,
  EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) AS attached,
  ${description('pg_class', 'i.indexrelid')} AS comment
FROM rels
JOIN pg_catalog.pg_index i ON i.indrelid = rels.oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam`;
}

export interface IndexKeyRow {
  readonly index_oid: string;
  /** 0-based position in the index: key columns first, then INCLUDE columns. */
  readonly position: number;
  /** Table column, or null for an expression. */
  readonly column_name: string | null;
  /** The key as `pg_get_indexdef(index, position + 1, true)` prints it. */
  readonly key_text: string;
  /** pg_index.indoption: bit 1 DESC, bit 2 NULLS FIRST (key columns only). */
  readonly options: number | null;
  readonly collation: string | null;
  readonly opclass: string | null;
}

/**
 * One row per key of each index. The keys are unnested from `indkey` (not a `generate_series` over
 * `indnatts`, which the planner takes for 1,000 rows per index and answers with a hash join over all
 * of pg_attribute); a column key's text is `quote_ident` of its name, what `pg_get_indexdef` prints
 * for it (one call per key was a third of the introspection of a schema of thousands of tables).
 */
export const INDEX_KEYS_SQL = `WITH ${INDEXED_RELS_CTE}
SELECT i.indexrelid::pg_catalog.text AS index_oid, k.n AS position, a.attname AS column_name,
  CASE WHEN a.attname IS NOT NULL THEN pg_catalog.quote_ident(a.attname)
    ELSE pg_catalog.pg_get_indexdef(i.indexrelid, k.n + 1, true) END AS key_text,
  CASE WHEN k.n < i.indnkeyatts THEN i.indoption[k.n]::pg_catalog.int4 END AS options,
  CASE WHEN k.n < i.indnkeyatts AND co.oid IS NOT NULL
    THEN ${qualifiedName('cn.nspname', 'co.collname')} END AS collation,
  CASE WHEN k.n < i.indnkeyatts AND opc.oid IS NOT NULL
    THEN ${qualifiedName('opn.nspname', 'opc.opcname')} END AS opclass
FROM rels
JOIN pg_catalog.pg_index i ON i.indrelid = rels.oid
CROSS JOIN LATERAL (
  SELECT (u.ord - 1)::pg_catalog.int4 AS n, u.attnum
  FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS u(attnum, ord)
) AS k
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum <> 0
LEFT JOIN pg_catalog.pg_collation co ON co.oid = i.indcollation[k.n]
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_opclass opc ON opc.oid = i.indclass[k.n]
LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
ORDER BY i.indexrelid, k.n`;

/** A dependent object with one row per table or column it depends on (dep_* null when none). */
export interface DependentRow {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  /** The function's kind (pg_proc.prokind) for functions, the table's relkind for triggers. */
  readonly kind: string;
  readonly table_name: string | null;
  readonly dep_schema: string | null;
  readonly dep_table: string | null;
  readonly dep_column: string | null;
}

/**
 * The tables (or columns, refobjsubid > 0) outside system schemas that object `oid` of catalog
 * `catalog` depends on, one row each. `OFFSET 0` keeps the LATERAL subquery from being flattened
 * into the outer join, so pg_depend is always probed on its (classid, objid) index: right after a
 * large schema load the catalogs' statistics are stale, and a flattened plan then scanned every
 * pg_depend row of the catalog once per object (0.6 s for musicbrainz's 456 triggers).
 */
function dependencyTargets(catalog: string, oid: string, extra = ''): string {
  return `LEFT JOIN LATERAL (
  SELECT tn.nspname AS dep_schema, tc.relname AS dep_table, ta.attname AS dep_column
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  LEFT JOIN pg_catalog.pg_attribute ta ON ta.attrelid = tc.oid AND ta.attnum = d.refobjsubid AND d.refobjsubid > 0
  WHERE d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND d.objid = ${oid}
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass ${extra}
    AND tc.relkind IN ('r', 'p')
    AND tn.nspname NOT IN ('pg_catalog', 'information_schema') AND tn.nspname !~ '^pg_(toast|temp)'
  OFFSET 0
) target ON true`;
}

export interface ViewRow {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  /** v view, m materialized view. */
  readonly kind: string;
  /** `pg_get_viewdef(oid, true)` under the session's empty search_path. */
  readonly definition: string;
  readonly options: string[] | null;
  /** pg_class.relispopulated: false for a materialized view created or refreshed WITH NO DATA. */
  readonly populated: boolean;
  readonly comment: string | null;
  /** The index flagged indisclustered (a materialized view's CLUSTER ON). */
  readonly cluster_index: string | null;
  /** pg_get_userbyid of the owner (issue 12: src/introspect/owners.ts); absent in rows built by hand. */
  readonly owner?: string;
}

const VIEWS_WHERE = `v.relkind IN ('v', 'm')
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_class', 'v.oid')}`;

/** Views and materialized views. */
export const VIEWS_SQL = `SELECT v.oid::pg_catalog.text AS oid, n.nspname AS schema, v.relname AS name, v.relkind AS kind,
  pg_catalog.pg_get_viewdef(v.oid, true) AS definition, v.reloptions::pg_catalog.text[] AS options,
  v.relispopulated AS populated, ${description('pg_class', 'v.oid')} AS comment,
  (SELECT cic.relname FROM pg_catalog.pg_index ci JOIN pg_catalog.pg_class cic ON cic.oid = ci.indexrelid
    WHERE ci.indrelid = v.oid AND ci.indisclustered) AS cluster_index,
  pg_catalog.pg_get_userbyid(v.relowner)::pg_catalog.text AS owner
FROM pg_catalog.pg_class v
JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
WHERE ${VIEWS_WHERE}`;

export interface ViewColumnRow {
  readonly view_oid: string;
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly collation: string | null;
  readonly comment: string | null;
}

/** The output columns of views and materialized views, in order. */
export const VIEW_COLUMNS_SQL = `SELECT a.attrelid::pg_catalog.text AS view_oid, a.attnum AS position, a.attname AS name,
  pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
    THEN ${qualifiedName('cn.nspname', 'co.collname')} END AS collation,
  ${description('pg_class', 'a.attrelid', 'a.attnum')} AS comment
FROM pg_catalog.pg_class v
JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = v.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE ${VIEWS_WHERE} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

export interface DependencyRow {
  /** Object key of the dependent (src/model/objects.ts). */
  readonly from_key: string;
  /** Object key of what it depends on. */
  readonly to_key: string;
  readonly to_column: string | null;
}

const regclass = (name: string): string => `'pg_catalog.${name}'::pg_catalog.regclass`;
const USER_NS = (ns: string): string =>
  `${ns}.nspname NOT IN ('pg_catalog', 'information_schema', 'zdm') AND ${ns}.nspname !~ '^pg_(toast|temp)' AND ${NOT_VERSION_SCHEMA(ns)}`;
/** `'table '`, `'view '`… for a pg_class row `c`: the kind part of its object key (null: not a node). */
const RELATION_KIND = (c: string): string =>
  `CASE ${c}.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view '
    WHEN 'm' THEN 'materializedView ' WHEN 'f' THEN 'foreignTable ' WHEN 'S' THEN 'sequence ' WHEN 'c' THEN 'compositeType ' END`;
const FUNCTION_KEY = (p: string, ns: string): string =>
  `CASE ${p}.prokind WHEN 'a' THEN 'aggregate ' WHEN 'p' THEN 'procedure ' ELSE 'function ' END
    || ${ns}.nspname || '.' || ${p}.proname || '(' || pg_catalog.oidvectortypes(${p}.proargtypes) || ')'`;

/**
 * The dependency graph (src/model/dependencies.ts): one row per normal (`n`) pg_depend entry from an
 * object that can depend on tables, columns, views, types or functions (a view's or a rule's
 * rewrite rule, a function, a trigger, a policy, a publication's table, an operator, a cast) to such
 * an object in a user schema, both named by their object keys. A view's rule depending on its own
 * view, objects of extensions and what system schemas hold are left out. Array types stand for their
 * element type.
 */
export const DEPENDENCIES_SQL = `WITH dep AS (
  SELECT DISTINCT d.classid, d.objid, d.refclassid, d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_depend d
  WHERE d.deptype = 'n'
    AND d.classid IN (${['pg_rewrite', 'pg_proc', 'pg_trigger', 'pg_policy', 'pg_publication_rel', 'pg_operator', 'pg_cast'].map(regclass).join(', ')})
    AND d.refclassid IN (${['pg_class', 'pg_type', 'pg_proc'].map(regclass).join(', ')})
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend x WHERE x.classid = d.classid AND x.objid = d.objid AND x.deptype = 'e')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend x
      WHERE x.classid = d.refclassid AND x.objid = d.refobjid AND x.deptype = 'e')
), src AS (
  SELECT dep.*,
    CASE dep.classid
      WHEN ${regclass('pg_rewrite')} THEN (
        SELECT CASE WHEN r.rulename = '_RETURN' AND c.relkind IN ('v', 'm') THEN ${RELATION_KIND('c')}
            ELSE 'rule ' || r.rulename || ' on ' END || n.nspname || '.' || c.relname
        FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE r.oid = dep.objid AND ${USER_NS('n')}
          AND NOT (r.rulename = '_RETURN' AND dep.refclassid = ${regclass('pg_class')} AND dep.refobjid = r.ev_class)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend x
            WHERE x.classid = ${regclass('pg_class')} AND x.objid = c.oid AND x.deptype = 'e'))
      WHEN ${regclass('pg_proc')} THEN (
        SELECT ${FUNCTION_KEY('p', 'n')}
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.oid = dep.objid AND ${USER_NS('n')})
      WHEN ${regclass('pg_trigger')} THEN (
        SELECT 'trigger ' || t.tgname || ' on ' || n.nspname || '.' || c.relname
        FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE t.oid = dep.objid AND NOT t.tgisinternal AND ${USER_NS('n')})
      WHEN ${regclass('pg_policy')} THEN (
        SELECT 'policy ' || pol.polname || ' on ' || n.nspname || '.' || c.relname
        FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE pol.oid = dep.objid AND ${USER_NS('n')})
      WHEN ${regclass('pg_publication_rel')} THEN (
        SELECT 'publication ' || pub.pubname
        FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication pub ON pub.oid = pr.prpubid
        WHERE pr.oid = dep.objid)
      -- Operators and casts: 'operator public.=(integer,integer)', 'cast from integer to public.t'.
      ELSE pg_catalog.pg_describe_object(dep.classid, dep.objid, 0)
    END AS from_key
  FROM dep
), ref AS (
  SELECT src.from_key, src.refobjid, src.refobjsubid, src.refclassid,
    CASE WHEN src.refclassid = ${regclass('pg_type')} THEN (
      SELECT CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
      FROM pg_catalog.pg_type t WHERE t.oid = src.refobjid) END AS type_oid
  FROM src WHERE src.from_key IS NOT NULL
)
SELECT DISTINCT e.* FROM (SELECT ref.from_key,
  CASE ref.refclassid
    WHEN ${regclass('pg_class')} THEN (
      SELECT ${RELATION_KIND('c')} || n.nspname || '.' || c.relname
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = ref.refobjid AND ${USER_NS('n')})
    WHEN ${regclass('pg_type')} THEN (
      SELECT CASE WHEN t.typtype = 'e' THEN 'enum ' WHEN t.typtype = 'd' THEN 'domain '
          WHEN t.typtype = 'c' THEN COALESCE(${RELATION_KIND('c')}, 'type ') ELSE 'type ' END
        || n.nspname || '.' || COALESCE(c.relname, t.typname)
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND t.typtype = 'c'
      WHERE t.oid = ref.type_oid AND ${USER_NS('n')})
    WHEN ${regclass('pg_proc')} THEN (
      SELECT ${FUNCTION_KEY('p', 'n')}
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE p.oid = ref.refobjid AND ${USER_NS('n')})
  END AS to_key,
  CASE WHEN ref.refclassid = ${regclass('pg_class')} AND ref.refobjsubid > 0 THEN (
    SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = ref.refobjid AND a.attnum = ref.refobjsubid
  ) END AS to_column
FROM ref) AS e
WHERE e.to_key IS NOT NULL
ORDER BY 1, 2, 3`;

/**
 * Functions and procedures, named `name(identity arguments)` so overloads stay apart. PostgreSQL
 * records table dependencies only for SQL-standard bodies (BEGIN ATOMIC, PostgreSQL 14+).
 */
export const FUNCTIONS_SQL = `SELECT p.oid::pg_catalog.text AS oid, n.nspname AS schema,
  p.proname::pg_catalog.text || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
  p.prokind AS kind, NULL::pg_catalog.text AS table_name, target.dep_schema, target.dep_table, target.dep_column
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
${dependencyTargets('pg_proc', 'p.oid')}
WHERE ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_proc', 'p.oid')}`;

/**
 * User triggers: internal ones (foreign key enforcement) and the clones a partitioned table's trigger
 * puts on each partition (tgparentid, PostgreSQL 13+) are left out.
 */
export const TRIGGERS_SQL = `SELECT tg.oid::pg_catalog.text AS oid, n.nspname AS schema, tg.tgname AS name, c.relkind AS kind,
  c.relname AS table_name, target.dep_schema, target.dep_table, target.dep_column
FROM pg_catalog.pg_trigger tg
JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
${dependencyTargets('pg_trigger', 'tg.oid')}
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
  AND ${SYSTEM_SCHEMAS} AND (c.relispartition OR ${USER_SCHEMAS})
  AND ${notExtensionMember('pg_class', 'c.oid')}`;

export interface UnmanagedCountRow {
  readonly kind: string;
  readonly count: number;
}

/**
 * The aggregates the model holds: plain ones (aggkind `n`) without a moving-aggregate mode, a sort
 * operator, a state size or a non-default FINALFUNC_MODIFY. Others are counted as left out
 * (UNMANAGED_COUNTS_SQL).
 */
export const PLAIN_AGGREGATE_SQL = (p: string): string =>
  `EXISTS (SELECT FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = ${p}.oid AND ag.aggkind = 'n'
    AND ag.aggmtransfn = 0 AND ag.aggsortop = 0 AND ag.aggtransspace = 0 AND ag.aggfinalmodify = 'r')`;

/**
 * How many objects of each kind zdm does not manage the database holds (for `zdm pull` to say what
 * it left out): user objects only, those of extensions excluded.
 */
export const UNMANAGED_COUNTS_SQL = `SELECT kind, count::pg_catalog.int4 AS count FROM (
  -- Aggregates the model does not hold (ordered-set, moving, with a sort operator…).
  SELECT 'aggregate' AS kind, pg_catalog.count(*) AS count FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind = 'a' AND NOT ${PLAIN_AGGREGATE_SQL('p')}
      AND ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_proc', 'p.oid')}
  UNION ALL
  -- Triggers on foreign tables: the table is not managed, nor its triggers.
  SELECT 'trigger', pg_catalog.count(*) FROM pg_catalog.pg_trigger tg
    JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND c.relkind NOT IN ('r', 'p', 'v')
      AND ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
  UNION ALL
  SELECT 'rule', pg_catalog.count(*) FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE r.rulename <> '_RETURN' AND ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
  UNION ALL
  SELECT 'event trigger', pg_catalog.count(*) FROM pg_catalog.pg_event_trigger e
    WHERE ${notExtensionMember('pg_event_trigger', 'e.oid')}
  UNION ALL
  SELECT 'operator', pg_catalog.count(*) FROM pg_catalog.pg_operator o
    JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
    WHERE ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_operator', 'o.oid')}
  UNION ALL
  SELECT 'text search dictionary', pg_catalog.count(*) FROM pg_catalog.pg_ts_dict dict
    JOIN pg_catalog.pg_namespace n ON n.oid = dict.dictnamespace
    WHERE dict.oid >= 16384 AND ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_ts_dict', 'dict.oid')}
  UNION ALL
  SELECT 'foreign-data wrapper', pg_catalog.count(*) FROM pg_catalog.pg_foreign_data_wrapper w
    WHERE ${notExtensionMember('pg_foreign_data_wrapper', 'w.oid')}
  UNION ALL
  SELECT 'foreign server', pg_catalog.count(*) FROM pg_catalog.pg_foreign_server f
    WHERE ${notExtensionMember('pg_foreign_server', 'f.oid')}
  UNION ALL
  SELECT 'foreign table', pg_catalog.count(*) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'f' AND ${SYSTEM_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
  UNION ALL
  SELECT 'publication', pg_catalog.count(*) FROM pg_catalog.pg_publication pub
) AS counts
WHERE count > 0
ORDER BY kind`;

// ---------------------------------------------------------------- composite types (issue 12)

export interface CompositeAttributeRow {
  /** The composite type's pg_type oid (TypeRow.oid). */
  readonly type_oid: string;
  readonly name: string;
  readonly type: string;
  readonly collation: string | null;
  readonly comment: string | null;
}

/** The attributes of standalone composite types (`CREATE TYPE … AS`), in attnum order. */
export const COMPOSITE_ATTRIBUTES_SQL = `SELECT t.oid::pg_catalog.text AS type_oid, a.attname AS name,
  pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
    THEN ${qualifiedName('cn.nspname', 'co.collname')} END AS collation,
  ${description('pg_class', 'a.attrelid', 'a.attnum')} AS comment
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_class r ON r.oid = t.typrelid AND r.relkind = 'c'
JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'c' AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_type', 't.oid')}
ORDER BY t.oid, a.attnum`;

// ---------------------------------------------------------------- row level security policies (issue 12)

export interface PolicyRow {
  readonly table_oid: string;
  readonly name: string;
  readonly permissive: boolean;
  /** pg_policy.polcmd: r select, a insert, w update, d delete, * all. */
  readonly command: string;
  /** Role names, sorted; `public` for PUBLIC. */
  readonly roles: string[];
  readonly using: string | null;
  readonly with_check: string | null;
  readonly comment: string | null;
}

export const POLICIES_SQL = `SELECT pol.polrelid::pg_catalog.text AS table_oid, pol.polname AS name,
  pol.polpermissive AS permissive, pol.polcmd::pg_catalog.text AS command,
  ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r.oid)::pg_catalog.text END
    FROM pg_catalog.unnest(pol.polroles) AS r(oid) ORDER BY 1) AS roles,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS using,
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) AS with_check,
  ${description('pg_policy', 'pol.oid')} AS comment
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS}
  AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY pol.polrelid, pol.polname`;

// ---------------------------------------------------------------- privileges (issue 12)

export interface GrantRow {
  /** `relation` (a table or sequence), `column` or `schema`. */
  readonly on: 'relation' | 'column' | 'schema';
  readonly schema: string;
  /** The relation; null for a schema. */
  readonly name: string | null;
  readonly column: string | null;
  /** A role name, or `public` for PUBLIC. */
  readonly grantee: string;
  readonly privilege: string;
  readonly grantable: boolean;
}

/**
 * The privileges granted on tables (not partitions), their columns, sequences and schemas, from
 * their ACLs; the owner's own left out. A NULL ACL (never granted or revoked) holds the owner's
 * alone: no rows.
 */
export const GRANTS_SQL = `SELECT 'relation' AS on, n.nspname AS schema, c.relname AS name, NULL::pg_catalog.text AS column,
  ${GRANTEE} AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
WHERE c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition AND c.relacl IS NOT NULL AND a.grantee <> c.relowner
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
UNION ALL
SELECT 'column', n.nspname, c.relname, att.attname::pg_catalog.text,
  ${GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND att.attacl IS NOT NULL AND a.grantee <> c.relowner
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
UNION ALL
SELECT 'schema', n.nspname, NULL, NULL, ${GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_namespace n
CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
WHERE n.nspacl IS NOT NULL AND a.grantee <> n.nspowner
  AND ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_namespace', 'n.oid')}
ORDER BY 1, 2, 3, 4, 5, 6`;
