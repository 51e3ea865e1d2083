/**
 * The JSON Schema of the plan file, the source of `schemas/plan.schema.json` (a unit test keeps the
 * file equal to this; `ZDM_WRITE_SCHEMAS=1` rewrites it). Built from the same constants as the types
 * (PHASES, HAZARDS), so the closed lists cannot drift apart.
 */
import { HAZARD_DESCRIPTIONS, HAZARDS, LOCK_MODES, PHASES } from './types.js';

const str = (description: string, extra: Record<string, unknown> = {}) => ({ description, type: 'string', ...extra });

const stepCommon = {
  id: str('`<phase>.<n>`, n from 1 in execution order.', { pattern: '^(expand|backfill|contract)\\.[1-9][0-9]*$' }),
  summary: str('What the step does, in one line, for the reviewer.', { minLength: 1 }),
  locks: {
    description: 'The locks the step takes, strongest mode per relation.',
    type: 'array',
    items: { $ref: '#/definitions/lock' },
  },
  hazards: {
    description: 'Hazards of the step; `zdm apply` runs it only when each is allowed with --allow-hazards.',
    type: 'array',
    uniqueItems: true,
    items: { $ref: '#/definitions/hazard' },
  },
};

export const PLAN_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:zdm:plan:1',
  title: 'zdm plan (version 1)',
  description:
    'A migration plan written by `zdm plan`: three phases (expand, backfill, contract) of steps, each with its SQL, ' +
    'locks and hazards, and the schema fingerprints that `zdm apply` checks before and after each phase. ' +
    'Do not edit: apply verifies the checksum.',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'id', 'zdm', 'createdAt', 'source', 'phases', 'checksum'],
  properties: {
    version: { description: 'Format version of this file. Always 1.', const: 1 },
    id: str('Plan id: `<UTC timestamp>-<slug>`, e.g. `20261125T120000Z-add-orders-check`.', { minLength: 1 }),
    zdm: str('Version of zdm that wrote the plan.', { minLength: 1 }),
    createdAt: str('When the plan was made (ISO 8601, UTC).', { minLength: 1 }),
    source: {
      description: 'What the plan was made from.',
      type: 'object',
      additionalProperties: false,
      required: ['desiredSha256', 'server', 'fingerprint'],
      properties: {
        desiredSha256: str(
          'sha256 of the desired-state input (the file, or the files of the directory in path order).',
        ),
        server: str('The server the live schema was read from, e.g. `PostgreSQL 16.4`.'),
        fingerprint: {
          description: 'Fingerprint of the live schema the plan was made against.',
          $ref: '#/definitions/fingerprint',
        },
      },
    },
    phases: {
      description: 'expand, backfill and contract, in this order; a phase with nothing to do is present and empty.',
      type: 'array',
      items: { $ref: '#/definitions/phase' },
    },
    rehearsal: {
      description:
        "What `zdm plan`'s rehearsal saw: every phase applied by zdm's apply engine to a scratch copy of the live schema " +
        '(schema only, or with up to N live rows of each table the plan changes under `zdm plan --rehearse-rows N`), ' +
        'each step with the locks read from pg_locks and its duration. `rehearsed: false` when ' +
        '`zdm plan --no-rehearse` skipped it; absent in plans written before rehearsal existed.',
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['rehearsed'],
          properties: { rehearsed: { description: 'The plan was not rehearsed.', const: false } },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['rehearsed', 'server', 'durationMs', 'steps'],
          properties: {
            rehearsed: { description: 'The plan was rehearsed, every step as declared.', const: true },
            server: str('The scratch server, e.g. `PostgreSQL 18.4` (the live major version).'),
            durationMs: {
              description: 'Wall time of the whole rehearsal, copy of the schema included.',
              type: 'integer',
              minimum: 0,
            },
            steps: {
              description: 'Every step, in the order it ran.',
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['id', 'durationMs', 'locks'],
                properties: {
                  id: str('The step id, e.g. `expand.1`.', { pattern: '^(expand|backfill|contract)\\.[1-9][0-9]*$' }),
                  durationMs: {
                    description:
                      'Wall time of the step on the scratch copy (empty, or with the few rows copied): not a forecast of its live duration.',
                    type: 'integer',
                    minimum: 0,
                  },
                  locks: {
                    description:
                      'The relation locks the step held (tables, views, materialized views that existed before it), per relation the modes no other held mode covers.',
                    type: 'array',
                    items: {
                      type: 'object',
                      additionalProperties: false,
                      required: ['relation', 'mode'],
                      properties: {
                        relation: str('`schema.name`.'),
                        mode: { description: 'PostgreSQL table lock mode.', enum: [...LOCK_MODES] },
                      },
                    },
                  },
                },
              },
            },
            rows: {
              description:
                '`zdm plan --rehearse-rows N` (N > 0): the live rows copied into the scratch copy before the phases ran; ' +
                'absent when the copy was schema only.',
              type: 'object',
              additionalProperties: false,
              required: ['limit', 'tables'],
              properties: {
                limit: { description: 'N: rows read of each table the plan changes.', type: 'integer', minimum: 1 },
                tables: {
                  description:
                    'Rows copied per table (`schema.name`; a partitioned table under its root): up to `limit` of each table the plan ' +
                    'changes, plus the rows of referenced tables that the copied rows point to by foreign key.',
                  type: 'object',
                  additionalProperties: { type: 'integer', minimum: 0 },
                },
              },
            },
            scope: {
              description:
                'The part of the live schema the scratch copy held: what the plan changes, what depends on it and what those ' +
                'need (schemas and extensions always, not counted). Absent: the whole live schema was copied.',
              type: 'object',
              additionalProperties: false,
              required: ['objects', 'of'],
              properties: {
                objects: { description: 'Objects copied.', type: 'integer', minimum: 0 },
                of: { description: 'Objects of the live schema.', type: 'integer', minimum: 0 },
              },
            },
          },
        },
      ],
    },
    checksum: {
      description:
        'sha256 over the canonical JSON (keys sorted) of everything above; apply refuses a plan whose content does not match.',
      $ref: '#/definitions/fingerprint',
    },
  },
  definitions: {
    fingerprint: str('`sha256:` and 64 lower-case hex digits.', { pattern: '^sha256:[0-9a-f]{64}$' }),
    objectFingerprints: {
      description:
        'Fingerprints of objects, keyed `<kind> <schema>.<name>` (`table public.orders`, `enum public.status`, `schema public`, `view public.active_orders`, `materializedView public.totals`); ' +
        '`absent` for an object that does not exist at that point.',
      type: 'object',
      additionalProperties: {
        description: 'A fingerprint, or `absent`.',
        anyOf: [{ $ref: '#/definitions/fingerprint' }, { description: 'The object does not exist.', const: 'absent' }],
      },
    },
    phase: {
      description: 'One phase of the plan.',
      type: 'object',
      additionalProperties: false,
      required: ['name', 'before', 'after', 'objects', 'steps'],
      properties: {
        name: { description: 'The phase.', enum: [...PHASES] },
        before: {
          description: 'Fingerprint the live schema must have when the phase starts (drift check).',
          $ref: '#/definitions/fingerprint',
        },
        after: {
          description: 'Fingerprint the live schema must have when the phase is done.',
          $ref: '#/definitions/fingerprint',
        },
        objects: {
          description: 'Fingerprints of the objects the phase touches, as they must be before it runs.',
          $ref: '#/definitions/objectFingerprints',
        },
        objectsAfter: {
          description: 'Fingerprints of the same objects as they must be when the phase is done.',
          $ref: '#/definitions/objectFingerprints',
        },
        steps: {
          description: 'The steps, in execution order.',
          type: 'array',
          items: { $ref: '#/definitions/step' },
        },
      },
    },
    lock: {
      description: 'A lock a step takes.',
      type: 'object',
      additionalProperties: false,
      required: ['relation', 'mode', 'hold'],
      properties: {
        relation: str('`schema.name` of the table (or index, sequence) locked.', { minLength: 1 }),
        mode: { description: 'PostgreSQL table lock mode.', enum: [...LOCK_MODES] },
        hold: {
          description:
            '`instant`: a catalog change, held for milliseconds; `scan`: held while the table is read, rewritten or indexed.',
          enum: ['instant', 'scan'],
        },
      },
    },
    hazard: {
      description: `A hazard of the closed list: ${HAZARDS.map((h) => `\`${h}\`: ${HAZARD_DESCRIPTIONS[h]}`).join('; ')}.`,
      enum: [...HAZARDS],
    },
    step: {
      description:
        'A step: `kind: sql` (statements), `kind: backfill` (a batched UPDATE), `kind: copy` (a batched copy into a partition swap’s shadow table) or `kind: verify` (row count and checksum of two tables).',
      type: 'object',
      required: ['kind'],
      properties: { kind: { description: 'The kind of step.', enum: ['sql', 'backfill', 'copy', 'verify'] } },
      if: { properties: { kind: { description: 'A backfill step.', const: 'backfill' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
      then: { $ref: '#/definitions/backfillStep' },
      else: {
        if: { properties: { kind: { description: 'A copy step.', const: 'copy' } } },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
        then: { $ref: '#/definitions/copyStep' },
        else: {
          if: { properties: { kind: { description: 'A verify step.', const: 'verify' } } },
          // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword
          then: { $ref: '#/definitions/verifyStep' },
          else: { $ref: '#/definitions/sqlStep' },
        },
      },
    },
    copyStep: {
      description:
        'A batched copy of every row of `from` into `to` in key order (`INSERT … SELECT`, the rows whose copy `to` has skipped as `insert` says, the rows read `FOR SHARE` under the `for-share` guard), one transaction per batch, resumable from the journaled cursor; under the `repair` guard, the copy ends by deleting the rows of `to` a concurrent delete left behind.',
      type: 'object',
      additionalProperties: false,
      required: [
        'id',
        'kind',
        'summary',
        'from',
        'to',
        'columns',
        'key',
        'overridingSystemValue',
        'batchSize',
        'sql',
        'transaction',
        'locks',
        'hazards',
      ],
      properties: {
        id: stepCommon.id,
        kind: { description: 'Always `copy`.', const: 'copy' },
        summary: stepCommon.summary,
        from: { description: 'The table copied.', $ref: '#/definitions/relation' },
        to: { description: 'The table the rows are copied into.', $ref: '#/definitions/relation' },
        columns: {
          description: 'Columns copied.',
          type: 'array',
          minItems: 1,
          items: str('A column name.', { minLength: 1 }),
        },
        key: {
          description: 'Key of `from` the batches walk.',
          type: 'array',
          minItems: 1,
          items: str('A column name.', { minLength: 1 }),
        },
        overridingSystemValue: {
          description: '`INSERT … OVERRIDING SYSTEM VALUE` (GENERATED ALWAYS identity).',
          type: 'boolean',
        },
        guard: {
          description:
            'How the copy keeps the application’s concurrent writes of the rows it copies. `for-share` (absent: plans made before the choice): each batch reads the rows `FOR SHARE`, and an UPDATE or DELETE of a row being copied waits for the batch. `repair`: no row lock; the sync trigger’s insert is an upsert on `match` (an UPDATE that meets a batch’s uncommitted copy waits for it and overwrites it), and after the last batch, once every transaction running then has ended, the rows of `to` whose `match` values `from` no longer has are deleted (what a DELETE racing a batch left behind). Chosen where `to` is unique on `match` only.',
          enum: ['for-share', 'repair'],
        },
        insert: {
          description:
            'How a batch writes its rows and skips those the sync trigger already wrote to `to`. `anti-join`: `INSERT … SELECT … AND NOT EXISTS` (a row of `to` with the same `match` values), one plain insert per row; a batch that meets a row the trigger wrote beside it (a unique violation) is rolled back and redone with `on-conflict`. `copy` (the `repair` guard only): the anti-join’s rows read by `COPY (…) TO STDOUT` on a second connection and streamed into `COPY … FROM STDIN` in the batch’s transaction, one WAL record per page of rows (the anti-join where apply has no second connection), redone the same way. `on-conflict` (absent: plans made before the choice): `ON CONFLICT DO NOTHING`, a speculative insertion per row, which logs a second WAL record for each.',
          enum: ['copy', 'anti-join', 'on-conflict'],
        },
        match: {
          description:
            'The columns that find a row’s copy in `to` (the key, then the partition key’s columns): the upsert and the repair of the `repair` guard, and the `anti-join` (absent: the key).',
          type: 'array',
          minItems: 1,
          items: str('A column name.', { minLength: 1 }),
        },
        casts: {
          description:
            'A table rewrite (`typeChanges: swap`): the columns whose type `to` changes, each with its type there (`{ id: bigint }`); the copy reads them as `"col"::type`, and the sync trigger writes them the same way. Absent: none.',
          type: 'object',
          minProperties: 1,
          additionalProperties: str('The column\u2019s type in `to`.', { minLength: 1 }),
        },
        batchSize: { description: 'Rows per batch (one transaction each).', type: 'integer', minimum: 1 },
        sql: {
          description:
            'What one batch runs, for the reviewer; the key range of the batch is given as placeholders. With `insert: copy`, first its two halves (the read on the second connection, with the range as literals when it runs, and the write); with `copy` or `anti-join`, then the batch as an INSERT and the same batch as it is redone `ON CONFLICT DO NOTHING`. Under the `repair` guard, then the statement that removes what a concurrent delete left behind.',
          type: 'array',
          items: str('One SQL statement.'),
        },
        transaction: { description: 'Always false: each batch commits on its own.', const: false },
        locks: stepCommon.locks,
        hazards: stepCommon.hazards,
      },
    },
    verifyStep: {
      description:
        'Compares two tables in one snapshot (row count and an order-independent checksum); fails, saying by how many rows they differ, when they do not agree.',
      type: 'object',
      additionalProperties: false,
      required: ['id', 'kind', 'summary', 'from', 'to', 'columns', 'sql', 'transaction', 'locks', 'hazards'],
      properties: {
        id: stepCommon.id,
        kind: { description: 'Always `verify`.', const: 'verify' },
        summary: stepCommon.summary,
        from: { description: 'The live table.', $ref: '#/definitions/relation' },
        to: { description: 'Its copy.', $ref: '#/definitions/relation' },
        columns: {
          description: 'Columns compared.',
          type: 'array',
          minItems: 1,
          items: str('A column name.', { minLength: 1 }),
        },
        casts: {
          description:
            'As the copy step\u2019s: the columns of `from` whose type `to` changes, compared as converted (`"col"::type`). Absent: none.',
          type: 'object',
          minProperties: 1,
          additionalProperties: str('The column\u2019s type in `to`.', { minLength: 1 }),
        },
        sql: {
          description: 'The count-and-checksum query of each table (run together, in one statement).',
          type: 'array',
          minItems: 2,
          maxItems: 2,
          items: str('One SQL query.', { minLength: 1 }),
        },
        transaction: { description: 'Always false: a read-only comparison.', const: false },
        locks: stepCommon.locks,
        hazards: stepCommon.hazards,
      },
    },
    relation: {
      description: 'A table.',
      type: 'object',
      additionalProperties: false,
      required: ['schema', 'name'],
      properties: {
        schema: str('Schema of the table.', { minLength: 1 }),
        name: str('Name of the table.', { minLength: 1 }),
      },
    },
    sqlStep: {
      description: 'SQL statements run in one transaction (`transaction: true`) or one by one outside any.',
      type: 'object',
      additionalProperties: false,
      required: ['id', 'kind', 'summary', 'sql', 'transaction', 'locks', 'hazards'],
      properties: {
        id: stepCommon.id,
        kind: { description: 'Always `sql`.', const: 'sql' },
        summary: stepCommon.summary,
        sql: {
          description: 'The statements, in order.',
          type: 'array',
          minItems: 1,
          items: str('One SQL statement, without a trailing semicolon.', { minLength: 1 }),
        },
        transaction: {
          description:
            'true: all statements in one transaction; false: each on its own, outside any transaction (CREATE INDEX CONCURRENTLY and the like).',
          type: 'boolean',
        },
        locks: stepCommon.locks,
        hazards: stepCommon.hazards,
        concurrentIndex: {
          description:
            'For a CREATE INDEX CONCURRENTLY step: the index it builds, so that apply can drop an INVALID leftover of a failed try before running it again.',
          type: 'object',
          additionalProperties: false,
          required: ['schema', 'name'],
          properties: {
            schema: str('Schema of the index.', { minLength: 1 }),
            name: str('Name of the index.', { minLength: 1 }),
          },
        },
        undo: {
          description:
            'What zdm rollback runs to undo the step before contract, where its statements do not say it themselves (a trigger re-created in place with CREATE OR REPLACE TRIGGER: as it was).',
          type: 'array',
          minItems: 1,
          items: str('One SQL statement, without a trailing semicolon.', { minLength: 1 }),
        },
        oldWrites: {
          description:
            'For the contract step that ends a renamed column: where the sync trigger noted the last write of the old application version. Apply refuses the phase while that version wrote within --old-writes-quiet (unless --force).',
          type: 'object',
          additionalProperties: false,
          required: ['table', 'column', 'newColumn', 'sequence'],
          properties: {
            table: {
              description: 'The table of the column.',
              type: 'object',
              additionalProperties: false,
              required: ['schema', 'name'],
              properties: {
                schema: str('Schema of the table.', { minLength: 1 }),
                name: str('Name of the table.', { minLength: 1 }),
              },
            },
            column: str('The old column (its name until contract).', { minLength: 1 }),
            newColumn: str('The new column.', { minLength: 1 }),
            sequence: {
              description:
                "The tracking sequence, in zdm's schema: its value is the epoch second of the last old-version write.",
              type: 'object',
              additionalProperties: false,
              required: ['schema', 'name'],
              properties: {
                schema: str('Schema of the sequence (zdm).', { minLength: 1 }),
                name: str('Name of the sequence.', { minLength: 1 }),
              },
            },
          },
        },
      },
    },
    backfillStep: {
      description: 'A batched UPDATE, one transaction per batch, resumable from the journaled cursor.',
      type: 'object',
      additionalProperties: false,
      required: [
        'id',
        'kind',
        'summary',
        'table',
        'set',
        'where',
        'batchSize',
        'sql',
        'transaction',
        'locks',
        'hazards',
      ],
      properties: {
        id: stepCommon.id,
        kind: { description: 'Always `backfill`.', const: 'backfill' },
        summary: stepCommon.summary,
        table: { description: 'The table updated.', $ref: '#/definitions/relation' },
        set: {
          description: 'Column → SQL expression over the row’s current values.',
          type: 'object',
          minProperties: 1,
          additionalProperties: str('SQL expression.', { minLength: 1 }),
        },
        where: str('Only rows matching this SQL predicate are updated (e.g. `verified_at IS NULL`).'),
        batchSize: { description: 'Rows per batch (one transaction each).', type: 'integer', minimum: 1 },
        sql: {
          description: 'What one batch runs, for the reviewer; the key range of the batch is given as placeholders.',
          type: 'array',
          items: str('One SQL statement.'),
        },
        transaction: { description: 'Always false: each batch commits on its own.', const: false },
        locks: stepCommon.locks,
        hazards: stepCommon.hazards,
      },
    },
  },
} as const;
