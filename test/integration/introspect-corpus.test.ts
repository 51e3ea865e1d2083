/**
 * Introspection of real schemas (../shared/corpus, see its README): each file is loaded into a fresh
 * database, introspected twice, and the model's counts are checked against counts read straight from
 * pg_catalog and against what the corpus README says each schema exercises.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { introspectDetailed, type UnsupportedFeature } from '../../src/introspect/index.js';
import type { DatabaseModel, Partition, Table } from '../../src/model/types.js';
import { corpusUnavailableReason, listCorpus, loadCorpus, missingExtensions } from '../support/corpus.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { expectRoundTrip } from '../support/roundtrip.js';
import { unavailableOutsideCi } from '../support/shared-folder.js';

/**
 * Feature counts the corpus README gives, in its own terms: its "tables" are tables plus partitions,
 * its schema count includes `public`, and its 897 musicbrainz FKs and 1101 indexes are pg_constraint
 * and pg_index rows, clones on partitions included (see `catalogRows` below). Its "150 deferrable" are
 * 147 constraint triggers and 3 deferrable unique constraints: the FKs themselves are not deferrable.
 */
const README_COUNTS: Readonly<Record<string, Partial<ReadmeCounts>>> = {
  chinook: { relations: 11 },
  pagila: { relations: 22, partitionedTables: 1, partitions: 7, enums: 1, domains: 2 },
  synapse: { relations: 138 },
  adventureworks: { relations: 68, allSchemas: 11, checks: 88, relationComments: 427 },
  evaka: { relations: 136, enums: 72, exclusionConstraints: 33, storedGenerated: 50 },
  musicbrainz: {
    relations: 519,
    allSchemas: 11,
    foreignKeyRows: 897,
    checks: 672,
    indexRows: 1101,
    deferrableForeignKeys: 0,
    deferrableUniques: 3,
  },
};

interface Counts {
  schemas: number;
  tables: number;
  partitionedTables: number;
  partitions: number;
  enums: number;
  domains: number;
  foreignKeys: number;
  deferrableForeignKeys: number;
  checks: number;
  exclusionConstraints: number;
  storedGenerated: number;
  indexes: number;
  views: number;
  materializedViews: number;
  functions: number;
  triggers: number;
  // Table properties: a relation (index, column, constraint) that has one in the catalog has it in
  // the model, so pull writes it.
  storageParameters: number;
  indexStorageParameters: number;
  rowLevelSecurity: number;
  forceRowLevelSecurity: number;
  replicaIdentity: number;
  identityColumns: number;
  identityOptions: number;
  constraintComments: number;
  domainCheckComments: number;
}

interface ReadmeCounts extends Counts {
  allSchemas: number;
  relations: number;
  foreignKeyRows: number;
  indexRows: number;
  deferrableUniques: number;
  relationComments: number;
}

function relationsOf(t: Table): (Table | Partition)[] {
  const out: (Table | Partition)[] = [t];
  const walk = (ps: readonly Partition[]): void => {
    for (const p of ps) {
      out.push(p);
      walk(p.partitions);
    }
  };
  walk(t.partitions);
  return out;
}

const descendants = (r: Table | Partition): number => r.partitions.reduce((n, p) => n + 1 + descendants(p), 0);

