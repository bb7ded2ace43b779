import { SqlClient } from "@effect/sql"
import { KeyringTest } from "@findry/amplitude-adapter/testing"
import { AnnotationScheduler, AnnotationSchedulerLive } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import { type AnnotationKind, BetId, WorkspaceId } from "@findry/domain"
import { ClusterClientLive } from "@findry/runtime"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"

/** Seals with the keyring the runner processes get (`TEST_ENCRYPTION_KEYS` as `FINDRY_ENCRYPTION_KEYS`). */
export const SealerLive = SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(KeyringTest))

/** Enqueues like an API in role `api`, for the worker processes a test starts. */
export const ClientSchedulerLive = AnnotationSchedulerLive.pipe(Layer.provide(ClusterClientLive))

export interface SeededBet {
  readonly workspaceId: WorkspaceId
  readonly betId: BetId
}

/**
 * Workspaces connected to the given Amplitude projects, each with `betsPerWorkspace` bets that are shipped
 * and have a verdict, so every bet has all three annotation kinds to push.
 */
export const seed = (
  projects: ReadonlyArray<{ readonly apiKey: string; readonly secretKey: string }>,
  betsPerWorkspace: number
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sealer = yield* SecretSealer
    const bets: Array<SeededBet> = []
    for (const [index, keys] of projects.entries()) {
      const workspaceId = WorkspaceId.make(randomUUID())
      const projectId = randomUUID()
      const metricId = randomUUID()
      const binding = (slot: number) => ({ workspaceId, provider: "amplitude", slot })
      const apiKey = yield* sealer.seal(Redacted.make(keys.apiKey), binding(1))
      const secretKey = yield* sealer.seal(Redacted.make(keys.secretKey), binding(2))
      yield* sql`INSERT INTO workspaces (id, name) VALUES (${workspaceId}, ${`Crash ${index}`})`
      yield* sql`
        INSERT INTO integrations (
          id, workspace_id, provider, status, region, credential_1, credential_2, credential_1_prefix,
          credential_2_prefix, project_fingerprint, display_name, settings, connected_at, last_validated_at)
        VALUES (
          ${randomUUID()}, ${workspaceId}, 'amplitude', 'connected', 'us', ${apiKey.sealed}, ${secretKey.sealed},
          ${apiKey.prefix}, ${secretKey.prefix}, ${`fp-${index}`}, ${`Project ${index}`},
          '{"annotationsEnabled": true}'::jsonb, now(), now())`
      yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'Web')`
      yield* sql`
        INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${metricId}, ${workspaceId}, 'Conversion', 'percent')`
      for (let n = 0; n < betsPerWorkspace; n++) {
        const betId = BetId.make(randomUUID())
        yield* sql`
          INSERT INTO bets (
            id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit,
            timeframe_days, promoted_at, shipped_at, created_by)
          VALUES (
            ${betId}, ${workspaceId}, ${projectId}, ${`Bet ${index}-${n}`}, 'shipped', ${metricId}, 'increase', 5,
            'percent', 14, now() - interval '30 days', now() - interval '20 days', 'seed')`
        yield* sql`
          INSERT INTO outcomes (bet_id, workspace_id, ship_date, what_shipped, verdict, verdict_source, verdict_at)
          VALUES (${betId}, ${workspaceId}, (now() - interval '20 days')::date, 'It', 'hit', 'sweep',
                  now() - interval '6 days')`
        bets.push({ workspaceId, betId })
      }
    }
    return bets
  }).pipe(Effect.orDie)

export const KINDS: ReadonlyArray<AnnotationKind> = ["promoted", "shipped", "verdict"]

/** Records and enqueues every kind of `bet` in one transaction, as a domain change would. */
export const decide = (bet: SeededBet, kinds: ReadonlyArray<AnnotationKind> = KINDS) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const scheduler = yield* AnnotationScheduler
    yield* sql.withTransaction(
      Effect.forEach(kinds, (kind) => scheduler.betEvent({ ...bet, kind }), { discard: true })
    )
  }).pipe(Effect.orDie)

/** Records of the given bets per status. */
export const statusCounts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM annotation_records GROUP BY status`
  return Object.fromEntries(rows.map((row) => [row.status, row.n])) as Record<string, number>
}).pipe(Effect.orDie)
