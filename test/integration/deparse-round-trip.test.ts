/**
 * Expressions and queries whose deparse PostgreSQL does not parse back into the same tree
 * (src/sql/round-trip.ts; met in the corpus: musicbrainz's checks allowed_collection_entity_type and
 * allowed_series_entity_type, and its view release_event). A schema with those shapes is pulled
 * (`writeDesiredStateFiles(introspect)`, what `zdm pull --out` writes), planned against an empty
 * database and applied there: the two databases must be equal by the catalog dump (the referee,
 * which compares the server's own deparse of the stored trees), and planning again must find
 * nothing. Planning the pulled state against the database it was pulled from must be empty too,
 * without a scratch database (the pulled view is the live one byte for byte).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { writeDesiredStateFiles } from '../../src/desired/index.js';
import { introspect } from '../../src/introspect/index.js';
import { PHASES } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { catalogDump, compareDumps, formatDifference } from '../support/catalog-dump.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const SCHEMA = `
  CREATE TABLE entity_type (
    id int PRIMARY KEY,
    name varchar NOT NULL,
    code varchar(5),
    -- Stored as ARRAY['a'::varchar, …] coerced to text[] as a whole; printed
    -- ((ARRAY['area'::character varying, …])::text[]), which parses as an array of text.
    CONSTRAINT allowed_name CHECK (name IN ('area', 'artist', 'event')),
    CONSTRAINT allowed_code CHECK (code IN ('a'::varchar(5), 'b'::varchar(5)))
  );
  CREATE TABLE known_place (id int PRIMARY KEY, year smallint, country int NOT NULL);
  CREATE TABLE unknown_place (id int PRIMARY KEY, year smallint);
  -- The same IN list in a view, and a UNION branch whose NULL the deparser prints NULL::integer
  -- without its name (?column?), which parsed again is named int4.
  CREATE VIEW place_event AS
    SELECT id, year, country FROM (
      SELECT id, year, country FROM known_place
      UNION ALL
      SELECT id, year, NULL FROM unknown_place
    ) AS q
    WHERE id IN (SELECT e.id FROM entity_type e WHERE e.name IN ('area', 'event'));
`;

/** A scratch URL nothing listens on: a plan that needs a scratch database fails. */
const NO_SCRATCH = 'postgresql://nobody@127.0.0.1:9/none';

describe('pull of expressions whose deparse does not parse back into the same tree', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    source = await freshDatabase('round trip source');
    target = await freshDatabase('round trip target');
    await source.exec(SCHEMA);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-round-trip-'));
    for (const [name, text] of writeDesiredStateFiles(await introspect(source.client))) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pull writes them as the server prints them; the plan sends text that rebuilds that', async () => {
    const printed = await source.query<{ def: string }>(
      `SELECT pg_get_expr(conbin, conrelid) AS def FROM pg_constraint WHERE conname = 'allowed_name'`,
    );
    const yaml = await readFile(path.join(dir, 'public.yaml'), 'utf8');
    expect(yaml).toContain(printed[0]!.def);
    const made = await makePlan(target.client, { desiredPath: dir, name: 'look', scratchUrl: adminUrl() });
    const sql = made.plan.phases.flatMap((p) => p.steps.flatMap((s) => ('sql' in s ? s.sql : []))).join('\n');
    expect(sql).toContain("'event'::character varying]::character varying[])::text[]");
    expect(sql).toContain("'b'::character varying(5)]::character varying(5)[])::text[]");
    expect(sql).toContain('NULL::integer AS "?column?"');
    expect(sql).toContain("'event'::character varying]::character varying[]::text[]");
  });

  it('planned against the database it was pulled from: empty, with no scratch database', async () => {
    const made = await makePlan(source.client, { desiredPath: dir, name: 'same', scratchUrl: NO_SCRATCH });
    expect(made.plan.phases.flatMap((p) => p.steps.map((s) => s.summary))).toEqual([]);
  });

  it('rebuilds an equal schema in an empty database, and planning again finds nothing', async () => {
    const made = await makePlan(target.client, { desiredPath: dir, name: 'rebuild', scratchUrl: adminUrl() });
    for (const phase of PHASES) await applyPhase(target.client, made.plan, { phase, pauseMs: 0 });
    const d = compareDumps(await catalogDump(target.client), await catalogDump(source.client));
    expect(d.onlyInA.length + d.onlyInB.length === 0 ? '' : formatDifference(d, 'rebuilt', 'source')).toBe('');
    const again = await makePlan(target.client, { desiredPath: dir, name: 'again', scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps.map((s) => s.summary))).toEqual([]);
  });
});
