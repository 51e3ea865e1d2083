/**
 * One copy of each distinct string. A schema of thousands of tables repeats the same short texts
 * tens of thousands of times (`bigint`, `id`, `btree`, `now()`, a CHECK written the same on every
 * table): introspection gets a fresh copy of each from every catalog row, and a desired-state file
 * one from every line. Pooled, a model of 10,000 tables holds each once.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  /**
   * @param detach keep a copy of its own of each string, not the string given: a slice of a larger
   *   text (V8 makes a substring of 13 characters or more a view of its parent) would otherwise
   *   keep the whole text alive as long as the model holds it.
   */
  constructor(private readonly detach = false) {}

  get(s: string): string {
    const hit = this.pool.get(s);
    if (hit !== undefined) return hit;
    const own = this.detach && s.length >= 13 ? ` ${s}`.slice(1) : s;
    this.pool.set(own, own);
    return own;
  }
}