function modelCounts(m: DatabaseModel): ReadmeCounts {
  const tables = m.schemas.flatMap((s) => s.tables);
  const rels = tables.flatMap(relationsOf);
  const sum = (f: (r: Table | Partition) => number): number => rels.reduce((n, r) => n + f(r), 0);
  const commented = <T extends { readonly comment?: string }>(xs: readonly T[]): number =>
    xs.filter((x) => x.comment !== undefined).length;
  return {
    schemas: m.schemas.filter((s) => s.name !== 'public').length,
    allSchemas: m.schemas.length,
    tables: tables.length,
    relations: rels.length,
    partitionedTables: rels.filter((r) => r.partitionBy).length,
    partitions: rels.length - tables.length,
    enums: m.schemas.reduce((n, s) => n + s.enums.length, 0),
    domains: m.schemas.reduce((n, s) => n + s.domains.length, 0),
    foreignKeys: sum((r) => r.foreignKeys.length),
    // Each partition carries a clone of every foreign key of its ancestors.
    foreignKeyRows: sum((r) => r.foreignKeys.length * (1 + descendants(r))),
    deferrableForeignKeys: sum((r) => r.foreignKeys.filter((f) => f.deferrable).length),
    deferrableUniques: sum((r) => r.uniqueConstraints.filter((u) => u.deferrable).length),
    checks: sum((r) => r.checks.length),
    exclusionConstraints: sum((r) => r.exclusionConstraints.length),
    storedGenerated: tables.reduce((n, t) => n + t.columns.filter((c) => c.generated?.stored).length, 0),
    indexes: sum((r) => r.indexes.length),
    views: m.schemas.reduce((n, s) => n + s.views.length, 0),
    materializedViews: m.schemas.reduce((n, s) => n + s.materializedViews.length, 0),
    // Managed since issue 12: in the model, not only among the dependents.
    functions: m.schemas.reduce((n, s) => n + s.functions.length, 0),
    triggers: m.schemas.reduce((n, s) => n + s.triggers.length, 0),
    storageParameters: rels.filter((r) => r.with !== undefined).length,
    indexStorageParameters: sum((r) => r.indexes.filter((i) => i.with !== undefined).length),
    rowLevelSecurity: rels.filter((r) => r.rowLevelSecurity).length,
    forceRowLevelSecurity: rels.filter((r) => r.forceRowLevelSecurity).length,
    replicaIdentity: rels.filter((r) => r.replicaIdentity !== undefined).length,
    identityColumns: tables.reduce((n, t) => n + t.columns.filter((c) => c.identity !== undefined).length, 0),
    identityOptions: tables.reduce((n, t) => n + t.columns.filter((c) => c.identityOptions !== undefined).length, 0),
    constraintComments: sum((r) =>
      commented([
        ...(r.primaryKey ? [r.primaryKey] : []),
        ...r.uniqueConstraints,
        ...r.checks,
        ...r.foreignKeys,
        ...r.exclusionConstraints,
      ]),
    ),
    domainCheckComments: m.schemas.reduce((n, s) => n + s.domains.reduce((k, d) => k + commented(d.checks), 0), 0),
    // Indexes and constraint indexes are created on every partition too.
    indexRows: sum(
      (r) =>
        (r.indexes.length + (r.primaryKey ? 1 : 0) + r.uniqueConstraints.length + r.exclusionConstraints.length) *
        (1 + descendants(r)),
    ),
    // Comments on pg_class objects (tables, partitions, columns, indexes, sequences), as the README counts.
    relationComments:
      commented(rels) +
      sum((r) => commented(r.indexes)) +
      tables.reduce((n, t) => n + commented(t.columns), 0) +
      m.schemas.reduce((n, s) => n + commented(s.sequences), 0),
  };
}

