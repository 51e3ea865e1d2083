/**
 * Owners (issue 12): `owner:` in the desired state, the diff against the live owners, the
 * ALTER … OWNER TO steps (phase, group, hazard, declared locks) and `zdm pull --owners`' writer.
 */
import { describe, expect, test } from 'vitest';
import { DesiredStateError, parseDesiredState, writeDesiredState } from '../../../src/desired/index.js';
import { diffModels } from '../../../src/diff/index.js';
import type { DatabaseModel } from '../../../src/model/types.js';
import { flat, plan } from './helpers.js';

const load = (text: string): DatabaseModel => parseDesiredState(text, 'schema.yaml').model;

const DESIRED = `version: 1
schemas:
  app:
    owner: app_owner
    enums:
      mood: { values: [ok], owner: app_owner }
    domains:
      email: { type: text, owner: app_owner }
    compositeTypes:
      pair:
        attributes: { a: { type: integer } }
        owner: app_owner
    sequences:
      invoice_no: { owner: app_owner }
      items_id_seq: { ownedBy: items.id }
    tables:
      items:
        owner: app_owner
        columns:
          id: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
      logs:
        columns:
          id: { type: bigint }
    views:
      v: { definition: SELECT 1 AS one, owner: app_owner }
    materializedViews:
      mv: { definition: SELECT 1 AS one, owner: app_owner }
    functions:
      f:
        returns: integer
        language: sql
        body: SELECT 1
        owner: app_owner
      "g(integer)":
        arguments: [{ type: integer }]
        returns: integer
        language: sql
        body: SELECT 1
    procedures:
      p: { language: sql, body: SELECT 1, owner: app_owner }
`;

/** The desired model with every `owner:` key's object owned by `owner` (the live side), and `logs`, `g` by `other`. */
function liveWith(desired: DatabaseModel, owner: string): DatabaseModel {
  const owners = Object.fromEntries(Object.keys(desired.owners ?? {}).map((k) => [k, owner]));
  return {
    ...desired,
    liveOwners: { ...owners, 'table app.logs': 'other', 'function app.g(integer)': 'other' },
  };
}

describe('owner: in the desired state', () => {
  test('each `owner:` key is an entry of the model owners, by object key; objects without one are not there', () => {
    expect(load(DESIRED).owners).toEqual({
      'schema app': 'app_owner',
      'enum app.mood': 'app_owner',
      'domain app.email': 'app_owner',
      'compositeType app.pair': 'app_owner',
      'sequence app.invoice_no': 'app_owner',
      'table app.items': 'app_owner',
      'view app.v': 'app_owner',
      'materializedView app.mv': 'app_owner',
      'function app.f()': 'app_owner',
      'procedure app.p()': 'app_owner',
    });
  });

  test('a desired state without `owner:` keys has no owners at all', () => {
    expect(
      load('version: 1\nschemas:\n  app:\n    tables:\n      t:\n        columns: { id: { type: int } }\n').owners,
    ).toBe(undefined);
  });

  test('an OWNED BY sequence may not name an owner (PostgreSQL: it is its table’s)', () => {
    const text = `version: 1
schemas:
  app:
    tables:
      t:
        columns: { id: { type: int } }
    sequences:
      t_id_seq: { ownedBy: t.id, owner: app_owner }
`;
    let issues: readonly { line: number; path: string; message: string }[] = [];
    try {
      parseDesiredState(text, 'schema.yaml');
    } catch (e) {
      if (!(e instanceof DesiredStateError)) throw e;
      issues = e.issues;
    }
    expect(issues).toEqual([
      expect.objectContaining({
        line: 8,
        path: 'schemas.app.sequences.t_id_seq.owner',
        message: expect.stringMatching(/has the owner of its table/),
      }),
    ]);
  });

  test('the schema validation rejects an empty owner', () => {
    expect(() => load('version: 1\nschemas:\n  app:\n    owner: ""\n')).toThrow(DesiredStateError);
  });
});

describe('owners in the diff', () => {
  const desired = load(DESIRED);

  test('owners that are what the desired state says are no change; unmanaged ones are never compared', () => {
    expect(diffModels(liveWith(desired, 'app_owner'), desired)).toEqual([]);
  });

  test('each managed owner that differs is one changeOwner, from the live owner to the desired one', () => {
    const changes = diffModels(liveWith(desired, 'someone'), desired);
    expect(changes.every((c) => c.kind === 'changeOwner')).toBe(true);
    expect(changes).toHaveLength(10);
    expect(changes).toContainEqual({
      kind: 'changeOwner',
      on: { kind: 'table', schema: 'app', name: 'items' },
      from: 'someone',
      to: 'app_owner',
    });
  });

  test('an object the plan creates has no live owner: its owner: is a change with no `from`', () => {
    const live: DatabaseModel = { kind: 'database', extensions: [], schemas: [] };
    const changes = diffModels(live, desired).filter((c) => c.kind === 'changeOwner');
    expect(changes).toHaveLength(10);
    expect(changes.every((c) => c.kind === 'changeOwner' && c.from === undefined)).toBe(true);
  });
});

