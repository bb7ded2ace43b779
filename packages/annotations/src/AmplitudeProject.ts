import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { ConnectionResolver, failureReason } from "@findry/amplitude-access"
import {
  type AmplitudeCallFailure,
  type Annotation,
  CallPolicy,
  type ConnectedProject
} from "@findry/amplitude-adapter"
import type { WorkspaceId } from "@findry/domain"
import { annotationMarker, BetId, type FairSemaphore, makeFairSemaphore, unsafeMakeFairSemaphore } from "@findry/domain"
import { type AnnotationRecord, AnnotationRecordsRepo } from "@findry/persistence"
import { Duration, Effect, Either, Layer, Option, Schema } from "effect"
import { SKIP_REASONS } from "./AnnotationScheduler.js"
import { AnnotationsConfig } from "./AnnotationsConfig.js"
import { PushPayload, PushResult } from "./PushAnnotation.js"

/** Amplitude may succeed later; try again after `retryAfterMs` (0: our own backoff). */
export class PushRetryable extends Schema.TaggedError<PushRetryable>()("PushRetryable", {
  reason: Schema.String,
  retryAfterMs: Schema.Number,
  /** A create whose answer was lost: Amplitude may have stored it anyway. */
  uncertainCreate: Schema.Boolean
}) {}

/**
 * Retrying now cannot help (keys revoked, credentials unreadable, request refused). `retryable`: new keys for the
 * same project may (the push is re-driven when they are saved, or on an admin's retry).
 */
