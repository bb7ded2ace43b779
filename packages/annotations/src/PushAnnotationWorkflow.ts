import { Activity, DurableClock } from "@effect/workflow"
import { ConnectionResolver } from "@findry/amplitude-access"
import { BetId, WorkspaceId } from "@findry/domain"
import { AnnotationRecordsRepo } from "@findry/persistence"
import { Cause, Duration, Effect, Either, Layer, Option, Schema } from "effect"
import { AmplitudeProject, AmplitudeProjectLive, PushFailure, PushRetryable } from "./AmplitudeProject.js"
import { AnnotationsConfig } from "./AnnotationsConfig.js"
import { PushAnnotation, type PushPayload, PushResult } from "./PushAnnotation.js"
import { pushEnded } from "./PushMetrics.js"

/** The `Fail` activity's answer when the push must make another attempt instead of failing. */
const TryAgain = Schema.Struct({ retry: Schema.Literal(true) })

/** Durable backoff: `Retry-After` when Amplitude sent one, else exponential; both capped. */
export const backoffFor = (
  settings: { readonly baseBackoff: Duration.Duration; readonly maxBackoff: Duration.Duration },
  attempt: number,
  retryAfterMs: number
): Duration.Duration => {
  const exponential = Duration.toMillis(settings.baseBackoff) * 2 ** (attempt - 1)
  return Duration.millis(Math.min(Math.max(exponential, retryAfterMs), Duration.toMillis(settings.maxBackoff)))
}

/**
 * What an attempt's call to the workspace's entity ended with, as the workflow may store it: a typed
 * failure as it is; anything else (the runner holding the entity died and the socket write failed, or the
 * entity was interrupted when its shard moved) as a retryable failure. Stored as it was, such an end
 * would finish the workflow with a defect and leave the annotation pending for good. The entity may have
 * created the annotation before the call was cut off, hence `uncertainCreate`.
 */
export const settleAttempt = <A, R>(call: Effect.Effect<A, PushFailure, R>): Effect.Effect<A, PushFailure, R> =>
  Effect.catchAllCause(call, (cause) =>
    Option.match(Cause.failureOption(cause), {
      onSome: (failure) => Effect.fail(failure),
      onNone: () =>
        Effect.logWarning("An annotation push attempt was cut off; it will be retried", cause).pipe(
          Effect.zipRight(
            Effect.fail(
              new PushRetryable({
                reason: "The scheduler process running the push stopped",
                retryAfterMs: 0,
                uncertainCreate: true
              })
            )
          )
        )
    }))

/**
 * The push workflow: attempts through the workspace's `AmplitudeProject` entity, each a checkpointed
 * activity; durable sleeps between them honour `Retry-After`; a permanent failure or too many attempts
 * end the annotation as `failed` with the reason, and the connection's push health says so. After a
 * create whose answer was lost, a delayed reconcile removes the copy Amplitude stored late.
 */
export const PushAnnotationLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AnnotationsConfig
  const records = yield* AnnotationRecordsRepo
  const project = yield* AmplitudeProject.client

  const clientFailure = (reason: string) =>
    Effect.fail(new PushRetryable({ reason, retryAfterMs: 0, uncertainCreate: false }))

  const attempt = (payload: PushPayload, number: number) =>
    Activity.make({
      name: `Push/${number}`,
      success: PushResult,
      error: PushFailure,
      execute: project(payload.workspaceId).Push(payload).pipe(
        Effect.catchTags({
          MailboxFull: () => clientFailure("The scheduler is busy"),
          AlreadyProcessingMessage: () => clientFailure("The push is already running"),
          PersistenceError: () => clientFailure("The scheduler's storage failed")
        }),
        settleAttempt
      )
    })

  /**
   * Ends the push `failed`, or answers `retry` when that cannot be decided yet: keys for the same project were
   * saved after the failing attempt started (it may have used the old ones), or a newer revision took over.
   * Past `maxAttempts` attempts it fails whatever happened meanwhile.
   */
  const fail = (payload: PushPayload, number: number, reason: string, retryable: boolean) =>
    Activity.make({
      name: `Fail/${number}`,
      success: Schema.Union(PushResult, TryAgain),
      execute: Effect.gen(function*() {
        const key = { betId: BetId.make(payload.betId), kind: payload.kind }
        const workspaceId = WorkspaceId.make(payload.workspaceId)
        if (number > config.maxAttempts) {
          yield* records.markEnded(key, payload.revision, "failed", reason, retryable)
        } else if (!(yield* records.markFailed(key, payload.revision, reason, retryable))) {
          yield* Effect.logInfo(
            "Annotation push tries again: new keys or a newer revision were saved during its attempt"
          ).pipe(
            Effect.annotateLogs({ betId: payload.betId, kind: payload.kind })
          )
          return TryAgain.make({ retry: true })
        }
        yield* records.setPushHealth(workspaceId, {
          status: "failing",
          reason,
          failedAt: new Date().toISOString(),
          lastPushedAt: null
        })
        yield* Effect.logWarning("Annotation push failed").pipe(
          Effect.annotateLogs({ betId: payload.betId, kind: payload.kind, reason })
        )
        return new PushResult({ status: "failed", amplitudeAnnotationId: null, reason })
      })
    })

  const reconcile = (payload: PushPayload) =>
    Activity.make({
      name: "Reconcile",
      success: Schema.Struct({ removed: Schema.Number }),
      execute: project(payload.workspaceId).Reconcile(payload).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("Annotation reconcile did not finish", cause).pipe(Effect.as({ removed: 0 }))
        )
      )
    })

  return PushAnnotation.toLayer((payload) =>
    run(payload).pipe(Effect.tap((result) => pushEnded(payload, result)), Effect.withSpan("PushAnnotation"))
  )

  function run(payload: PushPayload) {
    return Effect.gen(function*() {
      let uncertainCreate = false
      for (let number = 1;; number++) {
        const result = yield* Effect.either(attempt(payload, number))
        if (Either.isRight(result)) {
          if (uncertainCreate && result.right.status === "pushed") {
            yield* DurableClock.sleep({ name: "reconcile", duration: config.reconcileDelay })
            yield* reconcile(payload)
          }
          return result.right
        }
        const failure = result.left
        if (failure._tag === "PushFatal") {
          const ended = yield* fail(payload, number, failure.reason, failure.retryable)
          if ("retry" in ended) continue
          return ended
        }
        uncertainCreate = uncertainCreate || failure.uncertainCreate
        if (number >= config.maxAttempts) {
          const ended = yield* fail(payload, number, `Gave up after ${number} attempts: ${failure.reason}`, true)
          if ("retry" in ended) continue
          return ended
        }
        yield* DurableClock.sleep({
          name: `backoff/${number}`,
          duration: backoffFor(config, number, failure.retryAfterMs)
        })
      }
    })
  }
}))

/**
 * Everything the annotation push runs on a runner: the workflow, the per-workspace entity and their
 * repositories. Needs a `WorkflowEngine` on a cluster (`Sharding`), `AmplitudeClient`, `AnnotationsConfig`
 * and the `SqlClient`.
 */
export const AnnotationPushLive = Layer.mergeAll(PushAnnotationLive, AmplitudeProjectLive).pipe(
  Layer.provide([AnnotationRecordsRepo.Default, ConnectionResolver.Default])
)