describe('owners in the plan', () => {
  const desired = load(DESIRED);

  test('ALTER … OWNER TO in expand, group owners, app-compat, with the lock each statement takes', () => {
    const steps = flat(plan(liveWith(desired, 'someone'), desired));
    expect(steps.every((s) => s.phase === 'expand')).toBe(true);
    const byObject = Object.fromEntries(
      steps.map((s) => [
        s.sql.join('; '),
        { locks: s.locks.map((l) => `${l.mode} on ${l.relation}`), hazards: s.hazards },
      ]),
    );
    const appCompat = ['app-compat'];
    expect(byObject).toEqual({
      'ALTER SCHEMA app OWNER TO app_owner': { locks: [], hazards: appCompat },
      'ALTER TYPE app.mood OWNER TO app_owner': { locks: [], hazards: appCompat },
      'ALTER DOMAIN app.email OWNER TO app_owner': { locks: [], hazards: appCompat },
      'ALTER TYPE app.pair OWNER TO app_owner': { locks: ['ACCESS EXCLUSIVE on app.pair'], hazards: appCompat },
      'ALTER SEQUENCE app.invoice_no OWNER TO app_owner': {
        locks: ['ACCESS EXCLUSIVE on app.invoice_no'],
        hazards: appCompat,
      },
      'ALTER TABLE app.items OWNER TO app_owner': {
        // Its OWNED BY sequence goes along, under the same lock.
        locks: ['ACCESS EXCLUSIVE on app.items', 'ACCESS EXCLUSIVE on app.items_id_seq'],
        hazards: appCompat,
      },
      'ALTER VIEW app.v OWNER TO app_owner': { locks: ['ACCESS EXCLUSIVE on app.v'], hazards: appCompat },
      'ALTER MATERIALIZED VIEW app.mv OWNER TO app_owner': {
        locks: ['ACCESS EXCLUSIVE on app.mv'],
        hazards: appCompat,
      },
      'ALTER FUNCTION app.f() OWNER TO app_owner': { locks: [], hazards: appCompat },
      'ALTER PROCEDURE app.p() OWNER TO app_owner': { locks: [], hazards: appCompat },
    });
    expect(steps.find((s) => s.sql[0]?.startsWith('ALTER TABLE'))!.summary).toBe(
      'owner of table app.items: someone → app_owner',
    );
  });

  test('on objects the plan creates: after them, with no hazard (nothing used them yet)', () => {
    const live: DatabaseModel = { kind: 'database', extensions: [], schemas: [] };
    const steps = flat(plan(live, desired));
    const owners = steps.filter((s) => s.summary.startsWith('owner of new '));
    expect(owners).toHaveLength(10);
    expect(owners.every((s) => s.hazards.length === 0 && s.phase === 'expand')).toBe(true);
    const createTable = steps.findIndex((s) => s.sql.some((q) => q.startsWith('CREATE TABLE app.items')));
    const alterTable = steps.findIndex((s) => s.sql[0] === 'ALTER TABLE app.items OWNER TO app_owner');
    const createFunction = steps.findIndex((s) => s.sql.some((q) => /^CREATE (OR REPLACE )?FUNCTION app\.f\(/.test(q)));
    const alterFunction = steps.findIndex((s) => s.sql[0] === 'ALTER FUNCTION app.f() OWNER TO app_owner');
    expect(createTable).toBeGreaterThanOrEqual(0);
    expect(createFunction).toBeGreaterThanOrEqual(0);
    expect(alterTable).toBeGreaterThan(createTable);
    expect(alterFunction).toBeGreaterThan(createFunction);
  });

  test('a renamed table: renamed first, its owner changed under the new name, compared with the old one’s', () => {
    const live = load(
      'version: 1\nschemas:\n  app:\n    tables:\n      old:\n        columns: { id: { type: int } }\n',
    );
    const wanted = load(
      'version: 1\nschemas:\n  app:\n    tables:\n      new:\n        renamedFrom: old\n        owner: app_owner\n        columns: { id: { type: int } }\n',
    );
    const same = flat(plan({ ...live, liveOwners: { 'table app.old': 'app_owner' } }, wanted));
    expect(same.some((s) => s.sql.some((q) => q.includes('OWNER TO')))).toBe(false);
    const other = flat(plan({ ...live, liveOwners: { 'table app.old': 'someone' } }, wanted));
    const alter = other.find((s) => s.sql[0] === 'ALTER TABLE app.new OWNER TO app_owner');
    expect(alter?.summary).toBe('owner of table app.new: someone → app_owner');
  });
});

describe('zdm pull --owners (the writer)', () => {
  test('writes owner: where the model has owners, and reading it back gives the same owners', () => {
    const desired = load(DESIRED);
    const text = writeDesiredState(desired, { schemaPath: '' });
    expect(text).toContain('    owner: app_owner\n    enums:');
    expect(text).toContain('mood: { values: [ ok ], owner: app_owner }');
    expect(load(text).owners).toEqual(desired.owners);
  });

  test('an OWNED BY sequence gets no owner: key even when the model has its owner', () => {
    const desired = load(DESIRED);
    const text = writeDesiredState(
      { ...desired, owners: { ...desired.owners, 'sequence app.items_id_seq': 'app_owner' } },
      { schemaPath: '' },
    );
    expect(text).toContain('items_id_seq: { ownedBy: items.id }');
  });

  test('without owners in the model the output is what it was', () => {
    const desired = load(DESIRED);
    const { owners: _o, ...without } = desired;
    expect(writeDesiredState(without, { schemaPath: '' })).not.toContain('owner:');
  });
});