export class PushFatal extends Schema.TaggedError<PushFatal>()("PushFatal", {
  reason: Schema.String,
  retryable: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * The workspace changed under a running push: disconnected or connected to another project (`elsewhere`), or
 * the push turned off. The push ends `skipped` with the reason.
 */
class PushStopped extends Schema.TaggedError<PushStopped>()("PushStopped", {
  reason: Schema.String,
  elsewhere: Schema.Boolean
}) {}

export const PushFailure = Schema.Union(PushRetryable, PushFatal)
export type PushFailure = typeof PushFailure.Type

const Push = Rpc.make("Push", { payload: PushPayload, success: PushResult, error: PushFailure })
const Reconcile = Rpc.make("Reconcile", {
  payload: PushPayload,
  success: Schema.Struct({ removed: Schema.Number })
})

/**
 * Every Amplitude call of a workspace's annotation push runs in this entity, keyed by workspace id. The
 * cluster keeps one instance per workspace, and the adapter's fleet-wide governor (≤ 5 concurrent requests per
 * project across all processes, 1 kept for interactive calls) bounds the project however many runners there are
 * (docs/scheduler.md#annotation-push).
 */
export const AmplitudeProject = Entity.make("AmplitudeProject", [Push, Reconcile])

/** One attempt fails fast on 429 (the workflow sleeps durably); idempotent calls get two quick retries. */
export const pushPolicy = CallPolicy.make(CallPolicy.background, {
  name: "annotation-push",
  rateLimitRetries: 0,
  maxRetryAfter: Duration.zero,
  transientRetries: 2,
  transientBaseDelay: Duration.millis(200),
  transientMaxDelay: Duration.seconds(2)
})

const DAY = 24 * 60 * 60 * 1000

const classify = (error: AmplitudeCallFailure, during: "create" | "other"): PushFailure => {
  const reason = failureReason(error)
  switch (error._tag) {
    case "RateLimited":
      return new PushRetryable({ reason, retryAfterMs: error.retryAfterSeconds * 1000, uncertainCreate: false })
    case "Unreachable":
    case "AmplitudeUnavailable":
      return new PushRetryable({ reason, retryAfterMs: 0, uncertainCreate: during === "create" })
    case "InvalidCredentials":
    case "CredentialsUnreadable":
      return new PushFatal({ reason, retryable: true })
    case "AmplitudeRejected":
      return new PushFatal({ reason })
  }
}

const sameInstant = (a: Date, b: Date) => Math.abs(a.getTime() - b.getTime()) < 1000

/** The entity's handlers; needs the Amplitude client, the repositories and `AnnotationsConfig`. */
export const AmplitudeProjectLive = Layer.unwrapEffect(Effect.gen(function*() {
  const resolver = yield* ConnectionResolver
  const records = yield* AnnotationRecordsRepo
  const config = yield* AnnotationsConfig
  /** Pushes running at once in this runner, whatever the workspace (bounded fan-out). */
  const fanOut = yield* makeFairSemaphore(config.pushConcurrency)

  return AmplitudeProject.toLayer(
    Effect.gen(function*() {
      /** One lock per (bet, kind) with calls running or waiting; dropped when its last call ends. */
      const locks = new Map<string, { readonly lock: FairSemaphore; users: number }>()
      const serially = (key: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            let entry = locks.get(key)
            if (entry === undefined) {
              entry = { lock: unsafeMakeFairSemaphore(1), users: 0 }
              locks.set(key, entry)
            }
            entry.users++
            return entry
          }),
          (entry) => entry.lock.withPermit(self),
          (entry) =>
            Effect.sync(() => {
              if (--entry.users === 0) locks.delete(key)
            })
        )

      const details = (payload: PushPayload) =>
        `${annotationMarker(payload.betId, payload.kind)}\n` +
        `${config.appUrl}/workspaces/${payload.workspaceId}/bets/${payload.betId}`

      /** Every annotation carrying the marker, wherever the record's times have been. */
      const findOurs = (connection: ConnectedProject, record: AnnotationRecord, marker: string) =>
        Effect.gen(function*() {
          const from = (record.searchFrom ?? record.annotationAt).getTime() - DAY
          const to = (record.searchTo ?? record.annotationAt).getTime() + DAY
          const listed = yield* connection.listAnnotations({
            category: config.category,
            start: new Date(from),
            end: new Date(to)
          })
          const found = listed.filter((annotation) => annotation.details?.split("\n")[0] === marker)
          if (record.amplitudeAnnotationId !== null && !found.some((a) => a.id === record.amplitudeAnnotationId)) {
            const stored = yield* connection.getAnnotation(record.amplitudeAnnotationId)
            if (Option.isSome(stored) && stored.value.details?.split("\n")[0] === marker) found.push(stored.value)
          }
          return found.sort((a, b) => a.id - b.id)
        })

      const keepOf = (found: ReadonlyArray<Annotation>, record: AnnotationRecord) =>
        found.find((annotation) => annotation.id === record.amplitudeAnnotationId) ?? found[0]

      /** Deletes our own duplicates: annotations with the marker other than the one we keep. */
      const removeDuplicates = (connection: ConnectedProject, found: ReadonlyArray<Annotation>, keepId: number) =>
        Effect.forEach(
          found.filter((annotation) => annotation.id !== keepId),
          (duplicate) =>
            connection.deleteAnnotation(duplicate.id).pipe(
              Effect.tap(() => Effect.logInfo("Removed a duplicate Amplitude annotation")),
              Effect.annotateLogs({ amplitudeAnnotationId: duplicate.id })
            ),
          { discard: true }
        ).pipe(Effect.as(found.length - 1))

      /** The workspace's connection as stored now; `fingerprint` names its Amplitude project. */
      const connectionFor = (workspaceId: WorkspaceId) =>
        resolver.live(workspaceId, { policy: pushPolicy }).pipe(
          Effect.map(({ connection, record }) => {
            const fingerprint = record.projectFingerprint
            if (!record.settings.annotationsEnabled) return { skip: SKIP_REASONS.disabled, fingerprint } as const
            return {
              connection,
              fingerprint,
              keysAt: record.lastValidatedAt,
              categoryId: record.settings.annotationCategoryId,
              health: record.settings.annotationPush
            } as const
          }),
          Effect.catchTag("NotConnected", () =>
            Effect.succeed({ skip: SKIP_REASONS.notConnected, fingerprint: null } as const))
        )

      /**
       * Re-reads the connection right before an Amplitude call that changes something (and right after a create):
       * the same project goes on with the keys stored now (a re-key to the same project); a disconnect, another
       * project or the push turned off stops it.
       */
      const recheck = (workspaceId: WorkspaceId, fingerprint: string | null) =>
        Effect.flatMap(connectionFor(workspaceId), (now) => {
          if (now.fingerprint !== fingerprint) {
            return Effect.fail(
              new PushStopped({
                reason: now.fingerprint === null ? SKIP_REASONS.notConnected : SKIP_REASONS.projectChanged,
                elsewhere: true
              })
            )
          }
          if ("skip" in now) return Effect.fail(new PushStopped({ reason: now.skip, elsewhere: false }))
          return Effect.succeed(now.connection)
        })

      /** Deletes an annotation created in a project the workspace no longer points at. */
      const undoCreate = (connection: ConnectedProject, annotationId: number) =>
        connection.deleteAnnotation(annotationId).pipe(
          Effect.tap(() => Effect.logInfo("Removed an annotation created while the workspace left its project")),
          Effect.tapError((error) =>
            Effect.logWarning("Could not remove an annotation left in a former project", error)
          ),
          Effect.ignore,
          Effect.annotateLogs({ amplitudeAnnotationId: annotationId })
        )

      /** A push skipped because the workspace was disconnected is pushed again on a reconnect to its project. */
      const skipped = (payload: PushPayload, reason: string) =>
        records.markEnded(keyOf(payload), payload.revision, "skipped", reason, reason === SKIP_REASONS.notConnected)
          .pipe(
            Effect.as(new PushResult({ status: "skipped", amplitudeAnnotationId: null, reason }))
          )

      const push = (payload: PushPayload): Effect.Effect<PushResult, PushFailure> =>
        Effect.gen(function*() {
          const key = keyOf(payload)
          const found = yield* records.find(key)
          if (Option.isNone(found)) {
            return new PushResult({ status: "skipped", amplitudeAnnotationId: null, reason: SKIP_REASONS.betGone })
          }
          const record = found.value
          if (record.revision !== payload.revision || (record.pushedRevision ?? 0) >= payload.revision) {
            return new PushResult({
              status: "superseded",
              amplitudeAnnotationId: record.amplitudeAnnotationId,
              reason: null
            })
          }
          const target = yield* connectionFor(record.workspaceId)
          if ("skip" in target) {
            return yield* skipped(payload, target.skip)
          }
          yield* records.countAttempt(key, record.revision, {
            projectFingerprint: target.fingerprint,
            keysAt: target.keysAt
          })
          const latest = recheck(record.workspaceId, target.fingerprint)

          if (target.categoryId === undefined) {
            const category = yield* (yield* latest).ensureAnnotationCategory(config.category).pipe(
              Effect.mapError((error) => classify(error, "other"))
            )
            yield* records.setCategoryId(record.workspaceId, target.fingerprint, category.id)
          }

          const marker = annotationMarker(payload.betId, payload.kind)
          const wanted = { label: record.label, start: record.annotationAt, details: details(payload) }
          // An annotation's first attempt has nothing in Amplitude to find: no create was ever sent for its marker
          // (`attempts` is counted before any call and reset only with a new revision). Otherwise listing is
          // harmless with the keys read at the start of the attempt; the create re-reads them first.
          const neverSent = record.revision === 1 && record.attempts === 0 && record.amplitudeAnnotationId === null
          const existing = neverSent ? [] : yield* findOurs(target.connection, record, marker).pipe(
            Effect.mapError((error) => classify(error, "other"))
          )
          let keep = keepOf(existing, record)
          if (keep !== undefined) {
            const current = keep
            const upToDate = current.label === wanted.label && sameInstant(current.start, wanted.start) &&
              current.details === wanted.details && current.category?.name === config.category
            if (!upToDate) {
              const updated = yield* (yield* latest).updateAnnotation(current.id, {
                ...wanted,
                category: config.category
              }).pipe(
                Effect.map(Option.some),
                Effect.catchIf(
                  (error) => error._tag === "AmplitudeRejected" && error.status === 404,
                  () => Effect.succeedNone
                ),
                Effect.mapError((error) => classify(error, "other"))
              )
              if (Option.isNone(updated)) {
                yield* records.forgetAmplitudeId(key, current.id)
                return yield* new PushRetryable({
                  reason: "The annotation was deleted in Amplitude meanwhile",
                  retryAfterMs: 0,
                  uncertainCreate: false
                })
              }
            }
          } else {
            // Read just now, with no Amplitude call since: a first attempt in a workspace whose category is known
            // creates with the connection it started with.
            const creator = neverSent && target.categoryId !== undefined ? target.connection : yield* latest
            const created = yield* creator.createAnnotation({ ...wanted, category: config.category }).pipe(
              Effect.mapError((error) => classify(error, "create"))
            )
            const afterCreate = yield* Effect.either(latest)
            if (Either.isLeft(afterCreate)) {
              const stop = afterCreate.left
              if (stop.elsewhere) {
                yield* undoCreate(creator, created.id)
                return yield* stop
              }
              // Turned off while the create was on its way: what Amplitude already holds stays, as recorded.
              yield* records.markPushed(key, record.revision, created.id)
              return new PushResult({ status: "pushed", amplitudeAnnotationId: created.id, reason: null })
            }
            const connection = afterCreate.right
            const after = yield* findOurs(connection, { ...record, amplitudeAnnotationId: created.id }, marker).pipe(
              Effect.orElseSucceed((): ReadonlyArray<Annotation> => [])
            )
            const kept = after.length > 0 ? after[0]! : created
            yield* removeDuplicates(connection, after, kept.id).pipe(Effect.ignore)
            keep = kept
          }
          yield* records.markPushed(key, record.revision, keep.id)
          const health = target.health
          const now = Date.now()
          if (
            health?.status !== "ok" || health.lastPushedAt === null || now - Date.parse(health.lastPushedAt) > 60_000
          ) {
            yield* records.setPushHealth(record.workspaceId, {
              status: "ok",
              reason: null,
              failedAt: null,
              lastPushedAt: new Date(now).toISOString()
            })
          }
          return new PushResult({ status: "pushed", amplitudeAnnotationId: keep.id, reason: null })
        }).pipe(
          Effect.catchTag("PushStopped", (stop) => skipped(payload, stop.reason)),
          Effect.catchAllDefect((defect) =>
            Effect.logError("Annotation push attempt died", defect).pipe(
              Effect.zipRight(
                Effect.fail(new PushRetryable({ reason: "Internal error", retryAfterMs: 0, uncertainCreate: false }))
              )
            )
          ),
          Effect.withSpan("AmplitudeProject.push", { attributes: { betId: payload.betId, kind: payload.kind } })
        )

      /** Removes duplicates that a lost create answer left behind after the push settled. */
      const reconcile = (payload: PushPayload) =>
        Effect.gen(function*() {
          const found = yield* records.find(keyOf(payload))
          if (Option.isNone(found) || found.value.amplitudeAnnotationId === null) return { removed: 0 }
          const target = yield* connectionFor(found.value.workspaceId)
          if ("skip" in target) return { removed: 0 }
          const ours = yield* findOurs(target.connection, found.value, annotationMarker(payload.betId, payload.kind))
          const keep = keepOf(ours, found.value)
          if (keep === undefined) return { removed: 0 }
          const removed = yield* removeDuplicates(target.connection, ours, keep.id)
          return { removed }
        }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning("Annotation reconcile failed", cause).pipe(Effect.as({ removed: 0 }))
          ),
          Effect.withSpan("AmplitudeProject.reconcile")
        )

      return AmplitudeProject.of({
        // The (bet, kind) lock first: pushes queued behind one bet must not hold fan-out permits.
        Push: (request) =>
          serially(`${request.payload.betId}:${request.payload.kind}`)(fanOut.withPermit(push(request.payload))),
        Reconcile: (request) =>
          serially(`${request.payload.betId}:${request.payload.kind}`)(
            fanOut.withPermit(reconcile(request.payload))
          )
      })
    }),
    { concurrency: "unbounded", maxIdleTime: "5 minutes" }
  )
}))

const keyOf = (payload: PushPayload) => ({ betId: BetId.make(payload.betId), kind: payload.kind })
