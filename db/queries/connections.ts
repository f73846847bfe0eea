// Connections: the reads every page and job shares, and the one writer of the `connections` table.
// Every change of a connection is a named transition here, written in one transaction with its
// Activity Log entry (who, when, the row before and after). A transition the connection's state does
// not allow changes nothing: the lifecycle rules that answer an admin with a message are judged by the
// caller (`decide`, lib/connections/lifecycle.ts); the transitions the system makes (auto-pause, the
// pause settling, the end date, the daily check) are guarded here and answer a typed refusal.
// Every read names the program (a row of another program is not found).
//
// The connection lifecycle:
//   active ⇄ pausing → paused → active (resume); any → stopped → active (start); active → ended
//
//   transition (function)                          from                                 to
//   create (insertConnection)                      —                                    active
//   change (changeConnection)                      as the caller's rule decides         resume/start → active; stop/delete → stopped;
//                                                                                       edits, credentials, OpenPGP key, report settings
//   pause (pauseConnection)                        active; pausing (immediately only)   pausing (runs in flight marked to finish) | paused
//   pause settles (settlePausingConnection)        pausing, nothing left in flight      paused
//   plan through (advancePlanningCursors)          active                               cursor moved; ended once it reaches the end date
//   daily check (recordConnectionHealth)           any                                  unchanged; its last verdict (entry when it flips)
//
// "Pause" is one transition with one behaviour, whoever asks (an admin, an API client, or the
// auto-pause after repeated failed windows): after transfer, the runs being exported or delivered
// now finish and are delivered first (the connection is "pausing" until they have); immediately,
// the running work is handed back and waits for resume.
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, DbOrTx, Sql } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { clearFinishBeforePause, markRunsToFinishBeforePause } from '@/db/queries/run-ledger';
import {
  auditLog,
  connections,
  exportRuns,
  PUSHED_KINDS,
  type AuditEntry,
  type Connection,
  type ConnectionStatus,
  type Frequency,
} from '@/db/schema';

// ---------------------------------------------------------------------------------------------
// Reads

export async function findConnection(
  db: DbOrTx,
  p: { programId: number; id: string; includeDeleted?: boolean },
): Promise<Connection | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(p.id)) return undefined;
  const [row] = await db
    .select()
    .from(connections)
    .where(
      and(eq(connections.programId, p.programId), eq(connections.id, p.id), p.includeDeleted ? undefined : isNull(connections.deletedAt)),
    );
  return row;
}

export async function listConnections(db: Db, p: { programId: number }): Promise<Connection[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.programId, p.programId), isNull(connections.deletedAt)))
    .orderBy(asc(connections.createdAt));
}

/** Names of some connections of a program, deleted ones included (the Activity Log names its targets). */
export async function listConnectionNames(
  db: DbOrTx,
  p: { programId: number; ids: string[] },
): Promise<Pick<Connection, 'id' | 'name' | 'kind' | 'sftpHost' | 'destination'>[]> {
  const ids = p.ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (ids.length === 0) return [];
  return db
    .select({
      id: connections.id,
      name: connections.name,
      kind: connections.kind,
      sftpHost: connections.sftpHost,
      destination: connections.destination,
    })
    .from(connections)
    .where(and(eq(connections.programId, p.programId), inArray(connections.id, ids)));
}

/** An active connection the planner looks at: dates as the raw client returns them (strings). */
export type ConnectionToPlan = {
  id: string;
  program_id: number;
  frequency: Frequency;
  start_date: string;
  end_date: string | null;
  planned_through: string | null;
};

/**
 * The next batch (by id, after `afterId`) of active connections whose next window has closed by
 * `until`. One query per batch, on the raw client (the planner's hot path).
 */
