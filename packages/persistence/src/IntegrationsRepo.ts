import { SqlClient, SqlSchema, type Statement } from "@effect/sql"
import { type AmplitudeRegion, type Role, type UserId, WorkspaceId } from "@findry/domain"
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { uuidList } from "./UuidList.js"

export const AnnotationPushSettings = Schema.Struct({
  status: Schema.Literal("ok", "failing"),
  reason: Schema.NullOr(Schema.String),
  failedAt: Schema.NullOr(Schema.String),
  lastPushedAt: Schema.NullOr(Schema.String)
})
export type AnnotationPushSettings = typeof AnnotationPushSettings.Type

export const IntegrationSettings = Schema.Struct({
  annotationsEnabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  capabilities: Schema.optionalWith(
    Schema.Struct({
      taxonomy: Schema.optionalWith(Schema.Boolean, { default: () => false }),
      experiments: Schema.optionalWith(Schema.Boolean, { default: () => false })
    }),
    { default: () => ({ taxonomy: false, experiments: false }) }
  ),
  appId: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  displayNameByAdmin: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Written by the annotation push (atomically, key by key); a reconnect starts afresh. */
  annotationPush: Schema.optional(AnnotationPushSettings),
  /** The `Findry` annotation category once ensured in the connected project. */
  annotationCategoryId: Schema.optional(Schema.Number)
})
export type IntegrationSettings = typeof IntegrationSettings.Type

const Bytes = Schema.NullOr(Schema.Uint8ArrayFromSelf)
const Time = Schema.NullOr(Schema.DateFromSelf)

export class IntegrationRecord extends Schema.Class<IntegrationRecord>("IntegrationRecord")({
  id: Schema.String,
  workspaceId: WorkspaceId,
  provider: Schema.String,
  status: Schema.Literal("connected", "disconnected"),
  region: Schema.NullOr(Schema.String),
  credential1: Bytes,
  credential2: Bytes,
  credential3: Bytes,
  credential1Prefix: Schema.NullOr(Schema.String),
  credential2Prefix: Schema.NullOr(Schema.String),
  credential3Prefix: Schema.NullOr(Schema.String),
  projectFingerprint: Schema.NullOr(Schema.String),
  displayName: Schema.NullOr(Schema.String),
  settings: IntegrationSettings,
  connectedAt: Time,
  disconnectedAt: Time,
  lastValidatedAt: Time
}) {
  /**
   * The sealed credentials (slots 1–3) of a connected row that holds both keys, in the shape the Amplitude
   * adapter opens; `undefined` when the row cannot be used to call the provider.
   */
  get connectedCredentials(): ConnectedCredentials | undefined {
    if (this.status !== "connected" || this.credential1 === null || this.credential2 === null) return undefined
    return {
      workspaceId: this.workspaceId,
      region: this.region === "eu" ? "eu" : "us",
      apiKey: this.credential1,
      secretKey: this.credential2,
      managementKey: this.credential3
    }
  }
}

export interface ConnectedCredentials {
  readonly workspaceId: WorkspaceId
  readonly region: AmplitudeRegion
  readonly apiKey: Uint8Array
  readonly secretKey: Uint8Array
  readonly managementKey: Uint8Array | null
}

/** A sealed credential and the prefix users may see. */
export interface StoredCredential {
  readonly sealed: Uint8Array
  readonly prefix: string
}

export interface ConnectedIntegration {
  readonly workspaceId: WorkspaceId
  readonly provider: string
  readonly region: string
  readonly credential1: StoredCredential
  readonly credential2: StoredCredential
  readonly projectFingerprint: string
  readonly displayName: string
  readonly settings: IntegrationSettings
  /** Slot 3 survives only a re-key to the same external project. */
  readonly keepCredential3: boolean
}

const columns = `
  id, workspace_id, provider, status, region, credential_1, credential_2, credential_3,
  credential_1_prefix, credential_2_prefix, credential_3_prefix, project_fingerprint, display_name,
  settings, connected_at, disconnected_at, last_validated_at`

const memberColumns = columns.split(",").map((column) => `i.${column.trim()}`).join(", ")

/** A member's role in a workspace, with the workspace's integration row for one provider when there is one. */
export interface MemberIntegration {
  readonly role: Role
  readonly integration: Option.Option<IntegrationRecord>
}