/** The same counts, computed from pg_catalog alone (independently of src/introspect). */
async function catalogCounts(db: TestDatabase): Promise<{ counts: Counts; tablesPerSchema: Record<string, number> }> {
  const userNs = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'zdm') AND n.nspname NOT LIKE 'pg\\_%'`;
  const notExt = (cls: string, oid: string) =>
    `NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = '${cls}'::pg_catalog.regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
  const rel = `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND ${userNs} AND ${notExt('pg_catalog.pg_class', 'c.oid')}`;
  const perSchema = await db.query<{ schema: string; n: string }>(
    `SELECT n.nspname AS schema, pg_catalog.count(*) AS n ${rel} AND NOT c.relispartition GROUP BY n.nspname`,
  );
  const con = (where: string) =>
    `(SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${userNs} AND k.conparentid = 0 AND ${where})::int`;
  const [row] = await db.query<Record<keyof Counts, number>>(
    `SELECT
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_namespace n WHERE ${userNs} AND n.nspname <> 'public'
        AND ${notExt('pg_catalog.pg_namespace', 'n.oid')})::int AS "schemas",
      (SELECT pg_catalog.count(*) ${rel} AND NOT c.relispartition)::int AS "tables",
      (SELECT pg_catalog.count(*) ${rel} AND c.relkind = 'p')::int AS "partitionedTables",
      (SELECT pg_catalog.count(*) ${rel} AND c.relispartition)::int AS "partitions",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'e' AND ${userNs} AND ${notExt('pg_catalog.pg_type', 't.oid')})::int AS "enums",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'd' AND ${userNs} AND ${notExt('pg_catalog.pg_type', 't.oid')})::int AS "domains",
      ${con(`k.contype = 'f'`)} AS "foreignKeys",
      ${con(`k.contype = 'f' AND k.condeferrable`)} AS "deferrableForeignKeys",
      ${con(`k.contype = 'c' AND k.conislocal`)} AS "checks",
      ${con(`k.contype = 'x'`)} AS "exclusionConstraints",
      (SELECT pg_catalog.count(*) ${rel.replace('WHERE', 'JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid WHERE')}
        AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = 's')::int AS "storedGenerated",
      (SELECT pg_catalog.count(*) ${rel.replace('WHERE', 'JOIN pg_catalog.pg_index i ON i.indrelid = c.oid WHERE')}
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x'))
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid))::int AS "indexes",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'v' AND ${userNs} AND ${notExt('pg_catalog.pg_class', 'c.oid')})::int AS "views",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'm' AND ${userNs} AND ${notExt('pg_catalog.pg_class', 'c.oid')})::int AS "materializedViews",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p', 'a') AND ${userNs} AND ${notExt('pg_catalog.pg_proc', 'p.oid')})::int AS "functions",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND c.relkind IN ('r', 'p', 'v') AND ${userNs})::int AS "triggers",
      (SELECT pg_catalog.count(*) ${rel} AND (c.reloptions IS NOT NULL OR EXISTS (
        SELECT FROM pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid AND t.reloptions IS NOT NULL)))::int AS "storageParameters",
      (SELECT pg_catalog.count(*) ${rel.replace('WHERE', 'JOIN pg_catalog.pg_index i ON i.indrelid = c.oid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE')}
        AND ic.reloptions IS NOT NULL
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x'))
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid))::int AS "indexStorageParameters",
      (SELECT pg_catalog.count(*) ${rel} AND c.relrowsecurity)::int AS "rowLevelSecurity",
      (SELECT pg_catalog.count(*) ${rel} AND c.relforcerowsecurity)::int AS "forceRowLevelSecurity",
      (SELECT pg_catalog.count(*) ${rel} AND c.relreplident <> 'd')::int AS "replicaIdentity",
      (SELECT pg_catalog.count(*) ${rel.replace('WHERE', 'JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid WHERE')}
        AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity <> '')::int AS "identityColumns",
      (SELECT pg_catalog.count(*) ${rel.replace(
        'WHERE',
        `JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
         JOIN pg_catalog.pg_depend d ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
           AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
         JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid WHERE`,
      )}
        AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity <> ''
        AND (s.seqincrement <> 1 OR s.seqcache <> 1 OR s.seqcycle
          OR s.seqmin <> (CASE WHEN s.seqincrement > 0 THEN 1 WHEN a.atttypid = 'int2'::regtype THEN -32768
            WHEN a.atttypid = 'int4'::regtype THEN -2147483648 ELSE -9223372036854775808 END)
          OR s.seqmax <> (CASE WHEN s.seqincrement < 0 THEN -1 WHEN a.atttypid = 'int2'::regtype THEN 32767
            WHEN a.atttypid = 'int4'::regtype THEN 2147483647 ELSE 9223372036854775807 END)
          OR s.seqstart <> (CASE WHEN s.seqincrement > 0 THEN s.seqmin ELSE s.seqmax END)))::int AS "identityOptions",
      ${con(`EXISTS (SELECT FROM pg_catalog.pg_description ds WHERE ds.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
        AND ds.objoid = k.oid) AND (k.contype <> 'c' OR k.conislocal) AND k.contype IN ('p', 'u', 'c', 'f', 'x')`)} AS "constraintComments",
      (SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_type t ON t.oid = k.contypid
        JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'd' AND ${userNs} AND ${notExt('pg_catalog.pg_type', 't.oid')}
          AND EXISTS (SELECT FROM pg_catalog.pg_description ds WHERE ds.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
            AND ds.objoid = k.oid))::int AS "domainCheckComments"`,
  );
  return {
    counts: row as Counts,
    tablesPerSchema: Object.fromEntries(perSchema.map((r) => [r.schema, Number(r.n)])),
  };
}

