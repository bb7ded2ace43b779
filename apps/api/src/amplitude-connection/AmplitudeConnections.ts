import { SqlClient } from "@effect/sql"
import { ConnectionResolver, failureReason, type LiveConnection } from "@findry/amplitude-access"
import {
  AMPLITUDE_PROVIDER,
  AmplitudeClient,
  credentialBinding,
  type ExperimentCallFailure,
  type ValidationFailure
} from "@findry/amplitude-adapter"
import { AnnotationScheduler } from "@findry/annotations"
import { Fingerprinter, SecretSealer } from "@findry/crypto"
import {
  AmplitudeCapabilities,
  AmplitudeConnection,
  AmplitudeEvent,
  type AmplitudeRegion,
  AnnotationPushHealth,
  type BetId,
  Cohort,
  type ConnectAmplitude,
  ExperimentSummary,
  type ManagementKeyRequired,
  NotConnected,
  NotFound,
  regionLabel,
  type UserId,
  type WorkspaceId
} from "@findry/domain"
import { experimentSummary } from "@findry/experiment-sync"
import {
  AuditLog,
  BetsRepo,
  type IntegrationRecord,
  type IntegrationSettings,
  IntegrationsRepo,
  MetricsRepo
} from "@findry/persistence"
import { Chunk, Effect, Option, type Redacted, Stream } from "effect"
import { UsageLimits } from "../limits/UsageLimits.js"
import { type Picker, type SharedPicker, SharedPickers } from "./SharedPickers.js"

/** Views are built from decoded rows: re-validating them on every read would only cost time. */
const trusted = { disableValidation: true } as const

const dateOrNull = (iso: string | null | undefined) => (iso == null ? null : new Date(iso))

const pushHealth = (stored: IntegrationSettings["annotationPush"]): AnnotationPushHealth =>
  new AnnotationPushHealth({
    status: stored?.status ?? "ok",
    reason: stored?.reason ?? null,
    failedAt: dateOrNull(stored?.failedAt),
    lastPushedAt: dateOrNull(stored?.lastPushedAt)
  }, trusted)

const toView = (record: Option.Option<IntegrationRecord>): AmplitudeConnection =>
  Option.match(record, {
    onNone: () =>
      new AmplitudeConnection({
        status: "not_connected",
        region: null,
        displayName: null,
        apiKeyPrefix: null,
        secretKeyPrefix: null,
        managementKeyPrefix: null,
        annotationsEnabled: false,
        capabilities: new AmplitudeCapabilities({ taxonomy: false, experiments: false }, trusted),
        connectedAt: null,
        disconnectedAt: null,
        lastValidatedAt: null,
        annotationPush: pushHealth(undefined)
      }, trusted),
    onSome: (row) =>
      new AmplitudeConnection({
        status: row.status,
        region: row.region === "eu" ? "eu" : "us",
        displayName: row.displayName,
        apiKeyPrefix: row.credential1Prefix,
        secretKeyPrefix: row.credential2Prefix,
        managementKeyPrefix: row.credential3Prefix,
        annotationsEnabled: row.settings.annotationsEnabled,
        capabilities: new AmplitudeCapabilities({
          taxonomy: row.status === "connected" && row.settings.capabilities.taxonomy,
          experiments: row.status === "connected" && row.credential3 !== null
        }, trusted),
        connectedAt: row.connectedAt,
        disconnectedAt: row.disconnectedAt,
        lastValidatedAt: row.lastValidatedAt,
        annotationPush: pushHealth(row.settings.annotationPush)
      }, trusted)
  })

const derivedDisplayName = (region: AmplitudeRegion, appId: number | null) =>
  appId === null ? `Amplitude ${regionLabel(region)} project` : `Amplitude project ${appId}`

const unavailable = <A>(reason: string): Picker<A> => ({ available: false, reason, items: [] })