/** One row per (workspace, provider) with three sealed credential slots shared by every provider. */
export class IntegrationsRepo extends Effect.Service<IntegrationsRepo>()("@findry/persistence/IntegrationsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const select = sql.unsafe(columns)

    const findOne = SqlSchema.findOne({
      Request: Schema.Struct({ workspaceId: Schema.String, provider: Schema.String }),
      Result: IntegrationRecord,
      execute: ({ provider, workspaceId }) =>
        sql`SELECT ${select} FROM integrations WHERE workspace_id = ${workspaceId} AND provider = ${provider}`
    })

    const find = (workspaceId: WorkspaceId, provider: string): Effect.Effect<Option.Option<IntegrationRecord>> =>
      findOne({ workspaceId, provider }).pipe(Effect.orDie, Effect.withSpan("IntegrationsRepo.find"))

    const decodeRecord = Schema.decodeUnknown(IntegrationRecord)
    const decodeRecords = Schema.decodeUnknown(Schema.Array(IntegrationRecord))

    /** The rows of many workspaces in one round trip, by workspace; a workspace without one is absent. */
    const findAll = (
      workspaceIds: ReadonlyArray<WorkspaceId>,
      provider: string
    ): Effect.Effect<ReadonlyMap<string, IntegrationRecord>> =>
      (workspaceIds.length === 0 ? Effect.succeed<ReadonlyArray<unknown>>([]) : sql`
        SELECT ${select} FROM integrations
        WHERE provider = ${provider}
          AND workspace_id IN ${uuidList(sql, workspaceIds)}`)
        .pipe(
          Effect.flatMap(decodeRecords),
          Effect.map((records) => new Map(records.map((record) => [record.workspaceId, record]))),
          Effect.orDie,
          Effect.withSpan("IntegrationsRepo.findAll", { attributes: { workspaces: workspaceIds.length } })
        )

    /**
     * The caller's membership and the row in one round trip, for reads that authorize and answer together.
     * `None` when `userId` is not a member of the workspace.
     */
    const findForMember = (
      workspaceId: WorkspaceId,
      userId: UserId,
      provider: string
    ): Effect.Effect<Option.Option<MemberIntegration>> =>
      sql<{ readonly memberRole: Role; readonly id: string | null }>`
        SELECT m.role AS member_role, ${sql.unsafe(memberColumns)}
        FROM workspace_members m
        LEFT JOIN integrations i ON i.workspace_id = m.workspace_id AND i.provider = ${provider}
        WHERE m.workspace_id = ${workspaceId} AND m.user_id = ${userId}`.pipe(
        Effect.flatMap(([row]) => {
          if (row === undefined) return Effect.succeedNone
          if (row.id === null) return Effect.succeedSome({ role: row.memberRole, integration: Option.none() })
          return Effect.map(
            decodeRecord(row),
            (record) => Option.some({ role: row.memberRole, integration: Option.some(record) })
          )
        }),
        Effect.orDie,
        Effect.withSpan("IntegrationsRepo.findForMember")
      )

    const run = (name: string, statement: Statement.Statement<unknown>) =>
      statement.pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeedNone : Effect.asSome(decodeRecord(rows[0]))),
        Effect.orDie,
        Effect.withSpan(`IntegrationsRepo.${name}`)
      )

    /** Stores a validated connection in one statement, replacing any previous keys of the row. */
    const saveConnected = (connection: ConnectedIntegration): Effect.Effect<IntegrationRecord> =>
      run(
        "saveConnected",
        sql`
          INSERT INTO integrations (
            id, workspace_id, provider, status, region, credential_1, credential_2, credential_1_prefix,
            credential_2_prefix, project_fingerprint, display_name, settings, connected_at, last_validated_at)
          VALUES (
            ${randomUUID()}, ${connection.workspaceId}, ${connection.provider}, 'connected', ${connection.region},
            ${connection.credential1.sealed}, ${connection.credential2.sealed}, ${connection.credential1.prefix},
            ${connection.credential2.prefix}, ${connection.projectFingerprint}, ${connection.displayName},
            ${JSON.stringify(connection.settings)}::jsonb, now(), now())
          ON CONFLICT (workspace_id, provider) DO UPDATE SET
            status = 'connected',
            region = EXCLUDED.region,
            credential_1 = EXCLUDED.credential_1,
            credential_2 = EXCLUDED.credential_2,
            credential_3 = CASE WHEN ${connection.keepCredential3} THEN integrations.credential_3 END,
            credential_1_prefix = EXCLUDED.credential_1_prefix,
            credential_2_prefix = EXCLUDED.credential_2_prefix,
            credential_3_prefix = CASE WHEN ${connection.keepCredential3} THEN integrations.credential_3_prefix END,
            project_fingerprint = EXCLUDED.project_fingerprint,
            display_name = EXCLUDED.display_name,
            settings = EXCLUDED.settings,
            connected_at = CASE WHEN integrations.status = 'connected' THEN integrations.connected_at ELSE now() END,
            disconnected_at = NULL,
            last_validated_at = now(),
            updated_at = now()
          RETURNING ${select}`
      ).pipe(Effect.map(Option.getOrThrow))

    const updateConnected = (
      name: string,
      workspaceId: WorkspaceId,
      provider: string,
      assignments: Statement.Statement<unknown>
    ): Effect.Effect<Option.Option<IntegrationRecord>> =>
      run(
        name,
        sql`
          UPDATE integrations SET ${assignments}, updated_at = now()
          WHERE workspace_id = ${workspaceId} AND provider = ${provider} AND status = 'connected'
          RETURNING ${select}`
      )

    /**
     * Settings are changed key by key inside the stored object, never written back whole, so that concurrent writers
     * (an admin's toggle, the scheduler's push health) cannot undo each other's fields.
     */
    const settingSet = (path: readonly [string, ...Array<string>], value: unknown) => {
      const parent = path.length === 1
        ? sql`settings`
        : sql`jsonb_set(settings, ${`{${path[0]}}`}::text[], coalesce(settings -> ${path[0]}, '{}'::jsonb))`
      return sql`settings = jsonb_set(${parent}, ${`{${path.join(",")}}`}::text[], ${JSON.stringify(value)}::jsonb)`
    }

    const setAnnotationsEnabled = (workspaceId: WorkspaceId, provider: string, enabled: boolean) =>
      updateConnected("setAnnotationsEnabled", workspaceId, provider, settingSet(["annotationsEnabled"], enabled))

    /** Stores (or clears) the third credential and records the experiments capability it gives. */
    const setCredential3 = (workspaceId: WorkspaceId, provider: string, credential: StoredCredential | null) =>
      updateConnected(
        credential === null ? "clearCredential3" : "setCredential3",
        workspaceId,
        provider,
        sql`
          credential_3 = ${credential?.sealed ?? null}, credential_3_prefix = ${credential?.prefix ?? null},
          ${settingSet(["capabilities", "experiments"], credential !== null)}`
      )

    /** Destroys every credential in the same statement that marks the row disconnected; `None` if it was not connected. */
    const disconnect = (workspaceId: WorkspaceId, provider: string) =>
      updateConnected(
        "disconnect",
        workspaceId,
        provider,
        sql`
          status = 'disconnected', disconnected_at = now(),
          credential_1 = NULL, credential_2 = NULL, credential_3 = NULL,
          credential_1_prefix = NULL, credential_2_prefix = NULL, credential_3_prefix = NULL`
      )

    /** Every stored credential as `{integrationId}:{slot}`, in ascending id order, after `afterId`. */
    const sealedCredentials = (options: { readonly afterId: string | null; readonly limit: number }) =>
      sql<{ id: string; workspaceId: string; provider: string; slot: number; sealed: Uint8Array }>`
        SELECT id::text || ':' || slot AS id, workspace_id, provider, slot, sealed FROM (
          SELECT id, workspace_id, provider, 1 AS slot, credential_1 AS sealed FROM integrations
          WHERE credential_1 IS NOT NULL
          UNION ALL
          SELECT id, workspace_id, provider, 2, credential_2 FROM integrations WHERE credential_2 IS NOT NULL
          UNION ALL
          SELECT id, workspace_id, provider, 3, credential_3 FROM integrations WHERE credential_3 IS NOT NULL
        ) slots
        WHERE ${options.afterId === null ? sql`true` : sql`id::text || ':' || slot > ${options.afterId}`}
        ORDER BY 1 LIMIT ${options.limit}`.pipe(Effect.orDie, Effect.withSpan("IntegrationsRepo.sealedCredentials"))

    /** Compare-and-swap of one stored credential; false when it no longer holds `expected`. */
    const replaceCredential = (id: string, expected: Uint8Array, next: Uint8Array): Effect.Effect<boolean> => {
      const [integrationId, slot] = id.split(":")
      const column = slot === "1"
        ? "credential_1"
        : slot === "2"
        ? "credential_2"
        : slot === "3"
        ? "credential_3"
        : null
      if (column === null || integrationId === undefined) return Effect.succeed(false)
      return sql`
        UPDATE integrations SET ${sql(column)} = ${next}, updated_at = now()
        WHERE id = ${integrationId} AND ${sql(column)} = ${expected}
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length === 1),
        Effect.orDie,
        Effect.withSpan("IntegrationsRepo.replaceCredential")
      )
    }

    return {
      find,
      findAll,
      findForMember,
      saveConnected,
      setAnnotationsEnabled,
      setCredential3,
      disconnect,
      sealedCredentials,
      replaceCredential
    } as const
  })
}) {}
