// Child process of bench/introspect.mjs: introspects one database and reports its own time and peak
// memory, so each measurement starts from a fresh process (like pg_dump does).
import pg from 'pg';
import { introspect } from '../dist/introspect/index.js';

const url = process.argv[2];
const t0 = performance.now();
const client = new pg.Client({ connectionString: url });
await client.connect();
const model = await introspect(client);
await client.end();
const ms = performance.now() - t0;
const tables = model.schemas.reduce((n, s) => n + s.tables.length, 0);
process.stdout.write(`${JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, tables })}\n`);