export async function listConnectionsToPlan(
  sql: Sql,
  p: { afterId: string; until: Date; limit: number; connectionId?: string },
): Promise<ConnectionToPlan[]> {
  const until = p.until.toISOString();
  return sql<ConnectionToPlan[]>`
    select id, program_id, frequency, start_date, end_date, planned_through
    from connections
    where status = 'active' and deleted_at is null and id > ${p.afterId}
      ${p.connectionId ? sql`and id = ${p.connectionId}::uuid` : sql``}
      and start_date < ${until}::timestamptz
      and (planned_through is null or planned_through < least(${until}::timestamptz, coalesce(end_date, 'infinity')))
      -- Only connections whose next window has closed: it ends at the first boundary after the
      -- cursor or the start date (UTC, as lib/windows aligns them), or at the end date. Idle
      -- ticks stay cheap however many connections there are.
      and least(coalesce(end_date, 'infinity'), case frequency
          when 'every_4_hours' then date_bin('4 hours', greatest(planned_through, start_date), timestamptz '1970-01-01 00:00:00+00') + interval '4 hours'
          when 'daily' then date_trunc('day', greatest(planned_through, start_date), 'UTC') + interval '1 day'
          when 'weekly' then date_trunc('week', greatest(planned_through, start_date), 'UTC') + interval '7 days'
          else date_trunc('month', greatest(planned_through, start_date), 'UTC') + interval '1 month' end) <= ${until}::timestamptz
    order by id
    limit ${p.limit}`;
}

/** The connections the daily check tests: active ones DDE delivers to (every kind that pushes). */
export async function listConnectionsToCheck(db: DbOrTx): Promise<Connection[]> {
  return db
    .select()
    .from(connections)
    .where(and(inArray(connections.kind, PUSHED_KINDS), eq(connections.status, 'active'), isNull(connections.deletedAt)));
}

/** Whether a connection (deleted ones included) already uses this S3 external id: each connection has its own. */
/** Whether the program has any connection, deleted ones included (the demo sets its connections up once). */
export async function programHasConnections(db: DbOrTx, programId: number): Promise<boolean> {
  const [row] = await db.select({ id: connections.id }).from(connections).where(eq(connections.programId, programId)).limit(1);
  return row !== undefined;
}

export async function externalIdInUse(db: DbOrTx, externalId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: connections.id })
    .from(connections)
    .where(sql`${connections.destination}->>'external_id' = ${externalId}`)
    .limit(1);
  return !!row;
}

/** The connections whose contacts chose a daily digest (any status; deleted ones left out). */
export async function listDigestConnections(db: DbOrTx): Promise<Connection[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.reportMode, 'daily_digest'), isNull(connections.deletedAt)));
}

// ---------------------------------------------------------------------------------------------
// The writer

/** Who makes a change, as the Activity Log shows it (an account, an API client, or the system). */
export type ConnectionActor = { actorId: string | null; actorLabel: string };

/** The changes DDE makes by itself (auto-pause, a pause settling, the end date, the daily check). */
export const SYSTEM_ACTOR: ConnectionActor = { actorId: null, actorLabel: 'system' };

/** A connection as the Activity Log keeps it: never its secret. The armored OpenPGP key is public but long: the entry keeps its fingerprint and user IDs. */
export function auditable(c: Connection) {
  const { secretCiphertext: _s, plannedThrough: _p, updatedAt: _u, pgpPublicKey: _k, ...rest } = c;
  return rest;
}

/** What an Activity Log entry of a change keeps besides the row before and after. */
export type AuditDetails = Record<string, unknown>;

/**
 * create: a new connection (active), with its Activity Log entry. Runs in the caller's transaction
 * when given one (what else the creation writes, such as the contacts' notice, commits with it).
 */
export async function insertConnection(db: DbOrTx, values: typeof connections.$inferInsert, by: ConnectionActor): Promise<Connection> {
  return db.transaction(async (tx) => {
    const [created] = await tx.insert(connections).values(values).returning();
    await recordAudit(tx, {
      programId: created.programId,
      ...by,
      action: 'connection.created',
      targetType: 'connection',
      targetId: created.id,
      after: auditable(created),
    });
    return created;
  });
}

