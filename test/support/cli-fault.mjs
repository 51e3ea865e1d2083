/**
 * Loaded into the zdm binary by CLI tests (`NODE_OPTIONS=--import <this file>`) to put the real code
 * path in front of a condition the test server cannot produce. zdm itself has no hook for it: this
 * patches the `pg` driver's `Client.prototype.query` in the child process only, chosen by
 * `ZDM_TEST_FAULT`:
 *
 * - `server-version:130016`: the server reports that `server_version_num` (and `server_version` 13.16),
 *   as a PostgreSQL 13 would;
 * - `query-throws`: every query rejects with a plain TypeError, as a bug in zdm would;
 * - `sql-rewrite`: a query whose text is exactly `ZDM_TEST_SQL_FROM` runs `ZDM_TEST_SQL_TO` instead: a
 *   step whose SQL does more (a stronger lock) or other (a failure) than its plan says, as a planner
 *   bug would make it; the plan written keeps the planned SQL.
 */
import pg from 'pg';

const fault = process.env.ZDM_TEST_FAULT ?? '';
const original = pg.Client.prototype.query;

const version = /^server-version:(\d+)$/.exec(fault);
if (version) {
  const num = Number(version[1]);
  const text = `${Math.floor(num / 10000)}.${num % 10000}`;
  pg.Client.prototype.query = function query(config, ...rest) {
    const result = original.call(this, config, ...rest);
    const sql = typeof config === 'string' ? config : config?.text;
    if (typeof sql !== 'string' || !sql.includes("current_setting('server_version_num')")) return result;
    return result.then((r) => {
      for (const row of r.rows) {
        row.server_version_num = String(num);
        row.server_version = text;
      }
      return r;
    });
  };
} else if (fault === 'query-throws') {
  pg.Client.prototype.query = function query() {
    return Promise.reject(new TypeError('simulated bug'));
  };
} else if (fault === 'sql-rewrite') {
  const from = process.env.ZDM_TEST_SQL_FROM;
  const to = process.env.ZDM_TEST_SQL_TO;
  pg.Client.prototype.query = function query(config, ...rest) {
    if (typeof config === 'string' && config === from) return original.call(this, to, ...rest);
    return original.call(this, config, ...rest);
  };
} else {
  throw new Error(`ZDM_TEST_FAULT=${fault}: expected server-version:<num>, query-throws or sql-rewrite`);
}
