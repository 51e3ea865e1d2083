import { describe, expect, it } from 'vitest';
import { formatPath, parentPath } from '../../../src/model/paths.js';

describe('document paths', () => {
  it.each([
    [['schemas', 'public', 'tables', 'orders'], 'schemas.public.tables.orders'],
    [
      ['schemas', 'public', 'tables', 'order items', 'columns', 'a.b'],
      'schemas.public.tables["order items"].columns["a.b"]',
    ],
    [['x', 2, 'y'], 'x[2].y'],
    [['schemas', 'a"b'], 'schemas["a\\"b"]'],
  ])('%j is %s', (segments, text) => {
    expect(formatPath(segments)).toBe(text);
  });

  it('walks up one segment at a time, brackets included', () => {
    const up: string[] = [];
    for (let p: string | undefined = 'schemas.public.tables["a.b \\"c\\""].checks[0]'; p; p = parentPath(p)) up.push(p);
    expect(up).toEqual([
      'schemas.public.tables["a.b \\"c\\""].checks[0]',
      'schemas.public.tables["a.b \\"c\\""].checks',
      'schemas.public.tables["a.b \\"c\\""]',
      'schemas.public.tables',
      'schemas.public',
      'schemas',
    ]);
  });
});
