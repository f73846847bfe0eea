// One PostgreSQL for the whole test run: embedded (a throwaway cluster in a temp dir) or the
// server named by TEST_DATABASE_URL. A migrated template database is built once; every test
// file clones its own database from it (see test/helpers/db.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../db/embedded';
import { migrateDatabase } from '../../db/migrate';
import { loadEnvFiles } from '../../lib/env';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgTemplate: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  loadEnvFiles(); // .env.test.local, .env.test and .env, as next reads them in tests (TEST_DATABASE_URL may be there)
  const external = process.env.TEST_DATABASE_URL;
  let serverUrl: string;
  let cleanup: () => Promise<void>;
  if (external) {
    serverUrl = withDatabase(external, 'postgres');
    cleanup = async () => undefined;
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-test-pg-'));
    const server = await startEmbedded({
      dir: path.join(dir, 'pg'),
      password: 'test',
      ephemeral: true,
      logFile: path.join(dir, 'postgres.log'),
    });
    serverUrl = server.url('postgres');
    cleanup = async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const template = `dde_template_${process.pid}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  await migrateDatabase(withDatabase(serverUrl, template));
  project.provide('pgServerUrl', serverUrl);
  project.provide('pgTemplate', template);

  return async () => {
    // Drop what this run created on a shared server; a throwaway cluster just goes away.
    if (external) {
      const dbs = await admin<
        { datname: string }[]
      >`select datname from pg_database where datname like ${`dde_t_${process.pid}_%`} or datname = ${template}`;
      for (const { datname } of dbs) await admin.unsafe(`drop database if exists ${datname} with (force)`).catch(() => undefined);
    }
    await admin.end();
    await cleanup();
  };
}
