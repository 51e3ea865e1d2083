/**
 * A schema dump read straight from the catalog, one line per fact, for comparing two databases as
 * sets of lines: the referee of the convergence tests (test/acceptance/shared-cases.test.ts).
 *
 *   const a = await catalogDump(clientA);
 *   const b = await catalogDump(clientB);
 *   const { onlyInA, onlyInB } = compareDumps(a, b);
 *
 * It is independent of zdm's introspection on purpose (a referee must not share zdm's blind spots):
 * its own queries, and the server's own deparsers (format_type, pg_get_constraintdef,
 * pg_get_indexdef, pg_get_expr, pg_get_viewdef, pg_get_functiondef, pg_get_triggerdef,
 * pg_get_partkeydef, pg_get_ruledef, pg_get_statisticsobjdef, pg_identify_object) with
 * search_path = pg_catalog so that every name outside pg_catalog is schema-qualified. It covers what
 * `pg_dump --schema-only` shows, on every server zdm supports (pg_dump of an older major version
 * refuses a newer server): schemas, extensions, types (enum, domain, composite, range), sequences
 * (options, OWNED BY, identity), tables (kind, persistence, access method, reloptions, row level
 * security, replica identity, inheritance, partition key and bound), columns (type, collation, NOT
 * NULL, default, identity, generated, storage, compression, statistics target, attoptions),
 * constraints, indexes (validity, partition attachment), views and materialized views (definition,
 * options, populated or not), functions and procedures, aggregates, triggers, rules, policies,
 * extended statistics, casts (method, function, context), ACLs (schemas, relations, columns,
 * functions, types, default privileges),
 * owners that are not the database owner, and comments on everything. Other object kinds
 * (operators, collations, text search objects, event triggers, publications, foreign data
 * wrappers …) are listed by identity only.
 *
 * Lines never hold an OID or a database name: two databases with the same schema give the same set.
 * Names PostgreSQL chose (an index or constraint it named itself) are part of the schema and are
 * compared. Column order is not a difference (one line per column, no position), except inside a
 * composite type, where the order is the type. Left out: the `zdm` schema (zdm's journal), system
 * schemas, and objects that belong to an extension.
 */
import type pg from 'pg';

/** Built-in objects have OIDs below FirstNormalObjectId. */
const FIRST_NORMAL_OID = 16384;

// A namespace whose objects are dumped.
const NS_OK = `(nspname NOT IN ('pg_catalog', 'information_schema', 'zdm')
  AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%')`;