/**
 * What a change may write: the lifecycle moves other than pausing (resume and start → active, stop
 * and delete → stopped), the edit's fields, the stopped connection's secret or OpenPGP key, and the
 * report settings. `destination` only with a new secret, for what is read from it (an Azure SAS
 * token's expiry); the rest of it stays as set up. A pause goes through pauseConnection; a connection ends only by its end date.
 */
export type ConnectionChange = Partial<
  Pick<
    Connection,
    | 'pauseMode'
    | 'deletedAt'
    | 'frequency'
    | 'startDate'
    | 'contactEmails'
    | 'name'
    | 'authMethod'
    | 'secretCiphertext'
    | 'destination'
    | 'hostKeyFingerprint'
    | 'lastTestedAt'
    | 'pgpPublicKey'
    | 'pgpKeyFingerprint'
    | 'pgpKeyUserIds'
    | 'pgpKeyExpiresAt'
    | 'reportMode'
    | 'autoPauseAfter'
  >
> & { status?: Extract<ConnectionStatus, 'active' | 'stopped'> };

/** Locks a live connection of the program for the rest of the transaction. */
async function lockConnection(db: DbOrTx, programId: number, id: string): Promise<Connection | undefined> {
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.programId, programId), eq(connections.id, id), isNull(connections.deletedAt)))
    .for('update');
  return row;
}

/**
 * change: the row locked (two admins clicking at once cannot interleave), `decide` judges it as it
 * is now (throwing the caller's refusal, or returning the fields to write), the row written at
 * `at`, and the Activity Log entry with the row before and after (as `describe` shows a row; by
 * default `auditable`) and `details`. A change of status lets go of the runs marked to finish
 * before a pause: they wait like the rest. Undefined when the connection is not found (or deleted).
 */
export async function changeConnection(
  db: DbOrTx,
  p: {
    programId: number;
    id: string;
    action: string;
    by: ConnectionActor;
    at: Date;
    decide: (c: Connection) => ConnectionChange;
    details?: AuditDetails | ((before: Connection) => AuditDetails);
    describe?: (c: Connection) => unknown;
  },
): Promise<Connection | undefined> {
  return db.transaction(async (tx) => {
    const current = await lockConnection(tx, p.programId, p.id);
    if (!current) return undefined;
    const change = p.decide(current);
    const [updated] = await tx
      .update(connections)
      .set({ ...change, updatedAt: p.at })
      .where(eq(connections.id, p.id))
      .returning();
    if (change.status && change.status !== current.status) await clearFinishBeforePause(tx, p.id);
    const describe = p.describe ?? auditable;
    await recordAudit(tx, {
      programId: p.programId,
      ...p.by,
      action: p.action,
      targetType: 'connection',
      targetId: p.id,
      before: describe(current),
      after: describe(updated),
      details: typeof p.details === 'function' ? p.details(current) : p.details,
    });
    return updated;
  });
}

export type PauseMode = 'after_transfer' | 'immediately';

export type PauseRefusal = { ok: false; reason: 'not_found' } | { ok: false; reason: 'illegal_transition'; from: ConnectionStatus };

export type Paused = { ok: true; before: Connection; connection: Connection; entry: AuditEntry };

/**
 * pause: from active (or, immediately, from pausing). After transfer, the connection is "pausing"
 * while runs are being exported or delivered, and those runs are marked to be delivered before it
 * pauses (nothing new starts); with nothing in flight it is paused at once. Immediately, it is
 * paused and the marks are cleared: running work is handed back and waits for resume. The same for
 * an admin and for the auto-pause; `action`, `by` and `details` say which in the Activity Log.
 */