/** The workspace's Amplitude connection: connect, re-key, toggle, management key, disconnect, pickers. */
export class AmplitudeConnections extends Effect.Service<AmplitudeConnections>()("@findry/api/AmplitudeConnections", {
  effect: Effect.gen(function*() {
    const integrations = yield* IntegrationsRepo
    const audit = yield* AuditLog
    const sealer = yield* SecretSealer
    const fingerprinter = yield* Fingerprinter
    const amplitude = yield* AmplitudeClient
    const metrics = yield* MetricsRepo
    const sql = yield* SqlClient.SqlClient
    const limits = yield* UsageLimits
    const pickers = yield* SharedPickers
    const scheduler = yield* AnnotationScheduler
    const bets = yield* BetsRepo
    const resolver = yield* ConnectionResolver

    const find = (workspaceId: WorkspaceId) => integrations.find(workspaceId, AMPLITUDE_PROVIDER)

    /** The connection as a member sees it, authorized and read in one statement; outsiders get `NotFound`. */
    const getForMember = (workspaceId: WorkspaceId, userId: UserId) =>
      Effect.flatMap(
        integrations.findForMember(workspaceId, userId, AMPLITUDE_PROVIDER),
        Option.match({
          onNone: () => Effect.fail(new NotFound()),
          onSome: ({ integration }) => Effect.succeed(toView(integration))
        })
      )

    const connect = Effect.fn("AmplitudeConnections.connect")(
      function*(workspaceId: WorkspaceId, actorId: string, input: ConnectAmplitude) {
        yield* limits.validation(workspaceId, actorId)
        const existing = yield* find(workspaceId)
        const validated = yield* amplitude.validateCredentials(input).pipe(
          Effect.tapError((error: ValidationFailure) =>
            audit.record({
              workspaceId,
              actorId,
              action: "amplitude.connect_failed",
              details: { region: input.region, reason: error._tag }
            })
          )
        )
        const fingerprint = fingerprinter.fingerprint(input.apiKey)
        const previous = Option.getOrUndefined(existing)
        const sameProject = previous?.projectFingerprint === fingerprint
        const apiKey = yield* sealer.seal(input.apiKey, credentialBinding(workspaceId, "apiKey"))
        const secretKey = yield* sealer.seal(input.secretKey, credentialBinding(workspaceId, "secretKey"))
        const keepsAdminName = sameProject && previous?.settings.displayNameByAdmin === true
        const displayName = input.displayName ??
          (keepsAdminName && previous?.displayName
            ? previous.displayName
            : derivedDisplayName(input.region, validated.appId))
        const settings: IntegrationSettings = {
          annotationsEnabled: previous?.settings.annotationsEnabled ?? true,
          capabilities: {
            taxonomy: validated.capabilities.taxonomy,
            experiments: sameProject && previous?.credential3 !== null
          },
          appId: validated.appId,
          displayNameByAdmin: input.displayName !== undefined || keepsAdminName
        }
        const projectChanged = previous?.projectFingerprint != null && !sameProject
        const saved = yield* sql.withTransaction(Effect.gen(function*() {
          const saved = yield* integrations.saveConnected({
            workspaceId,
            provider: AMPLITUDE_PROVIDER,
            region: input.region,
            credential1: apiKey,
            credential2: secretKey,
            projectFingerprint: fingerprint,
            displayName,
            settings,
            keepCredential3: sameProject
          })
          // Mappings name events of the old project: keep them, flagged until a PM saves them again.
          if (projectChanged) yield* metrics.flagForReview(workspaceId, AMPLITUDE_PROVIDER)
          // Pushes that failed on rejected keys (or were skipped while disconnected) for this very project go
          // again, in this transaction; those aimed at another project stay as they ended.
          const { requeued } = yield* scheduler.retryFailed({ workspaceId })
          yield* audit.record({
            workspaceId,
            actorId,
            action: previous?.status === "connected" ? "amplitude.keys_replaced" : "amplitude.connected",
            details: {
              region: input.region,
              apiKeyPrefix: apiKey.prefix,
              secretKeyPrefix: secretKey.prefix,
              displayName,
              taxonomy: validated.capabilities.taxonomy,
              sameProject: previous?.projectFingerprint == null ? null : sameProject,
              requeuedAnnotations: requeued
            }
          })
          return saved
        })).pipe(Effect.orDie)
        return { connection: toView(Option.some(saved)), projectChanged }
      }
    )

    const requireConnected = (workspaceId: WorkspaceId) => Effect.map(resolver.live(workspaceId), (live) => live.record)

    const setAnnotationsEnabled = Effect.fn("AmplitudeConnections.setAnnotationsEnabled")(
      function*(workspaceId: WorkspaceId, actorId: string, enabled: boolean) {
        const current = yield* requireConnected(workspaceId)
        const updated = yield* integrations.setAnnotationsEnabled(workspaceId, AMPLITUDE_PROVIDER, enabled)
        if (Option.isNone(updated)) return yield* new NotConnected()
        if (current.settings.annotationsEnabled !== enabled) {
          yield* audit.record({
            workspaceId,
            actorId,
            action: "amplitude.annotations_toggled",
            details: { annotationsEnabled: enabled }
          })
        }
        return toView(updated)
      }
    )

    const setManagementKey = Effect.fn("AmplitudeConnections.setManagementKey")(
      function*(workspaceId: WorkspaceId, actorId: string, managementKey: Redacted.Redacted<string>) {
        const current = yield* requireConnected(workspaceId)
        yield* limits.validation(workspaceId, actorId)
        const region: AmplitudeRegion = current.region === "eu" ? "eu" : "us"
        yield* amplitude.validateManagementKey({ region, managementKey }).pipe(
          Effect.tapError((error) =>
            audit.record({
              workspaceId,
              actorId,
              action: "amplitude.management_key_failed",
              details: { reason: error._tag }
            })
          )
        )
        const sealed = yield* sealer.seal(managementKey, credentialBinding(workspaceId, "managementKey"))
        const updated = yield* integrations.setCredential3(workspaceId, AMPLITUDE_PROVIDER, sealed)
        if (Option.isNone(updated)) return yield* new NotConnected()
        yield* audit.record({
          workspaceId,
          actorId,
          action: "amplitude.management_key_set",
          details: { managementKeyPrefix: sealed.prefix }
        })
        return toView(updated)
      }
    )

    const removeManagementKey = Effect.fn("AmplitudeConnections.removeManagementKey")(
      function*(workspaceId: WorkspaceId, actorId: string) {
        const current = yield* find(workspaceId)
        if (Option.isNone(current) || current.value.credential3 === null) return toView(current)
        const updated = yield* integrations.setCredential3(workspaceId, AMPLITUDE_PROVIDER, null)
        yield* audit.record({ workspaceId, actorId, action: "amplitude.management_key_removed" })
        return toView(Option.isSome(updated) ? updated : current)
      }
    )

    const disconnect = Effect.fn("AmplitudeConnections.disconnect")(
      function*(workspaceId: WorkspaceId, actorId: string) {
        const disconnected = yield* integrations.disconnect(workspaceId, AMPLITUDE_PROVIDER)
        if (Option.isNone(disconnected)) return toView(yield* find(workspaceId))
        yield* audit.record({ workspaceId, actorId, action: "amplitude.disconnected" })
        return toView(disconnected)
      }
    )

    /** The admin's on-demand re-drive of the workspace's (or one bet's) retryable annotation pushes. */
    const retryAnnotations = Effect.fn("AmplitudeConnections.retryAnnotations")(
      function*(workspaceId: WorkspaceId, actorId: string, betId: BetId | undefined) {
        yield* requireConnected(workspaceId)
        if (betId !== undefined && Option.isNone(yield* bets.find(workspaceId, betId))) {
          return yield* new NotFound({ message: "No such bet in this workspace." })
        }
        return yield* sql.withTransaction(Effect.gen(function*() {
          const { requeued } = yield* scheduler.retryFailed({ workspaceId, betId })
          yield* audit.record({
            workspaceId,
            actorId,
            action: "amplitude.annotations_retried",
            details: { betId: betId ?? null, requeued }
          })
          return { requeued }
        })).pipe(Effect.orDie)
      }
    )

    const trouble = (error: ExperimentCallFailure) =>
      Effect.logWarning("Amplitude picker unavailable").pipe(
        Effect.annotateLogs("reason", error._tag),
        Effect.as(failureReason(error))
      )

    /**
     * A picker of the workspace's live connection (`resolved`), answered through `shared`: `list` reads the
     * items from Amplitude. No connection (or no management key) and Amplitude trouble make it unavailable.
     */
    const picker = <A, L extends LiveConnection>(
      resolved: Effect.Effect<L, NotConnected | ManagementKeyRequired>,
      shared: SharedPicker<A>,
      list: (live: L) => Effect.Effect<ReadonlyArray<A>, ExperimentCallFailure>
    ) =>
      Effect.flatMap(resolved, (live) =>
        shared(
          live.record.workspaceId,
          live.credentials,
          list(live).pipe(
            Effect.map((items): Picker<A> => ({ available: true, items })),
            Effect.catchAll((error) => Effect.map(trouble(error), unavailable<A>))
          )
        )).pipe(
          Effect.catchTags({
            NotConnected: () => Effect.succeed(unavailable<A>("not_connected")),
            ManagementKeyRequired: () => Effect.succeed(unavailable<A>("no_management_key"))
          })
        )

    const sharedCohorts = pickers.make("cohorts", Cohort)
    const sharedEvents = pickers.make("events", AmplitudeEvent)
    const sharedExperiments = pickers.make("experiments", ExperimentSummary)
    const sharedExperimentsWithArchived = pickers.make("experiments-with-archived", ExperimentSummary)

    const cohorts = (workspaceId: WorkspaceId) =>
      picker(resolver.live(workspaceId), sharedCohorts, ({ connection }) =>
        connection.listCohorts().pipe(
          Effect.map((list) =>
            list.map((cohort) =>
              new Cohort({
                id: cohort.id,
                name: cohort.name,
                size: cohort.size,
                archived: cohort.archived,
                lastComputedAt: cohort.lastComputedAt
              })
            )
          )
        )).pipe(Effect.withSpan("AmplitudeConnections.cohorts"))

    const events = (workspaceId: WorkspaceId) =>
      picker(resolver.live(workspaceId), sharedEvents, ({ connection }) =>
        connection.listEvents().pipe(
          Effect.map((list) =>
            list.filter((event) => !event.hidden && !event.deleted).map((event) =>
              new AmplitudeEvent(
                event.totals === null ? { name: event.name } : { name: event.name, totals: event.totals }
              )
            )
          )
        )).pipe(Effect.withSpan("AmplitudeConnections.events"))

    const experiments = (workspaceId: WorkspaceId, includeArchived: boolean) =>
      picker(
        resolver.withExperiments(workspaceId),
        includeArchived ? sharedExperimentsWithArchived : sharedExperiments,
        ({ experiments }) =>
          experiments.list({ includeArchived }).pipe(
            Stream.filter((experiment) => !experiment.deleted),
            Stream.map(experimentSummary),
            Stream.runCollect,
            Effect.map((chunk) => Chunk.toReadonlyArray(chunk))
          )
      ).pipe(Effect.withSpan("AmplitudeConnections.experiments"))

    return {
      getForMember,
      connect,
      setAnnotationsEnabled,
      setManagementKey,
      removeManagementKey,
      disconnect,
      retryAnnotations,
      cohorts,
      events,
      experiments
    } as const
  }),
  dependencies: [
    IntegrationsRepo.Default,
    AuditLog.Default,
    BetsRepo.Default,
    MetricsRepo.Default,
    UsageLimits.Default,
    SharedPickers.Default,
    ConnectionResolver.Default
  ]
}) {}
