/**
 * The referee of the convergence tests (test/support/catalog-dump.ts) proven against a server: two
 * databases with the same schema built in a different order (other OIDs, other column order, zdm's
 * journal schema in one) dump the same lines; then each kind of fact it claims to cover is changed
 * in one of them, and the difference must show that fact.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { catalogDump, compareDumps, type DumpDifference } from '../support/catalog-dump.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const SCHEMA = `
CREATE SCHEMA s2;
COMMENT ON SCHEMA s2 IS 'second';
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE s2.mood AS ENUM ('sad', 'ok');
CREATE DOMAIN s2.pos AS integer CONSTRAINT pos_check CHECK (VALUE > 0);
CREATE TYPE s2.pair AS (x integer, y text);
CREATE TYPE s2.span AS RANGE (subtype = integer);
CREATE SEQUENCE s2.seq INCREMENT 2 MINVALUE 5 MAXVALUE 500 START 10 CACHE 3 CYCLE;
CREATE TABLE s2.t (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  qty integer NOT NULL DEFAULT 1 CHECK (qty > 0),
  note text,
  label text,
  twice integer GENERATED ALWAYS AS (qty * 2) STORED,
  m s2.mood,
  email citext UNIQUE
);
CREATE INDEX t_note_idx ON s2.t (note) WHERE note IS NOT NULL;
CREATE TABLE s2.other (id serial PRIMARY KEY, t_id bigint REFERENCES s2.t (id) ON DELETE CASCADE);
CREATE TABLE s2.parts (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE s2.parts_a PARTITION OF s2.parts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE s2.parts_b PARTITION OF s2.parts FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX parts_at_idx ON s2.parts (at);
CREATE TABLE s2.parent (id int, at timestamptz DEFAULT now());
CREATE TABLE s2.child (extra text) INHERITS (s2.parent);
CREATE VIEW s2.v AS SELECT id, qty FROM s2.t WHERE qty > 1;
CREATE MATERIALIZED VIEW s2.mv AS SELECT count(*) AS n FROM s2.t WITH NO DATA;
CREATE FUNCTION s2.f(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT n + 1 $$;
CREATE PROCEDURE s2.p() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE AGGREGATE s2.total(integer) (SFUNC = int4pl, STYPE = integer, INITCOND = '0');
CREATE FUNCTION s2.trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE UPDATE ON s2.t FOR EACH ROW EXECUTE FUNCTION s2.trg();
ALTER TABLE s2.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY p1 ON s2.t USING (qty > 0);
CREATE STATISTICS s2.st ON qty, note FROM s2.t;
GRANT USAGE ON SCHEMA s2 TO PUBLIC;
COMMENT ON TABLE s2.t IS 'the table';
COMMENT ON COLUMN s2.t.qty IS 'how many';
COMMENT ON INDEX s2.t_note_idx IS 'notes';
COMMENT ON FUNCTION s2.f(integer) IS 'adds one';
`;

/** A change to database B and a regex one of the lines it makes differ must match. */
const CHANGES: readonly (readonly [string, RegExp])[] = [
  ['ALTER TABLE s2.t SET (fillfactor = 70)', /^\+ table s2\.t: TABLE USING heap WITH \(fillfactor=70\)/],
  ['ALTER TABLE s2.t FORCE ROW LEVEL SECURITY', /^\+ table s2\.t: .*ROW LEVEL SECURITY FORCE ROW LEVEL SECURITY/],
  ['ALTER TABLE s2.other REPLICA IDENTITY FULL', /^\+ table s2\.other: .*REPLICA IDENTITY FULL/],
  [
    "COMMENT ON CONSTRAINT t_qty_check ON s2.t IS 'positive'",
    /^\+ comment on table constraint t_qty_check on s2\.t: 'positive'$/,
  ],
  [
    'ALTER SEQUENCE s2.seq INCREMENT 7',
    /^\+ sequence s2\.seq: AS bigint START 10 INCREMENT 7 MINVALUE 5 MAXVALUE 500 CACHE 3 CYCLE$/,
  ],
  [
    'ALTER TABLE s2.t ALTER COLUMN id SET INCREMENT BY 3',
    /^\+ sequence s2\.t_id_seq: .*INCREMENT 3 .*IDENTITY OF s2\.t\.id$/,
  ],
  ['ALTER TABLE s2.t ALTER COLUMN note SET STORAGE EXTERNAL', /^\+ column s2\.t\.note: text .*STORAGE EXTERNAL/],
  ['ALTER TABLE s2.t ALTER COLUMN note SET STATISTICS 500', /^\+ column s2\.t\.note: .*STATISTICS 500/],
  ['ALTER TABLE s2.t ALTER COLUMN note SET (n_distinct = 5)', /^\+ column s2\.t\.note: .*WITH \(n_distinct=5\)/],
  [
    'ALTER TABLE s2.t ALTER COLUMN label TYPE text COLLATE "C"',
    /^\+ column s2\.t\.label: text COLLATE pg_catalog\."C"/,
  ],
  ['ALTER TABLE s2.t ALTER COLUMN label SET COMPRESSION pglz', /^\+ column s2\.t\.label: .*COMPRESSION pglz/],
  ['ALTER TABLE s2.t ALTER COLUMN qty SET DEFAULT 5', /^\+ column s2\.t\.qty: integer NOT NULL DEFAULT 5$/],
  [
    'ALTER TABLE s2.t ADD CONSTRAINT t_cap CHECK (qty < 1000) NOT VALID',
    /^\+ constraint s2\.t\.t_cap: CHECK \(\(qty < 1000\)\) NOT VALID$/,
  ],
  ['ALTER TABLE s2.t CLUSTER ON t_pkey', /^\+ index s2\.t_pkey: .* \(CLUSTER\)$/],
  [
    'ALTER INDEX s2.t_note_idx SET (fillfactor = 50)',
    /^\+ index s2\.t_note_idx: CREATE INDEX t_note_idx ON s2\.t USING btree \(note\) WHERE \(note IS NOT NULL\) WITH \(fillfactor=50\)$/,
  ],
  ["COMMENT ON COLUMN s2.t.label IS 'shown'", /^\+ comment on table column s2\.t\.label: 'shown'$/],
  ["COMMENT ON SCHEMA public IS 'changed'", /^\+ comment on schema public: 'changed'$/],
  ['GRANT SELECT ON s2.t TO PUBLIC', /^\+ acl on relation s2\.t: GRANT SELECT TO PUBLIC \(granted by /],
  ['GRANT UPDATE (note) ON s2.t TO PUBLIC', /^\+ acl on column s2\.t\.note: GRANT UPDATE TO PUBLIC/],
  ['REVOKE EXECUTE ON FUNCTION s2.f(integer) FROM PUBLIC', /^\+ acl on routine s2\.f\(n integer\): GRANT EXECUTE TO /],
  // Types are usable by PUBLIC by default: revoking makes the ACL differ.
  ['REVOKE USAGE ON TYPE s2.mood FROM PUBLIC', /^\+ acl on type s2\.mood: GRANT USAGE TO (?!PUBLIC)/],
  ['REVOKE USAGE ON SCHEMA s2 FROM PUBLIC', /^- acl on schema s2: GRANT USAGE TO PUBLIC/],
  ['GRANT USAGE ON SEQUENCE s2.seq TO PUBLIC', /^\+ acl on sequence s2\.seq: GRANT USAGE TO PUBLIC/],
  [
    'ALTER DEFAULT PRIVILEGES IN SCHEMA s2 GRANT SELECT ON TABLES TO PUBLIC',
    /^\+ default acl of role \S+ in schema s2 on tables: GRANT SELECT TO PUBLIC/,
  ],
  [
    'CREATE POLICY p2 ON s2.t AS RESTRICTIVE FOR UPDATE USING (qty > 1)',
    /^\+ policy s2\.t\.p2: AS RESTRICTIVE FOR UPDATE TO PUBLIC USING/,
  ],
  ['CREATE OR REPLACE VIEW s2.v AS SELECT id, qty FROM s2.t WHERE qty > 2', /^\+ view s2\.v: VIEW AS SELECT .*qty > 2/],
  ['REFRESH MATERIALIZED VIEW s2.mv', /^\+ materialized view s2\.mv: .* WITH DATA$/],
  ['ALTER FUNCTION s2.f(integer) IMMUTABLE', /^\+ function s2\.f\(n integer\): CREATE OR REPLACE FUNCTION .*IMMUTABLE/],
  ['ALTER TABLE s2.t DISABLE TRIGGER t_trg', /^\+ trigger s2\.t\.t_trg: CREATE TRIGGER t_trg .* \(DISABLED\)$/],
  [
    'CREATE TRIGGER t_ins AFTER INSERT ON s2.t FOR EACH ROW WHEN (NEW.qty > 5) EXECUTE FUNCTION s2.trg()',
    /^\+ trigger s2\.t\.t_ins: CREATE TRIGGER t_ins AFTER INSERT ON s2\.t FOR EACH ROW WHEN \(\(new\.qty > 5\)\)/,
  ],
  ['CREATE RULE r2 AS ON DELETE TO s2.other DO INSTEAD NOTHING', /^\+ rule s2\.other\.r2: CREATE RULE r2 AS/],
  [
    'CREATE STATISTICS s2.st2 (ndistinct) ON id, qty FROM s2.t',
    /^\+ statistics s2\.st2: CREATE STATISTICS s2\.st2 \(ndistinct\) ON id, qty FROM s2\.t$/,
  ],
  ["ALTER TYPE s2.mood ADD VALUE 'meh'", /^\+ type s2\.mood: ENUM \('sad', 'ok', 'meh'\)$/],
  ['ALTER DOMAIN s2.pos SET DEFAULT 1', /^\+ type s2\.pos: DOMAIN integer DEFAULT 1$/],
  [
    'ALTER DOMAIN s2.pos ADD CONSTRAINT pos_small CHECK (VALUE < 100)',
    /^\+ constraint on domain s2\.pos pos_small: CHECK \(\(VALUE < 100\)\)$/,
  ],
  ['ALTER TYPE s2.pair ADD ATTRIBUTE z date', /^\+ type s2\.pair: COMPOSITE \(x integer, y text, z date\)$/],
  ['ALTER TABLE s2.child NO INHERIT s2.parent', /^\+ table s2\.child: TABLE USING heap$/],
  ['ALTER TABLE s2.parts DETACH PARTITION s2.parts_b', /^\+ table s2\.parts_b: TABLE USING heap$/],
  ["CREATE COLLATION s2.coll (provider = libc, locale = 'C')", /^\+ object collation s2\.coll$/],
  ['ALTER TABLE s2.other ALTER COLUMN t_id SET NOT NULL', /^\+ column s2\.other\.t_id: bigint NOT NULL$/],
  [
    'ALTER TABLE s2.other RENAME CONSTRAINT other_t_id_fkey TO other_t_fk',
    /^\+ constraint s2\.other\.other_t_fk: FOREIGN KEY/,
  ],
];

describe('catalogDump, the referee of the convergence cases', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  const role = `zdm_t_owner_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    a = await freshDatabase('dump_a');
    b = await freshDatabase('dump_b');
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role}`);
    await admin.end();
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  let base: DumpDifference;
  test('two databases with the same schema, built differently, dump the same lines', async () => {
    await a.exec(SCHEMA);
    await a.exec('CREATE TABLE public.co (a integer, b text)');
    // zdm's journal is not part of the schema.
    await a.exec('CREATE SCHEMA zdm; CREATE TABLE zdm.journal (id int)');
    // Other OIDs in B: objects created and dropped first; the same table with its columns in another order.
    await b.exec('CREATE TABLE shift (x int); CREATE TYPE shift_t AS (x int); DROP TABLE shift; DROP TYPE shift_t');
    await b.exec('CREATE TABLE public.co (b text, a integer)');
    await b.exec(SCHEMA);
    const dumpA = await catalogDump(a.client);
    const dumpB = await catalogDump(b.client);
    base = compareDumps(dumpA, dumpB);
    expect(base).toEqual({ onlyInA: [], onlyInB: [] });
    // What it covers is there, and nothing of the journal, citext's own objects or a database name.
    expect(dumpA.length).toBeGreaterThan(60);
    for (const line of dumpA) {
      expect(line).not.toMatch(/zdm\.journal|schema zdm|citext\(|zdm_t_dump/);
    }
    expect(dumpA).toContain('column public.co.a: integer');
    expect(dumpA.filter((l) => /^extension citext: VERSION '[\d.]+' SCHEMA public$/.test(l))).toHaveLength(1);
  });

  test('each kind of fact it covers shows when it differs', async () => {
    expect(base, 'the first test must pass').toBeDefined();
    await b.exec(CHANGES.map(([sql]) => sql).join(';\n'));
    await b.exec(`ALTER TABLE s2.other OWNER TO ${role}`);
    const d = compareDumps(await catalogDump(a.client), await catalogDump(b.client));
    const lines = [...d.onlyInA.map((l) => `- ${l}`), ...d.onlyInB.map((l) => `+ ${l}`)];
    const shown = lines.join('\n');
    for (const [sql, line] of CHANGES) {
      expect(
        lines.some((l) => line.test(l)),
        `${sql}: no differing line matches ${line}\n${shown}`,
      ).toBe(true);
    }
    expect(lines).toContain(`+ owner of relation s2.other: ${role}`);
  });
});
