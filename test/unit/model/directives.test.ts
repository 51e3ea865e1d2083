import { describe, expect, test } from 'vitest';
import { tableWithoutDirectives, withoutDirectives } from '../../../src/model/directives.js';
import { col, id, table } from '../plan/builders.js';

describe('desired-only directives', () => {
  test('a column loses renamedFrom, using and reverse, and keeps everything else', () => {
    const c = col('n', 'bigint', {
      nullable: false,
      default: '0',
      comment: 'kept',
      renamedFrom: 'm',
      using: 'm::bigint',
      reverse: 'n::integer',
    });
    expect(withoutDirectives(c)).toEqual(col('n', 'bigint', { nullable: false, default: '0', comment: 'kept' }));
    expect(c.renamedFrom).toBe('m');
  });

  test('a table loses its own renamedFrom and its columns theirs', () => {
    const t = { ...table('t', [id(), col('n', 'text', { renamedFrom: 'm' })]), renamedFrom: 'old_t' };
    expect(tableWithoutDirectives(t)).toEqual(table('t', [id(), col('n', 'text')]));
  });
});