/** What the README says each schema exercises, checked on the model's objects. */
const FEATURES: Readonly<Record<string, (m: DatabaseModel, unsupported: readonly UnsupportedFeature[]) => void>> = {
  pagila: (m) => {
    const pub = m.schemas.find((s) => s.name === 'public')!;
    expect(pub.enums.find((e) => e.name === 'mpaa_rating')?.values).toEqual(['G', 'PG', 'PG-13', 'R', 'NC-17']);
    expect(pub.domains.find((d) => d.name === 'year')).toEqual({
      kind: 'domain',
      schema: 'public',
      name: 'year',
      type: 'integer',
      nullable: true,
      checks: [{ name: 'year_check', expression: '((VALUE >= 1901) AND (VALUE <= 2155))' }],
      grants: [{ grantee: 'public', privilege: 'USAGE' }],
    });
    const payment = pub.tables.find((t) => t.name === 'payment')!;
    expect(payment.partitionBy).toEqual({ strategy: 'range', columns: ['payment_date'] });
    expect(payment.partitions.map((p) => p.bound.kind)).toEqual(Array(7).fill('range'));
    expect(payment.partitions.map((p) => p.name)).toContain('payment_p2022_01');
    const film = pub.tables.find((t) => t.name === 'film')!;
    expect(film.indexes.find((i) => i.name === 'film_fulltext_idx')).toMatchObject({
      method: 'gist',
      keys: [{ column: 'fulltext', descending: false }],
    });
    // The README's 8 views: 7 views and the materialized view rental_by_category.
    expect(pub.views.length).toBe(7);
    expect(pub.materializedViews.map((v) => v.name)).toEqual(['rental_by_category']);
    expect(pub.materializedViews[0]!.indexes.map((i) => i.name)).toEqual(['rental_category']);
  },
  adventureworks: (m) => {
    const pub = m.schemas.find((s) => s.name === 'public')!;
    expect(pub.domains.map((d) => d.name)).toEqual(
      expect.arrayContaining(['AccountNumber', 'Flag', 'Name', 'NameStyle', 'OrderNumber', 'Phone']),
    );
    expect(pub.domains.find((d) => d.name === 'Flag')).toMatchObject({ type: 'boolean', nullable: false });
    expect(m.extensions.map((e) => e.name)).toEqual(['tablefunc', 'uuid-ossp']);
  },
  evaka: (m, unsupported) => {
    expect(m.extensions).toEqual([
      { kind: 'extension', name: 'btree_gist', schema: 'ext', installedVersion: expect.any(String) },
      { kind: 'extension', name: 'unaccent', installedVersion: expect.any(String) },
      { kind: 'extension', name: 'uuid-ossp', schema: 'ext', installedVersion: expect.any(String) },
    ]);
    // Holds only extension objects, and is still a schema.
    expect(m.schemas.find((s) => s.name === 'ext')).toEqual({
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
    const tables = m.schemas.flatMap((s) => s.tables);
    expect(tables.some((t) => t.columns.some((c) => c.identity !== undefined))).toBe(true);
    const exclusions = tables.flatMap((t) => t.exclusionConstraints);
    expect(exclusions.filter((x) => x.method === 'gist').length).toBe(32);
    expect(exclusions.find((x) => x.name === 'attendance_reservation_no_overlap_without_times')).toEqual({
      kind: 'exclusion',
      name: 'attendance_reservation_no_overlap_without_times',
      method: 'btree',
      elements: [
        { key: { column: 'child_id', descending: false }, operator: '=' },
        { key: { column: 'date', descending: false }, operator: '=' },
      ],
      include: [],
      where: '((start_time IS NULL) AND (end_time IS NULL))',
      deferrable: false,
      initiallyDeferred: false,
    });
    // btree_gist's operator classes (in schema ext) are the defaults for their types: none is named.
    expect(exclusions.flatMap((x) => x.elements.filter((e) => e.key.opclass !== undefined))).toEqual([]);
    expect(exclusions.flatMap((x) => x.elements.map((e) => e.operator))).toContain('&&');
    // Composite types are managed (issue 12): in the model, no longer reported.
    expect(unsupported.filter((u) => u.feature === 'composite type')).toEqual([]);
    expect(m.schemas.flatMap((s) => s.compositeTypes.map((t) => `${t.schema}.${t.name}`))).toEqual(
      expect.arrayContaining(['public.koski_preparatory_input_data', 'public.timerange']),
    );
  },
  musicbrainz: (m) => {
    const rels = m.schemas.flatMap((s) => s.tables).flatMap(relationsOf);
    expect(new Set(rels.flatMap((r) => r.indexes.map((i) => i.method)))).toEqual(
      new Set(['btree', 'gin', 'gist', 'hash', 'brin']),
    );
    const columns = m.schemas.flatMap((s) => s.tables).flatMap((t) => t.columns);
    expect(columns.filter((c) => c.collation === 'musicbrainz.musicbrainz').length).toBeGreaterThan(0);
    expect(m.extensions.map((e) => e.name)).toEqual(['cube', 'earthdistance', 'unaccent']);
  },
  synapse: (m) => {
    const indexes = m.schemas.flatMap((s) => s.tables).flatMap((t) => t.indexes);
    expect(indexes.filter((i) => i.where !== undefined).length).toBeGreaterThan(0);
  },
};

const unavailable = unavailableOutsideCi(corpusUnavailableReason(), 'introspect-corpus');

describe.skipIf(unavailable !== null)('introspection of the corpus', () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it.for(listCorpus().map((e) => [e.name, e] as const))('%s', async ([, entry], ctx) => {
    const db = await freshDatabase(`corpus ${entry.name}`);
    dbs.push(db);
    const missing = await missingExtensions(db, entry);
    if (missing.length > 0) {
      const reason = `${entry.name}: server lacks extension(s) ${missing.join(', ')}`;
      console.log(`introspect-corpus: skipped: ${reason}`);
      ctx.skip(reason);
      return;
    }
    const load = await loadCorpus(db, entry.name);
    if (load.errors.length > 0) {
      // One line per distinct message (a failure inside a BEGIN block aborts the rest of it).
      const byMessage = new Map<string, { count: number; example: string }>();
      for (const e of load.errors) {
        const seen = byMessage.get(e.message);
        if (seen) seen.count++;
        else byMessage.set(e.message, { count: 1, example: e.statement.replace(/\s+/g, ' ').slice(0, 160) });
      }
      console.log(
        `introspect-corpus: ${entry.name} on PostgreSQL ${db.major}: ${load.errors.length} of ${load.statements} statements failed:\n` +
          [...byMessage].map(([m, { count, example }]) => `  ${count} × ${m}\n      first: ${example}`).join('\n'),
      );
    }

    const client = await db.connect();
    try {
      const t0 = performance.now();
      const first = await introspectDetailed(client);
      const t1 = performance.now();
      const second = await introspectDetailed(client);
      const t2 = performance.now();
      expect(second).toEqual(first);

      const counts = modelCounts(first.model);
      console.log(
        `introspect-corpus: ${entry.name} on PostgreSQL ${db.major}: introspected in ${(t1 - t0).toFixed(0)} ms (again: ${(t2 - t1).toFixed(0)} ms): ` +
          JSON.stringify(counts) +
          (first.unsupported.length ? `; ${first.unsupported.length} unsupported features` : ''),
      );

      const catalog = await catalogCounts(db);
      expect(counts).toMatchObject(catalog.counts);
      expect(
        Object.fromEntries(
          first.model.schemas.filter((s) => s.tables.length > 0).map((s) => [s.name, s.tables.length]),
        ),
      ).toEqual(catalog.tablesPerSchema);
      if (load.errors.length === 0) {
        expect(counts).toMatchObject(README_COUNTS[entry.name] ?? {});
        FEATURES[entry.name]?.(first.model, first.unsupported);
      }

      // pull → validate → load gives back the introspected model; normalizing it changes nothing.
      await expectRoundTrip(client, first.model);
    } finally {
      await client.end();
    }
  });
});