export async function pauseConnection(
  db: DbOrTx,
  p: { programId: number; id: string; mode: PauseMode; action: string; by: ConnectionActor; at: Date; details?: AuditDetails },
): Promise<Paused | PauseRefusal> {
  return db.transaction(async (tx) => {
    const current = await lockConnection(tx, p.programId, p.id);
    if (!current) return { ok: false, reason: 'not_found' } as const;
    const allowed = current.status === 'active' || (current.status === 'pausing' && p.mode === 'immediately');
    if (!allowed) return { ok: false, reason: 'illegal_transition', from: current.status } as const;
    const [{ inFlight }] = await tx
      .select({ inFlight: sql<number>`count(*)::int` })
      .from(exportRuns)
      .where(and(eq(exportRuns.connectionId, p.id), inArray(exportRuns.status, ['generating', 'delivering'])));
    const status = p.mode === 'after_transfer' && inFlight > 0 ? 'pausing' : 'paused';
    const [updated] = await tx
      .update(connections)
      .set({ status, pauseMode: p.mode, updatedAt: p.at })
      .where(eq(connections.id, p.id))
      .returning();
    if (status === 'pausing') await markRunsToFinishBeforePause(tx, p.id);
    else await clearFinishBeforePause(tx, p.id);
    // The database's clock stamps the entry, like the runs' finished_at the auto-pause compares it with.
    const entry = await recordAudit(tx, {
      programId: p.programId,
      ...p.by,
      action: p.action,
      targetType: 'connection',
      targetId: p.id,
      before: auditable(current),
      after: auditable(updated),
      details: p.details,
    });
    return { ok: true, before: current, connection: updated, entry } as const;
  });
}

export const PAUSE_SETTLED_ACTION = 'connection.pause_completed';

/** The auto-pause's Activity Log action (a pause after transfer by the system, lib/notify/run-events.ts). */
export const AUTO_PAUSE_ACTION = 'connection.auto_paused';

/** When the connection last paused itself, or undefined when it never did. */
export async function findLastAutoPauseAt(db: DbOrTx, connectionId: string): Promise<Date | undefined> {
  const [last] = await db
    .select({ at: auditLog.at })
    .from(auditLog)
    .where(and(eq(auditLog.targetType, 'connection'), eq(auditLog.targetId, connectionId), eq(auditLog.action, AUTO_PAUSE_ACTION)))
    .orderBy(desc(auditLog.at))
    .limit(1);
  return last?.at;
}

/** The connection's latest pause, resume, start, stop or auto-pause in the Activity Log, or undefined. */
export async function findLatestPauseOrResume(db: DbOrTx, c: Pick<Connection, 'id' | 'programId'>): Promise<AuditEntry | undefined> {
  const [last] = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.programId, c.programId),
        eq(auditLog.targetType, 'connection'),
        eq(auditLog.targetId, c.id),
        sql`(${auditLog.action} like 'connection.paused%' or ${auditLog.action} in ('connection.resumed', 'connection.started', 'connection.stopped', ${AUTO_PAUSE_ACTION}))`,
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(1);
  return last;
}

/**
 * pause settles: a pausing connection becomes paused once the transfer it was in has finished: no
 * run is being exported or delivered, and no run marked to finish first is waiting for its delivery
 * (a run whose delivery failed and waits for a retry waits for resume). One guarded statement with
 * its Activity Log entry (by the system). Whether it settled.
 */
export async function settlePausingConnection(db: DbOrTx, connectionId: string): Promise<boolean> {
  const settled = await db.execute<{ id: string }>(sql`
    with settled as (
      update connections set status = 'paused', updated_at = now()
      where id = ${connectionId} and status = 'pausing'
        and not exists (
          select 1 from export_runs
          where connection_id = ${connectionId}
            and (status in ('generating', 'delivering')
                 or (status = 'generated' and finish_before_pause and next_attempt_at is null)))
      returning id, program_id, pause_mode
    )
    insert into audit_log (program_id, actor_id, actor_label, action, target_type, target_id, before, after)
    select program_id, null, ${SYSTEM_ACTOR.actorLabel}, ${PAUSE_SETTLED_ACTION}, 'connection', id::text,
      jsonb_build_object('status', 'pausing', 'pause_mode', pause_mode), jsonb_build_object('status', 'paused', 'pause_mode', pause_mode)
    from settled
    returning target_id as id`);
  return [...settled].length > 0;
}

export const ENDED_ACTION = 'connection.ended';

