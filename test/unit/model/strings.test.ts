import { describe, expect, test } from 'vitest';
import { StringPool } from '../../../src/model/strings.js';

describe('StringPool', () => {
  test('gives back an equal string, the same for every equal string it is given', () => {
    for (const detach of [false, true]) {
      const pool = new StringPool(detach);
      const text = 'version: 1\n  created_at: { type: timestamp with time zone }\n  id: { type: bigint }\n';
      const long = text.slice(text.indexOf('timestamp'), text.indexOf(' }'));
      expect(long).toBe('timestamp with time zone');
      expect(pool.get(long)).toBe('timestamp with time zone');
      expect(pool.get('timestamp with time zone')).toBe('timestamp with time zone');
      expect(pool.get('bigint')).toBe('bigint');
      expect(pool.get('')).toBe('');
      expect(pool.get('ü — ✓')).toBe('ü — ✓');
    }
  });
});
