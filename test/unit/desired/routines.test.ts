/**
 * Functions, procedures and triggers in the desired state: what the loader makes of them (SQL-standard
 * bodies recognized, types canonical, trigger functions qualified) and every problem at its line.
 */
import { describe, expect, test } from 'vitest';
import { DesiredStateError, parseDesiredState } from '../../../src/desired/index.js';

function issues(text: string): { line: number; path: string; message: string }[] {
  try {
    parseDesiredState(text, 'schema.yaml');
    return [];
  } catch (e) {
    if (e instanceof DesiredStateError) return e.issues.map(({ line, path, message }) => ({ line, path, message }));
    throw e;
  }
}

describe('functions and triggers in the desired state', () => {
  test('load into the model', () => {
    const { model } = parseDesiredState(
      `version: 1
schemas:
  app:
    functions:
      f(int4, text):
        arguments: [ { name: x, type: int4 }, { name: y, type: text, default: "'a'" } ]
        returns: int
        language: SQL
        body: RETURN x;
      f(integer):
        arguments: [ { name: x, type: integer } ]
        returns: integer
        language: sql
        volatility: volatile
        body: " SELECT x "
    procedures:
      p:
        language: plpgsql
        body: BEGIN NULL; END
    triggers:
      t:
        t_ins: { timing: after, events: [insert], function: f2, forEach: row }
        t_vec: { timing: before, events: [update, insert], function: pg_catalog.tsvector_update_trigger, forEach: row }
`,
      'schema.yaml',
    );
    const app = model.schemas[0]!;
    expect(app.functions.map((r) => [r.kind, r.name, r.arguments.map((a) => a.type), r.returns, r.sqlBody])).toEqual([
      ['function', 'f', ['integer'], 'integer', undefined],
      ['function', 'f', ['integer', 'text'], 'integer', true],
      ['procedure', 'p', [], undefined, undefined],
    ]);
    expect(app.functions[1]!.body).toBe('RETURN x');
    expect(app.functions[1]!.language).toBe('sql');
    expect(app.functions[0]!.volatility).toBeUndefined();
    expect(app.triggers.map((t) => [t.name, t.function, t.events])).toEqual([
      ['t_ins', 'app.f2', ['insert']],
      ['t_vec', 'tsvector_update_trigger', ['insert', 'update']],
    ]);
  });

  test('every problem at its line', () => {
    expect(
      issues(`version: 1
schemas:
  public:
    functions:
      f(text):
        arguments: [ { name: x, type: integer } ]
        returns: integer
        language: sql
        body: SELECT 1
      g:
        language: sql
        body: SELECT 1
      h:
        returns: integer
        language: sql
        body: SELECT 1
        file: h.sql
    procedures:
      p:
        returns: integer
        language: sql
        body: SELECT 1
    triggers:
      t:
        t1: { timing: before, events: [insert], function: f, deferrable: true }
`),
    ).toEqual([
      {
        line: 5,
        path: 'schemas.public.functions["f(text)"]',
        message: expect.stringContaining(
          "`f(text)` does not match the function's arguments: their signature is `f(integer)`",
        ),
      },
      {
        line: 10,
        path: 'schemas.public.functions.g',
        message: expect.stringContaining('needs `returns` (or OUT arguments)'),
      },
      { line: 17, path: 'schemas.public.functions.h.file', message: 'a function has `body` or `file`, not both' },
      {
        line: 20,
        path: 'schemas.public.procedures.p.returns',
        message: 'a procedure returns nothing: leave `returns` out',
      },
      {
        line: 25,
        path: 'schemas.public.triggers.t.t1.deferrable',
        message: expect.stringContaining('only a constraint trigger'),
      },
    ]);
  });
});
