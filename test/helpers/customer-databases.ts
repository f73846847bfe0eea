// The customer's databases for the database-destination suites: a PostgreSQL server other than
// DDE's own (the machine's on 127.0.0.1:5432, or TEST_CUSTOMER_PG_URL; when none answers, a second
// embedded PostgreSQL of our own) and MariaDB / MySQL (127.0.0.1:3306 as root, or TEST_MYSQL_URL;
// .ci/run starts one). Each test gets a fresh database, dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { inject } from 'vitest';
import { startEmbedded } from '@/db/embedded';
import { databaseSettingsSchema, type DatabaseSettings } from '@/lib/destinations/database/settings';

const ENV = process.env;

export type CustomerPostgres = {
  url: string;
  host: string;
  port: number;
  /** The superuser's password ('' with trust). */
  password: string;
  embedded: boolean;
  stop: () => Promise<void>;
};

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** The customer's PostgreSQL server: the machine's, or an embedded one started for this file. */
export async function startCustomerPostgres(): Promise<CustomerPostgres> {
  const url = ENV.TEST_CUSTOMER_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  // Never DDE's own server (the suite runs on the machine's PostgreSQL too): then one of our own.
  const own = new URL(inject('pgServerUrl'));
  const candidate = new URL(url);
  const sameServer = own.hostname === candidate.hostname && (own.port || '5432') === (candidate.port || '5432');
  if (!sameServer && (await answers(url))) {
    const u = new URL(url);
    return {
      url,
      host: u.hostname,
      port: Number(u.port || 5432),
      password: decodeURIComponent(u.password),
      embedded: false,
      stop: async () => undefined,
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-customer-pg-'));
  const server = await startEmbedded({
    dir: path.join(dir, 'pg'),
    password: 'customer',
    ephemeral: true,
    logFile: path.join(dir, 'postgres.log'),
  });
  const eurl = server.url('postgres');
  const u = new URL(eurl);
  return {
    url: eurl,
    host: u.hostname,
    port: Number(u.port),
    password: 'customer',
    embedded: true,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type CustomerDatabase = {
  name: string;
  /** A superuser session in the database (the customer's DBA). */
  sql: postgres.Sql;
  settings: (over?: Partial<DatabaseSettings>) => DatabaseSettings;
  password: string;
  drop: () => Promise<void>;
};

export async function createCustomerPgDatabase(server: CustomerPostgres, schema = 'dde'): Promise<CustomerDatabase> {
  const name = `customer_${randomBytes(5).toString('hex')}`;
  const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  const sql = postgres(u.toString(), { max: 3, onnotice: () => undefined });
  if (schema !== 'public') await sql.unsafe(`create schema ${schema}`);
  return {
    name,
    sql,
    password: server.password,
    settings: (over = {}) =>
      databaseSettingsSchema.parse({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        database: name,
        schema,
        user: u.username || 'postgres',
        tls: 'disable',
        ...over,
      }),
    drop: async () => {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      const a = postgres(server.url, { max: 1, onnotice: () => undefined });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await a.end();
    },
  };
}

export type CustomerMysql = { host: string; port: number; user: string; password: string };

/** The MariaDB / MySQL server, or the reason there is none. */
export async function customerMysql(): Promise<CustomerMysql | { skip: string }> {
  const u = new URL(ENV.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
  const server = {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  };
  try {
    const c = await mysql.createConnection({ ...server, connectTimeout: 3000 });
    await c.end();
    return server;
  } catch (err) {
    return { skip: `no MariaDB/MySQL answers on ${server.host}:${server.port} (${(err as Error).message}); .ci/run starts one` };
  }
}

/** The MariaDB / MySQL server for `what` (a suite or test), or null with a warning saying why it is skipped. */
export async function customerMysqlOrSkip(what: string): Promise<{ server: CustomerMysql | null; skip: string | null }> {
  const found = await customerMysql();
  if ('skip' in found) {
    console.warn(`Skipping ${what}: ${found.skip}`);
    return { server: null, skip: found.skip };
  }
  return { server: found, skip: null };
}

export type CustomerMysqlDatabase = {
  name: string;
  /** A root session in the database. */
  conn: mysql.Connection;
  settings: (over?: Partial<DatabaseSettings>) => DatabaseSettings;
  password: string;
  drop: () => Promise<void>;
};

export async function createCustomerMysqlDatabase(server: CustomerMysql): Promise<CustomerMysqlDatabase> {
  const name = `customer_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password });
  await admin.query(`create database ${name} default charset utf8mb4`);
  await admin.end();
  const conn = await mysql.createConnection({
    ...server,
    database: name,
    dateStrings: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  await conn.query("set session time_zone = '+00:00'");
  return {
    name,
    conn,
    password: server.password,
    settings: (over = {}) =>
      databaseSettingsSchema.parse({
        engine: 'mysql',
        host: server.host,
        port: server.port,
        database: name,
        user: server.user,
        tls: 'disable',
        ...over,
      }),
    drop: async () => {
      await conn.query(`drop database if exists ${name}`).catch(() => undefined);
      await conn.end().catch(() => undefined);
    },
  };
}