/**
 * plan through: each connection's planning cursor moves forward to `through` (never back, whichever
 * planner gets there first). An active connection whose cursor reaches its end date ends (`ended`
 * lists those that might: the guarded statement decides), with its Activity Log entry by the system.
 * The ids of the connections this call ended.
 */
export async function advancePlanningCursors(
  db: DbOrTx,
  cursors: { id: string; through: Date }[],
  ending: string[] = [],
): Promise<string[]> {
  if (cursors.length === 0) return [];
  await db.execute(sql`
    update connections c set planned_through = greatest(c.planned_through, v.through), updated_at = now()
    from json_to_recordset(${JSON.stringify(cursors)}::json) as v(id uuid, through timestamptz)
    where c.id = v.id`);
  if (ending.length === 0) return [];
  const ended = await db.execute<{ id: string }>(sql`
    with ended as (
      update connections c set status = 'ended', updated_at = now()
      where c.id = any(${`{${ending.join(',')}}`}::uuid[]) and c.status = 'active'
        and c.end_date is not null and c.planned_through >= c.end_date
      returning c.id, c.program_id, c.end_date, c.planned_through
    )
    insert into audit_log (program_id, actor_id, actor_label, action, target_type, target_id, before, after, details)
    select program_id, null, ${SYSTEM_ACTOR.actorLabel}, ${ENDED_ACTION}, 'connection', id::text,
      jsonb_build_object('status', 'active'), jsonb_build_object('status', 'ended'),
      jsonb_build_object('end_date', end_date, 'planned_through', planned_through)
    from ended
    returning target_id as id`);
  return [...ended].map((r) => r.id);
}

export const HEALTH_CHANGED_ACTION = 'connection.health_changed';

/** A verdict of the daily check that counts as failing (null: never checked). */
const failing = (status: string | null) => status !== null && status !== 'ok';

/**
 * daily check: the connection's last verdict ('ok' or an error code) and when it was checked. When
 * the verdict flips between passing and failing, the Activity Log says so (by the system). The
 * verdict before.
 */
export async function recordConnectionHealth(
  db: DbOrTx,
  p: { id: string; status: string; checkedAt: Date },
): Promise<{ before: string | null } | undefined> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ programId: connections.programId, healthStatus: connections.healthStatus })
      .from(connections)
      .where(eq(connections.id, p.id))
      .for('update');
    if (!current) return undefined;
    await tx.update(connections).set({ lastTestedAt: p.checkedAt, healthStatus: p.status }).where(eq(connections.id, p.id));
    if (failing(current.healthStatus) !== failing(p.status)) {
      await recordAudit(tx, {
        programId: current.programId,
        ...SYSTEM_ACTOR,
        action: HEALTH_CHANGED_ACTION,
        targetType: 'connection',
        targetId: p.id,
        before: { health_status: current.healthStatus },
        after: { health_status: p.status },
      });
    }
    return { before: current.healthStatus };
  });
}

// ---------------------------------------------------------------------------------------------
// Reads for `dde status` (the raw client: numbers as the operator sees them)

/** Connections not deleted, counted by status. */
export async function countConnectionsByStatus(sql: Sql): Promise<{ status: string; n: number }[]> {
  return sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from connections where deleted_at is null group by status order by status`;
}

export type ConnectionBehindPlan = { frequency: Frequency; start_date: number; end_date: number | null; planned_through: number | null };

/** Active connections whose planning cursor is more than `settleMinutes` behind (instants in epoch milliseconds). */
export async function listConnectionsBehindPlan(sql: Sql, p: { settleMinutes: number }): Promise<ConnectionBehindPlan[]> {
  return sql<ConnectionBehindPlan[]>`
      select frequency, extract(epoch from start_date)::float8 * 1000 as start_date,
        extract(epoch from end_date)::float8 * 1000 as end_date, extract(epoch from planned_through)::float8 * 1000 as planned_through
      from connections
      where status = 'active' and deleted_at is null
        and (planned_through is null or planned_through < now() - make_interval(mins => ${p.settleMinutes}))`;
}