/** SQL: true when the object (catalog, oid) is a member of an extension. */
const extMember = (catalog: string, oid: string) =>
  `EXISTS (SELECT FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

// The relations whose facts are dumped: in a dumped namespace and not an extension's.
const RELATIONS = `
  SELECT c.*, n.nspname, pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${NS_OK} AND NOT ${extMember('pg_class', 'c.oid')}`;

/** SQL: an aclitem[] as text lines `<what>: GRANT privs TO role [WITH GRANT OPTION] (granted by r)`, one per grantee. */
const aclLines = (what: string, acl: string) => `
  SELECT ${what} || ': GRANT ' || string_agg(g.privilege_type, ', ' ORDER BY g.privilege_type)
         || ' TO ' || CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END
         || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
         || ' (granted by ' || quote_ident(pg_get_userbyid(g.grantor)) || ')' AS line
    FROM aclexplode(${acl}) g
   GROUP BY g.grantor, g.grantee, g.is_grantable`;

/**
 * SQL: the ACL lines of objects whose ACL is not the default one (NULL or equal to acldefault); the
 * whole ACL is listed then, so a revoked default (REVOKE EXECUTE … FROM PUBLIC) shows as a missing line.
 */
const nonDefaultAcl = (from: string, what: string, acl: string, defaultAcl: string) => `
  SELECT x.line FROM (${from}) o, LATERAL (${aclLines(what, `coalesce(${acl}, ${defaultAcl})`)}) x
   WHERE (SELECT array_agg(i::text ORDER BY i::text) FROM unnest(coalesce(${acl}, ${defaultAcl})) i)
         IS DISTINCT FROM (SELECT array_agg(i::text ORDER BY i::text) FROM unnest(${defaultAcl}) i)`;

/** SQL: the text of a deparsed definition on one line (newlines shown as `\n`). */
const oneLine = (expr: string) => `replace(rtrim(${expr}, E'\\n'), E'\\n', '\\n')`;

// A view's definition on one line: whitespace collapsed (pg_get_viewdef indents and wraps), no final `;`.
const VIEW_DEF = `rtrim(btrim(regexp_replace(pg_get_viewdef(c.oid, true), '\\s+', ' ', 'g')), ';')`;

// An index's definition with its storage parameters sorted: pg_get_indexdef prints them in the
// order they were given, which is no difference.
const INDEX_DEF = `CASE WHEN ic.reloptions IS NULL THEN pg_get_indexdef(x.indexrelid)
  ELSE regexp_replace(pg_get_indexdef(x.indexrelid), ' WITH \\((?:[a-z_]+=(?:''[^'']*''|[^,)]*)(?:, )?)+\\)', '')
       || ' WITH (' || (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(ic.reloptions) o) || ')' END`;

const QUERIES: Readonly<Record<string, string>> = {
  database: `
    SELECT 'comment on database: ' || quote_literal(d.description) AS line
      FROM pg_shdescription d
     WHERE d.classoid = 'pg_database'::regclass
       AND d.objoid = (SELECT oid FROM pg_database WHERE datname = current_database())`,

  schemas: `
    SELECT 'schema ' || quote_ident(nspname) AS line FROM pg_namespace n
     WHERE ${NS_OK} AND NOT ${extMember('pg_namespace', 'n.oid')}`,

  extensions: `
    SELECT 'extension ' || quote_ident(x.extname) || ': VERSION ' || quote_literal(x.extversion)
           || ' SCHEMA ' || quote_ident(n.nspname) AS line
      FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`,

  types: `
    SELECT 'type ' || format_type(t.oid, NULL) || ': ' || CASE t.typtype
             WHEN 'e' THEN 'ENUM (' || coalesce((SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder)
                                        FROM pg_enum WHERE enumtypid = t.oid), '') || ')'
             WHEN 'd' THEN 'DOMAIN ' || format_type(t.typbasetype, t.typtypmod)
                 || CASE WHEN t.typcollation <> 0 AND t.typcollation IS DISTINCT FROM bt.typcollation
                         THEN ' COLLATE ' || (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                                              JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation)
                         ELSE '' END
                 || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                 || coalesce(' DEFAULT ' || pg_get_expr(t.typdefaultbin, 0), '')
             WHEN 'c' THEN 'COMPOSITE (' || coalesce((
                 SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                        || CASE WHEN a.attcollation <> 0 AND a.attcollation IS DISTINCT FROM at.typcollation
                                THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END,
                        ', ' ORDER BY a.attnum)
                   FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')'
             WHEN 'r' THEN (SELECT 'RANGE (SUBTYPE = ' || format_type(r.rngsubtype, NULL)
                 || ', SUBTYPE_OPCLASS = ' || (SELECT format('%I.%I', on_.nspname, oc.opcname) FROM pg_opclass oc
                                               JOIN pg_namespace on_ ON on_.oid = oc.opcnamespace WHERE oc.oid = r.rngsubopc)
                 || CASE WHEN r.rngcollation <> 0 THEN ', COLLATION = ' || r.rngcollation::regcollation::text ELSE '' END
                 || CASE WHEN r.rngcanonical <> 0 THEN ', CANONICAL = ' || r.rngcanonical::regproc::text ELSE '' END
                 || CASE WHEN r.rngsubdiff <> 0 THEN ', SUBTYPE_DIFF = ' || r.rngsubdiff::regproc::text ELSE '' END
                 || ', MULTIRANGE_TYPE_NAME = ' || format_type(r.rngmultitypid, NULL) || ')'
                 FROM pg_range r WHERE r.rngtypid = t.oid)
             WHEN 'm' THEN 'MULTIRANGE'
             WHEN 'p' THEN 'PSEUDO'
             ELSE 'BASE (INPUT = ' || t.typinput::regproc::text || ', OUTPUT = ' || t.typoutput::regproc::text
                 || ', INTERNALLENGTH = ' || t.typlen || ', ALIGNMENT = ' || t.typalign::text || ', STORAGE = ' || t.typstorage::text
                 || CASE WHEN t.typisdefined THEN '' ELSE ', SHELL' END || ')'
           END AS line
      FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
     WHERE ${NS_OK} AND NOT ${extMember('pg_type', 't.oid')}
       -- A table's row type and the array types PostgreSQL makes come with their base object.
       AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
       AND NOT (t.typcategory = 'A' AND t.typelem <> 0
                AND EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid))
       AND NOT (t.typtype = 'm')`,

  sequences: `
    SELECT 'sequence ' || c.qname || ': ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END
           || 'AS ' || format_type(s.seqtypid, NULL) || ' START ' || s.seqstart || ' INCREMENT ' || s.seqincrement
           || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache
           || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END
           || coalesce((SELECT CASE d.deptype WHEN 'i' THEN ' IDENTITY OF ' ELSE ' OWNED BY ' END
                               || format('%I.%I.%I', tn.nspname, t.relname, a.attname)
                          FROM pg_depend d
                          JOIN pg_class t ON t.oid = d.refobjid
                          JOIN pg_namespace tn ON tn.oid = t.relnamespace
                          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                           AND d.refobjsubid > 0), '') AS line
      FROM (${RELATIONS}) c JOIN pg_sequence s ON s.seqrelid = c.oid
     WHERE c.relkind = 'S'`,

  relations: `
    SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN 'foreign table '
                          ELSE 'table ' END || c.qname || ': '
           || CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' END
           || CASE c.relpersistence WHEN 'u' THEN ' UNLOGGED' WHEN 't' THEN ' TEMPORARY' ELSE '' END
           || coalesce(' USING ' || (SELECT quote_ident(amname) FROM pg_am WHERE oid = c.relam), '')
           || coalesce(' WITH (' || (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(c.reloptions) o) || ')', '')
           || CASE WHEN c.relkind = 'p' THEN ' PARTITION BY ' || pg_get_partkeydef(c.oid) ELSE '' END
           || CASE WHEN c.relispartition
                   THEN coalesce(' PARTITION OF ' || (SELECT p.oid::regclass::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                                                       WHERE i.inhrelid = c.oid), '')
                        || ' ' || pg_get_expr(c.relpartbound, c.oid)
                   ELSE coalesce(' INHERITS (' || (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)
                                                  FROM pg_inherits i WHERE i.inhrelid = c.oid) || ')', '') END
           || CASE WHEN c.relrowsecurity THEN ' ROW LEVEL SECURITY' ELSE '' END
           || CASE WHEN c.relforcerowsecurity THEN ' FORCE ROW LEVEL SECURITY' ELSE '' END
           -- Views and materialized views have relreplident 'n' whatever is done to them.
           || CASE WHEN c.relkind NOT IN ('r', 'p') THEN '' ELSE CASE c.relreplident WHEN 'n' THEN ' REPLICA IDENTITY NOTHING' WHEN 'f' THEN ' REPLICA IDENTITY FULL'
                  WHEN 'i' THEN ' REPLICA IDENTITY USING INDEX '
                       || coalesce((SELECT quote_ident(ic.relname) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                                     WHERE x.indrelid = c.oid AND x.indisreplident), '?')
                  ELSE '' END END
           || CASE WHEN c.relkind IN ('v', 'm') THEN ' AS ' || ${VIEW_DEF} ELSE '' END
           || CASE WHEN c.relkind = 'm' THEN CASE WHEN c.relispopulated THEN ' WITH DATA' ELSE ' WITH NO DATA' END ELSE '' END
           || CASE WHEN c.relkind = 'f' THEN coalesce(' SERVER ' || (SELECT quote_ident(s.srvname) FROM pg_foreign_table ft
                                                                      JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid), '')
                                        || coalesce(' OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o) FROM pg_foreign_table ft, unnest(ft.ftoptions) o
                                                                     WHERE ft.ftrelid = c.oid) || ')', '')
                  ELSE '' END AS line
      FROM (${RELATIONS}) c
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')`,

  columns: `
    SELECT 'column ' || c.qname || '.' || quote_ident(a.attname) || ': ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attcollation <> 0 AND a.attcollation IS DISTINCT FROM t.typcollation
                   THEN ' COLLATE ' || (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                                        JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
                   ELSE '' END
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
           || CASE WHEN a.attgenerated = '' AND a.atthasdef
                   THEN ' DEFAULT ' || (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                                        WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) ELSE '' END
           || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
           || CASE WHEN a.attgenerated <> ''
                   THEN ' GENERATED ALWAYS AS (' || (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                                                      WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) || ')'
                        || CASE a.attgenerated WHEN 's' THEN ' STORED' ELSE ' VIRTUAL' END
                   ELSE '' END
           || CASE WHEN a.attstorage <> t.typstorage THEN ' STORAGE ' || CASE a.attstorage WHEN 'p' THEN 'PLAIN'
                   WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' WHEN 'x' THEN 'EXTENDED' END ELSE '' END
           || CASE a.attcompression WHEN 'p' THEN ' COMPRESSION pglz' WHEN 'l' THEN ' COMPRESSION lz4' ELSE '' END
           || coalesce(' STATISTICS ' || nullif(nullif(a.attstattarget::text, '-1'), ''), '')
           || coalesce(' WITH (' || (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(a.attoptions) o) || ')', '')
           || coalesce(' OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(a.attfdwoptions) o) || ')', '')
           -- Inheritance children: whether the column is inherited, declared locally, or both. Not
           -- for partitions, where PARTITION OF and CREATE TABLE + ATTACH differ only in this flag.
           || CASE WHEN c.relispartition OR a.attinhcount = 0 THEN ''
                   WHEN a.attislocal THEN ' (inherited, also local)' ELSE ' (inherited)' END AS line
      FROM (${RELATIONS}) c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
     WHERE c.relkind IN ('r', 'p', 'f')`,

  constraints: `
    SELECT 'constraint ' || coalesce(c.qname || '.', 'on domain ' || format_type(co.contypid, NULL) || ' ')
           || quote_ident(co.conname) || ': ' || pg_get_constraintdef(co.oid)
           || CASE WHEN co.conparentid <> 0 THEN ' (from the partitioned parent)'
                   WHEN c.relispartition OR co.coninhcount = 0 THEN ''
                   WHEN co.conislocal THEN ' (inherited, also local)' ELSE ' (inherited)' END AS line
      FROM pg_constraint co
      LEFT JOIN (${RELATIONS}) c ON c.oid = co.conrelid
      LEFT JOIN pg_type dt ON dt.oid = co.contypid
      LEFT JOIN pg_namespace dn ON dn.oid = dt.typnamespace
     WHERE (co.conrelid <> 0 AND c.oid IS NOT NULL)
        OR (co.contypid <> 0 AND ${NS_OK.replaceAll('nspname', 'dn.nspname')} AND NOT ${extMember('pg_type', 'dt.oid')})`,

  indexes: `
    SELECT 'index ' || format('%I.%I', c.nspname, ic.relname) || ': ' || ${INDEX_DEF}
           || CASE WHEN NOT x.indisvalid THEN ' (INVALID)' ELSE '' END
           || CASE WHEN x.indisclustered THEN ' (CLUSTER)' ELSE '' END
           || coalesce(' (partition of index ' || (SELECT i.inhparent::regclass::text FROM pg_inherits i
                                                  WHERE i.inhrelid = x.indexrelid) || ')', '') AS line
      FROM pg_index x
      JOIN (${RELATIONS}) c ON c.oid = x.indrelid
      JOIN pg_class ic ON ic.oid = x.indexrelid`,

  routines: `
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
           || format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || '): '
           || CASE WHEN p.prokind = 'a'
                   THEN (SELECT 'SFUNC = ' || a.aggtransfn::regproc::text || ', STYPE = ' || format_type(a.aggtranstype, NULL)
                                || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
                                || coalesce(', INITCOND = ' || quote_literal(a.agginitval), '')
                           FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                   ELSE ${oneLine('pg_get_functiondef(p.oid)')} END AS line
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${NS_OK} AND NOT ${extMember('pg_proc', 'p.oid')}`,

  triggers: `
    SELECT 'trigger ' || c.qname || '.' || quote_ident(t.tgname) || ': ' || pg_get_triggerdef(t.oid)
           || CASE t.tgenabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)' WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END
           || CASE WHEN t.tgparentid <> 0 THEN ' (from the partitioned parent)' ELSE '' END AS line
      FROM pg_trigger t JOIN (${RELATIONS}) c ON c.oid = t.tgrelid
     WHERE NOT t.tgisinternal`,

  rules: `
    SELECT 'rule ' || c.qname || '.' || quote_ident(r.rulename) || ': ' || ${oneLine('pg_get_ruledef(r.oid)')}
           || CASE r.ev_enabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)' WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS line
      FROM pg_rewrite r JOIN (${RELATIONS}) c ON c.oid = r.ev_class
     WHERE r.rulename <> '_RETURN'`,

  policies: `
    SELECT 'policy ' || c.qname || '.' || quote_ident(p.polname) || ': '
           || CASE WHEN p.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END
           || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                       WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
           || ' TO ' || (SELECT string_agg(CASE r WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', '
                                           ORDER BY CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END)
                           FROM unnest(p.polroles) r)
           || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
           || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') AS line
      FROM pg_policy p JOIN (${RELATIONS}) c ON c.oid = p.polrelid`,

  statistics: `
    SELECT 'statistics ' || format('%I.%I', n.nspname, s.stxname) || ': ' || pg_get_statisticsobjdef(s.oid) AS line
      FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
     WHERE ${NS_OK} AND NOT ${extMember('pg_statistic_ext', 's.oid')}`,

  // Other kinds of objects, by identity only (their definitions are not compared).
  others: `
    SELECT 'object ' || o.type || ' ' || o.identity AS line
      FROM (
        SELECT 'pg_collation'::regclass AS cat, oid FROM pg_collation WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_conversion'::regclass, oid FROM pg_conversion WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_operator'::regclass, oid FROM pg_operator WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_opclass'::regclass, oid FROM pg_opclass WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_opfamily'::regclass, oid FROM pg_opfamily WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_ts_config'::regclass, oid FROM pg_ts_config WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_ts_dict'::regclass, oid FROM pg_ts_dict WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_ts_parser'::regclass, oid FROM pg_ts_parser WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_ts_template'::regclass, oid FROM pg_ts_template WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_cast'::regclass, oid FROM pg_cast WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_transform'::regclass, oid FROM pg_transform WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_language'::regclass, oid FROM pg_language WHERE oid >= ${FIRST_NORMAL_OID}
        UNION ALL SELECT 'pg_event_trigger'::regclass, oid FROM pg_event_trigger
        UNION ALL SELECT 'pg_publication'::regclass, oid FROM pg_publication
        UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid FROM pg_foreign_data_wrapper
        UNION ALL SELECT 'pg_foreign_server'::regclass, oid FROM pg_foreign_server
      ) x
      CROSS JOIN LATERAL pg_identify_object(x.cat, x.oid, 0) o
     WHERE (o.schema IS NULL OR o.schema NOT IN ('pg_catalog', 'information_schema', 'zdm'))
       AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = x.cat AND e.objid = x.oid AND e.deptype = 'e')`,

  // Casts (CREATE CAST): how each converts and when it applies; a range type's cast to its
  // multirange (deptype 'i') is the type's.
  casts: `
    SELECT 'cast (' || format_type(k.castsource, NULL) || ' AS ' || format_type(k.casttarget, NULL) || ') '
        || CASE k.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || k.castfunc::regprocedure::text
             WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END
        || CASE k.castcontext WHEN 'a' THEN ' AS ASSIGNMENT' WHEN 'i' THEN ' AS IMPLICIT' ELSE '' END AS line
      FROM pg_cast k
     WHERE k.oid >= ${FIRST_NORMAL_OID}
       AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_cast'::regclass AND e.objid = k.oid
         AND e.deptype IN ('e', 'i'))`,

  acls: `
    ${nonDefaultAcl(`SELECT n.oid, n.nspname, n.nspacl, n.nspowner FROM pg_namespace n WHERE ${NS_OK}`, `'acl on schema ' || quote_ident(o.nspname)`, 'o.nspacl', `acldefault('n', o.nspowner)`)}
    UNION ALL
    ${nonDefaultAcl(`${RELATIONS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')`, `'acl on ' || CASE o.relkind WHEN 'S' THEN 'sequence ' ELSE 'relation ' END || o.qname`, 'o.relacl', `acldefault(CASE o.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", o.relowner)`)}
    UNION ALL
    SELECT x.line FROM (${RELATIONS}) c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL,
      LATERAL (${aclLines(`'acl on column ' || c.qname || '.' || quote_ident(a.attname)`, 'a.attacl')}) x
    UNION ALL
    ${nonDefaultAcl(`SELECT p.*, format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS qname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${NS_OK} AND NOT ${extMember('pg_proc', 'p.oid')}`, `'acl on routine ' || o.qname`, 'o.proacl', `acldefault('f', o.proowner)`)}
    UNION ALL
    ${nonDefaultAcl(`SELECT t.* FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${NS_OK} AND NOT ${extMember('pg_type', 't.oid')}`, `'acl on type ' || format_type(o.oid, NULL)`, 'o.typacl', `acldefault('T', o.typowner)`)}
    UNION ALL
    SELECT x.line FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace,
      LATERAL (${aclLines(
        `'default acl of role ' || quote_ident(pg_get_userbyid(d.defaclrole)) || coalesce(' in schema ' || quote_ident(n.nspname), '') || ' on ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END`,
        'd.defaclacl',
      )}) x`,

  owners: `
    WITH dba AS (SELECT datdba FROM pg_database WHERE datname = current_database())
    SELECT 'owner of schema ' || quote_ident(n.nspname) || ': ' || quote_ident(pg_get_userbyid(n.nspowner)) AS line
      FROM pg_namespace n, dba WHERE ${NS_OK} AND n.nspowner <> dba.datdba AND NOT ${extMember('pg_namespace', 'n.oid')}
    UNION ALL
    SELECT 'owner of relation ' || c.qname || ': ' || quote_ident(pg_get_userbyid(c.relowner))
      FROM (${RELATIONS}) c, dba WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> dba.datdba
    UNION ALL
    SELECT 'owner of routine ' || format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || '): '
           || quote_ident(pg_get_userbyid(p.proowner))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, dba
     WHERE ${NS_OK} AND p.proowner <> dba.datdba AND NOT ${extMember('pg_proc', 'p.oid')}
    UNION ALL
    SELECT 'owner of type ' || format_type(t.oid, NULL) || ': ' || quote_ident(pg_get_userbyid(t.typowner))
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace, dba
     WHERE ${NS_OK} AND t.typowner <> dba.datdba AND t.typrelid = 0 AND t.typcategory <> 'A' AND NOT ${extMember('pg_type', 't.oid')}
    UNION ALL
    SELECT 'owner of extension ' || quote_ident(x.extname) || ': ' || quote_ident(pg_get_userbyid(x.extowner))
      FROM pg_extension x, dba WHERE x.extowner <> dba.datdba AND x.oid >= ${FIRST_NORMAL_OID}`,

  // Comments on every object, named by pg_identify_object (schema-qualified, no OIDs). Built-in
  // objects are left out, but for the public schema, whose comment initdb sets and a user may change.
  comments: `
    SELECT 'comment on ' || o.type || ' ' || o.identity || ': ' || quote_literal(d.description) AS line
      FROM pg_description d
      CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
     WHERE (d.objoid >= ${FIRST_NORMAL_OID}
            OR (d.classoid = 'pg_namespace'::regclass AND d.objoid = 'public'::regnamespace))
       AND (o.schema IS NULL OR (o.schema NOT IN ('pg_catalog', 'information_schema', 'zdm')
                                 AND o.schema NOT LIKE 'pg\\_toast%' AND o.schema NOT LIKE 'pg\\_temp\\_%'))
       AND NOT (d.classoid = 'pg_namespace'::regclass AND o.identity = 'zdm')
       AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
       -- A comment on a constraint, trigger, rule, policy, column: left out with its relation.
       AND NOT EXISTS (SELECT FROM pg_constraint co, pg_depend e
                        WHERE d.classoid = 'pg_constraint'::regclass AND co.oid = d.objoid
                          AND e.classid = 'pg_class'::regclass AND e.objid IN (co.conrelid, co.contypid)
                          AND e.deptype = 'e')
       AND NOT (d.classoid = 'pg_class'::regclass
                AND EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = d.objoid AND e.deptype = 'e'))`,
};

/**
 * Every fact of the database's schema as one line, sorted; duplicates kept (a set comparison of two
 * dumps must see them). Runs in one read-only transaction with search_path = pg_catalog.
 */
export async function catalogDump(client: pg.ClientBase): Promise<string[]> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await client.query('SET LOCAL search_path = pg_catalog');
    const lines: string[] = [];
    for (const [part, sql] of Object.entries(QUERIES)) {
      let rows: { line: string | null }[];
      try {
        rows = (await client.query<{ line: string | null }>(sql)).rows;
      } catch (err) {
        throw new Error(`catalogDump: the ${part} query failed: ${(err as Error).message}`, { cause: err });
      }
      for (const r of rows) {
        if (r.line === null) throw new Error(`catalogDump: the ${part} query gave a NULL line`);
        lines.push(r.line);
      }
    }
    return lines.sort();
  } finally {
    await client.query('COMMIT');
  }
}

export interface DumpDifference {
  readonly onlyInA: readonly string[];
  readonly onlyInB: readonly string[];
}

/** Lines of `a` not in `b` and of `b` not in `a`, as multisets (a line twice in one counts twice). */
export function compareDumps(a: readonly string[], b: readonly string[]): DumpDifference {
  const count = new Map<string, number>();
  for (const l of b) count.set(l, (count.get(l) ?? 0) + 1);
  const onlyInA: string[] = [];
  for (const l of a) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else onlyInA.push(l);
  }
  const onlyInB = [...count].flatMap(([l, n]) => Array<string>(n).fill(l));
  return { onlyInA: onlyInA.sort(), onlyInB: onlyInB.sort() };
}

/** The difference as a reviewer reads it: `- line` only in A, `+ line` only in B. */
export function formatDifference(d: DumpDifference, a = 'A', b = 'B'): string {
  return [
    `${d.onlyInA.length} line(s) only in ${a}:`,
    ...d.onlyInA.map((l) => `  - ${l}`),
    `${d.onlyInB.length} line(s) only in ${b}:`,
    ...d.onlyInB.map((l) => `  + ${l}`),
  ].join('\n');
}
