import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesiredState } from '../../src/desired/index.js';
import { introspect } from '../../src/introspect/index.js';
import { canonicalize } from '../../src/model/canonical.js';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const SHOP = `
  CREATE TYPE order_status AS ENUM ('pending', 'active', 'shipped');
  CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
  CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id),
    status order_status NOT NULL DEFAULT 'pending',
    amount numeric(10,2) NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX orders_recent ON orders (created_at DESC) WHERE status = 'active';
  CREATE VIEW active_orders AS SELECT id, customer_id FROM orders WHERE status = 'active';
  COMMENT ON TABLE orders IS 'one row per order';
  COMMENT ON CONSTRAINT orders_amount_check ON orders IS 'no free orders';
  COMMENT ON INDEX customers_email_key IS 'not in the model';
  CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders';
  CREATE AGGREGATE total(integer) (SFUNC = int4pl, STYPE = integer);
  CREATE AGGREGATE running(integer) (SFUNC = int4pl, STYPE = integer, MSFUNC = int4pl, MINVFUNC = int4mi, MSTYPE = integer);
`;

describe('zdm pull and zdm validate (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('cli_pull');
    await db.exec(SHOP);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-cli-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints YAML that validates and loads back to the introspected model, byte-stable across runs', async () => {
    const first = await runCli(['pull', '--database-url', db.url]);
    expect(first.stderr).toContain(
      '2 table(s), 1 view(s), 1 function(s), 1 aggregate(s) in 1 schema(s); left out (not managed by zdm yet): 1 aggregate(s)',
    );
    expect(first.stdout).toContain('    views:\n      active_orders:\n        definition: |-\n          SELECT ');
    // Read but not writable: named on stderr, never dropped silently.
    expect(first.stderr).toContain(
      '1 thing(s) the desired state cannot hold, not written: public.customers: index customers_email_key: comment on the index of a constraint',
    );
    expect(first.stdout).toContain('comment: no free orders');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('orders:');
    const second = await runCli(['pull'], { env: { DATABASE_URL: db.url } });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);

    const file = path.join(dir, 'schema.yaml');
    await writeFile(file, first.stdout);
    const v = await runCli(['validate', file]);
    expect(v.stderr).toBe('');
    expect(v.stdout).toContain('valid (2 table(s), 1 view(s), 1 function(s), 1 aggregate(s) in 1 schema(s))');
    expect(v.code).toBe(0);

    const { model } = await loadDesiredState(file);
    const live = await introspect(db.client);
    expect(canonicalize(model)).toEqual(canonicalize(live));
  });

  it('writes one file per schema with --out DIR, and the directory validates', async () => {
    const out = path.join(dir, 'schema-dir') + path.sep;
    const r = await runCli(['pull', '--database-url', db.url, '--out', out]);
    expect(r.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['public', 'public.yaml']);
    // The view's query in its own file, which the YAML names.
    expect(await readdir(path.join(out, 'public', 'views'))).toEqual(['active_orders.sql']);
    expect(await readFile(path.join(out, 'public.yaml'), 'utf8')).toContain(
      '      active_orders:\n        file: public/views/active_orders.sql\n',
    );
    expect(await readFile(path.join(out, 'public', 'views', 'active_orders.sql'), 'utf8')).toMatch(
      /^SELECT orders\.id,\n|^SELECT id,\n/,
    );
    const v = await runCli(['validate', out]);
    expect(v.code).toBe(0);
    const { model } = await loadDesiredState(out);
    expect(canonicalize(model)).toEqual(canonicalize(await introspect(db.client)));
  });

  it('reads the PG* variables when no URL is given', async () => {
    const u = new URL(db.url);
    const r = await runCli(['pull'], {
      env: { PGHOST: u.hostname, PGPORT: u.port, PGUSER: u.username, PGPASSWORD: u.password, PGDATABASE: db.name },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('customers:');
  });

  it('never prints the password, and exits 3 when it cannot connect', async () => {
    const r = await runCli(['pull', '--database-url', 'postgresql://app:s3cr3t-pw@127.0.0.1:1/shop']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot connect to postgresql://app:***@127.0.0.1:1/shop');
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');
  });

  it('validate exits 1 and points at file:line:column', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(
      bad,
      'version: 1\nschemas:\n  public:\n    tables:\n      t:\n        columns:\n          id: { type: bigint, nulable: false }\n',
    );
    const r = await runCli(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:7:`);
    expect(r.stderr).toContain('nullable');
    expect(await readFile(bad, 'utf8')).toContain('nulable');
  });

  it('--help teaches: summary, flags and examples', async () => {
    const r = await runCli(['pull', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--database-url');
    expect(r.stdout).toContain('EXAMPLES');
  });
});
