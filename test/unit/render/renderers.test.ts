import { describe, expect, test } from 'vitest';
import type { CopyStep, Plan, VerifyStep } from '../../../src/plan/types.js';
import { renderJson } from '../../../src/render/json.js';
import { renderMarkdown } from '../../../src/render/markdown.js';
import { schemaDiff } from '../../../src/render/schema-diff.js';
import { renderSql } from '../../../src/render/sql.js';
import { renderText } from '../../../src/render/text.js';
import { check, col, customers, fk, index, orders, tables, users } from '../plan/builders.js';
import { plan } from '../plan/helpers.js';

const live = tables(customers, orders, users, { ...users, name: 'legacy' });
const desired = tables(
  customers,
  {
    ...orders,
    checks: [check('chk_orders_amount_positive', 'amount > 0')],
    foreignKeys: [fk('fk_orders_customer', ['customer_id'], 'customers')],
    indexes: [index('idx_orders_customer_id', ['customer_id'])],
  },
  { ...users, columns: [...users.columns, col('token', 'uuid', { default: 'gen_random_uuid()' })] },
);
const { plan: p } = plan(live, desired);
const empty = plan(tables(users), tables(users)).plan;

describe('renderText', () => {
  test('plain: phases, steps with id, summary, lock and hazards; no escape codes', () => {
    const text = renderText(p, { color: false });
    expect(text).not.toContain('\u001b[');
    expect(text).toContain('EXPAND (4 steps)');
    expect(text).toMatch(
      /expand\.2 {2}create index idx_orders_customer_id on public\.orders\n {12}lock: SHARE UPDATE EXCLUSIVE on public\.orders \(scan\) · outside a transaction/,
    );
    expect(text).toContain('lock: ACCESS EXCLUSIVE on public.orders (instant)');
    expect(text).toMatch(/CONTRACT \(1 step\) {2}hazards: data-loss/);
    expect(text).toContain('hazards: data-loss\n');
    expect(text).toContain('apply needs --allow-hazards data-loss');
  });

  test('color: bold phase headers, red for data loss', () => {
    const text = renderText(p, { color: true });
    expect(text).toContain('\u001b[1mEXPAND\u001b[0m');
    expect(text).toContain('\u001b[31mdata-loss\u001b[0m');
  });

  test('an empty plan says each phase has nothing to do', () => {
    const text = renderText(empty, { color: false });
    expect(text).toContain('EXPAND (nothing to do)');
    expect(text).toContain('CONTRACT (nothing to do)');
    expect(text.trimEnd().endsWith('no hazards')).toBe(true);
  });
});

describe('renderSql', () => {
  const sql = renderSql(p);
  test('transactional steps in BEGIN/COMMIT, CONCURRENTLY marked as outside a transaction', () => {
    expect(sql).toContain(
      '-- expand.1: add column public.users.token nullable, then SET DEFAULT gen_random_uuid() for new rows (a volatile default in ADD COLUMN would rewrite the table)\n' +
        '-- locks: ACCESS EXCLUSIVE on public.users (instant)\nBEGIN;\nALTER TABLE public.users ADD COLUMN token uuid;\n',
    );
    expect(sql).toContain(
      '-- runs outside a transaction, one statement at a time\nCREATE INDEX CONCURRENTLY idx_orders_customer_id ON public.orders (customer_id);',
    );
  });
  test('a phase header per phase; backfill batches shown commented out; hazards listed', () => {
    expect(sql.match(/^-- phase (expand|backfill|contract)/gm)).toEqual([
      '-- phase expand',
      '-- phase backfill',
      '-- phase contract',
    ]);
    expect(sql).toMatch(
      /-- batched by zdm apply: 5000 rows per transaction, resumable; one batch runs:\n-- UPDATE public\.users SET token/,
    );
    expect(sql).toContain('-- hazards: data-loss\nBEGIN;\nDROP TABLE public.legacy;\nCOMMIT;');
  });
});

describe('renderMarkdown', () => {
  const diff = schemaDiff('a: 1\nb: 2\n', 'a: 1\nb: 3\n');
  const md = renderMarkdown(p, diff);
  test('summary table, steps with their SQL, schema diff folded', () => {
    expect(md).toContain('| phase | steps | outside a transaction | hazards |');
    expect(md).toContain('| expand | 4 | 1 | — |');
    expect(md).toContain('| contract | 1 | 0 | `data-loss` |');
    expect(md).toContain(
      '   ```sql\n   CREATE INDEX CONCURRENTLY idx_orders_customer_id ON public.orders (customer_id);\n   ```',
    );
    expect(md).toContain('**hazards: `data-loss`**');
    expect(md).toMatch(
      /<details><summary>Schema diff \(live → desired\)<\/summary>\n\n```diff\n[\s\S]*\+b: 3\n```\n\n<\/details>/,
    );
  });
  test('without a schema diff, no details block; an empty phase says so', () => {
    const e = renderMarkdown(empty);
    expect(e).not.toContain('<details>');
    expect(e).toContain('#### backfill\n\n_Nothing to do._');
  });
});

test('renderJson is the plan', () => {
  expect(JSON.parse(renderJson(p))).toEqual(JSON.parse(JSON.stringify(p)));
});

test('schemaDiff: a unified diff labelled live and desired', () => {
  const d = schemaDiff('version: 1\nx: a\n', 'version: 1\nx: b\n');
  expect(d).toContain('--- live');
  expect(d).toContain('+++ desired');
  expect(d).toContain('-x: a\n+x: b');
});

describe('a partition swap copy and its verification', () => {
  const from = { schema: 'public', name: 'orders' };
  const to = { schema: 'public', name: 'orders_zdm_shadow' };
  const copy: CopyStep = {
    id: 'backfill.1',
    kind: 'copy',
    summary: 'copy public.orders into public.orders_zdm_shadow',
    locks: [],
    hazards: ['long-running'],
    transaction: false,
    from,
    to,
    columns: ['id'],
    key: ['id'],
    overridingSystemValue: false,
    batchSize: 500,
    sql: ['INSERT INTO public.orders_zdm_shadow (id) SELECT id FROM public.orders WHERE id > $1 ORDER BY id LIMIT 500'],
  };
  const verify: VerifyStep = {
    id: 'backfill.2',
    kind: 'verify',
    summary: 'verify public.orders_zdm_shadow against public.orders',
    locks: [],
    hazards: [],
    transaction: false,
    from,
    to,
    columns: ['id'],
    sql: ['SELECT count(*) FROM public.orders', 'SELECT count(*) FROM public.orders_zdm_shadow'],
  };
  const swap: Plan = {
    ...p,
    phases: p.phases.map((ph) => (ph.name === 'backfill' ? { ...ph, steps: [copy, verify] } : ph)),
  };

  test('the copy runs in batches, the verification in one read-only snapshot', () => {
    const text = renderText(swap, { color: false });
    expect(text).toContain('lock: no table lock · batches of 500 rows');
    expect(text).toContain('lock: no table lock · one read-only snapshot');
    const md = renderMarkdown(swap, '');
    expect(md).toContain('lock: no table lock · batches of 500 rows');
    expect(md).toContain('lock: no table lock · one read-only snapshot');
    const sql = renderSql(swap);
    expect(sql).toContain('-- batched by zdm apply: 500 rows per transaction, resumable; one batch runs:\n-- INSERT');
    expect(sql).toContain(
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT count(*) FROM public.orders;\nSELECT count(*) FROM public.orders_zdm_shadow;\nCOMMIT;',
    );
  });
});
