import type { SecretOpener } from "@findry/crypto/opener"
import type { AmplitudeRegion } from "@findry/domain"
import { Cause, Effect, Exit, Option } from "effect"
import * as Annotations from "./Annotations.js"
import type { CallPolicy } from "./CallPolicy.js"
import * as Cohorts from "./Cohorts.js"
import { credentialBinding } from "./CredentialSlots.js"
import { type CredentialSlot, CredentialsUnreadable } from "./CredentialsUnreadable.js"
import * as Events from "./Events.js"
import * as Experiments from "./Experiments.js"
import * as Funnel from "./Funnel.js"
import { type Api, bindAll, type Bound, type CallList, type Sender, toAmplitudeRequest } from "./internal/Call.js"
import { type Credentials, managementKey as managementKeyCredentials, projectKeys } from "./internal/Credentials.js"
import type { Transport } from "./internal/Transport.js"
import * as SavedChart from "./SavedChart.js"
import * as Segmentation from "./Segmentation.js"
import * as UserMetrics from "./UserMetrics.js"

export type { AmplitudeCallFailure, ExperimentCallFailure } from "./internal/Call.js"

/**
 * An Amplitude connection as stored: sealed credentials in slots 1 (API key), 2 (secret key) and
 * 3 (management key) of the workspace's `amplitude` integration row.
 */
export interface StoredConnection {
  readonly workspaceId: string
  readonly region: AmplitudeRegion
  readonly apiKey: Uint8Array
  readonly secretKey: Uint8Array
  readonly managementKey: Uint8Array | null
}

/**
 * The analytics calls of a handle, by the name callers use. Each call is defined next to its request and reply
 * schemas; a new one is listed here.
 */
const analyticsCalls = {
  listEvents: Events.listEvents,
  listTaxonomyEvents: Events.listTaxonomyEvents,
  listEventCategories: Events.listEventCategories,
  listAnnotationCategories: Annotations.listAnnotationCategories,
  createAnnotationCategory: Annotations.createAnnotationCategory,
  ensureAnnotationCategory: Annotations.ensureAnnotationCategory,
  createAnnotation: Annotations.createAnnotation,
  getAnnotation: Annotations.getAnnotation,
  listAnnotations: Annotations.listAnnotations,
  updateAnnotation: Annotations.updateAnnotation,
  deleteAnnotation: Annotations.deleteAnnotation,
  listCohorts: Cohorts.listCohorts,
  getCohort: Cohorts.getCohort,
  segmentation: Segmentation.segmentation,
  funnel: Funnel.funnel,
  savedChart: SavedChart.savedChart,
  users: UserMetrics.users,
  averageSessionLength: UserMetrics.averageSessionLength
} satisfies CallList<"analytics">

/** The Experiment Management API calls of a handle that has a management key. */
const experimentCalls = {
  list: Experiments.listExperiments,
  listPage: Experiments.listExperimentPage,
  get: Experiments.getExperiment
} satisfies CallList<"experiment">

/** Experiment Management API calls; present only when the connection has a management key. */
export type AmplitudeExperiments = Bound<typeof experimentCalls>

/**
 * Every call the product makes on a connected Amplitude project. Credentials are opened on first use and
 * kept in memory (as `Redacted`) for the handle's lifetime; create a handle per request or job.
 */
export interface ConnectedProject extends Bound<typeof analyticsCalls> {
  readonly region: AmplitudeRegion
  readonly policy: CallPolicy
  readonly experiments: Option.Option<AmplitudeExperiments>
}

/**
 * Runs `effect` once and replays its result (an interruption is not kept); a concurrent first use may run it
 * twice, which is harmless for opening credentials.
 */
const once = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  let result: Exit.Exit<A, E> | undefined
  return Effect.suspend(() =>
    result !== undefined ? result : Effect.flatten(Effect.tap(Effect.exit(effect), (exit) => {
      if (Exit.isSuccess(exit) || !Cause.isInterrupted(exit.cause)) result = exit
    }))
  )
}

export interface ConnectionDependencies {
  readonly transport: Transport
  readonly opener: SecretOpener
}

export const makeConnectedProject = (
  { opener, transport }: ConnectionDependencies,
  stored: StoredConnection,
  policy: CallPolicy
): ConnectedProject => {
  const { region } = stored

  const open = (sealed: Uint8Array, slot: CredentialSlot) =>
    opener.open(sealed, credentialBinding(stored.workspaceId, slot)).pipe(
      Effect.mapError((error) => new CredentialsUnreadable({ slot, reason: error.reason }))
    )

  /** Sends with `credentials`, opened once for the handle; spans are named `<prefix>.<call>`. */
  const sender = (
    api: Api,
    prefix: string,
    credentials: Effect.Effect<Credentials, CredentialsUnreadable>
  ): Sender => ({
    region,
    spanName: (call) => `${prefix}.${call}`,
    send: (request) =>
      Effect.flatMap(
        credentials,
        (opened) =>
          Effect.annotateCurrentSpan({ "amplitude.region": region, "amplitude.endpoint": request.endpoint }).pipe(
            Effect.zipRight(transport.send({ region, credentials: opened, policy }, toAmplitudeRequest(api, request))),
            Effect.tap((reply) => Effect.annotateCurrentSpan("http.response.status_code", reply.status)),
            Effect.map((reply) => ({ reply, credentials: opened }))
          )
      )
  })

  const projectCredentials = once(
    Effect.map(
      Effect.all([open(stored.apiKey, "apiKey"), open(stored.secretKey, "secretKey")]),
      ([apiKey, secretKey]) => projectKeys(apiKey, secretKey)
    )
  )

  return {
    region,
    policy,
    ...bindAll(analyticsCalls, sender("analytics", "ConnectedProject", projectCredentials)),
    experiments: stored.managementKey === null ? Option.none() : Option.some(bindAll(
      experimentCalls,
      sender(
        "experiment",
        "AmplitudeExperiments",
        once(Effect.map(open(stored.managementKey, "managementKey"), managementKeyCredentials))
      )
    ))
  }
}
