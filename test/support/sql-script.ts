/** The SQL script runner lives in src/db (zdm demo and the benches use it too). */
export * from '../../src/db/sql-script.js';
