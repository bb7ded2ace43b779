import { SecretOpener } from "@findry/crypto/opener"
import {
  type AmplitudeRegion,
  AmplitudeUnavailable,
  InvalidCredentials,
  type KeyValidationError,
  type ManagementKeyValidationError,
  NoExperimentAccess,
  WrongRegion
} from "@findry/domain"
import { Effect, Layer, type Redacted, Schema } from "effect"
import { AmplitudeGovernor } from "./AmplitudeGovernor.js"
import { AmplitudeHttp } from "./AmplitudeHttp.js"
import { CallPolicy } from "./CallPolicy.js"
import * as Cohorts from "./Cohorts.js"
import { type ConnectedProject, makeConnectedProject, type StoredConnection } from "./ConnectedProject.js"
import * as Events from "./Events.js"
import { toAmplitudeRequest } from "./internal/Call.js"
import { type Credentials, managementKey, projectKeys } from "./internal/Credentials.js"
import { decodeBody, isSuccess, managementKeyRejected, type Reply } from "./internal/Replies.js"
import { type AmplitudeRequest, makeTransport } from "./internal/Transport.js"

export interface ProjectCredentials {
  readonly region: AmplitudeRegion
  readonly apiKey: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
}

export interface ManagementKeyCredentials {
  readonly region: AmplitudeRegion
  readonly managementKey: Redacted.Redacted<string>
}

/** What a successful validation learned about the project. */
export interface ValidatedProject {
  readonly region: AmplitudeRegion
  readonly capabilities: {
    /** The Taxonomy API answered (Enterprise plan or Govern add-on). */
    readonly taxonomy: boolean
  }
  /** Numeric project id from the cohort list, for "Amplitude project {appId}"; null when it had none. */
  readonly appId: number | null
}

/** What `validateCredentials` fails with: the connect endpoint's Amplitude errors. */
export type ValidationFailure = KeyValidationError

/** What `validateManagementKey` fails with: the management key endpoint's Amplitude errors. */
export type ManagementKeyFailure = ManagementKeyValidationError

export interface ConnectionOptions {
  /** Default `CallPolicy.interactive`; the scheduler passes `CallPolicy.background`. */
  readonly policy?: CallPolicy
}

const otherRegion = (region: AmplitudeRegion): AmplitudeRegion => region === "us" ? "eu" : "us"

const isRejected = (reply: Reply) => reply.status === 401 || reply.status === 403

/** One attempt, no retry: the other region is only asked whether it knows the keys. */
const probePolicy = CallPolicy.make(CallPolicy.interactive, { name: "probe", transientRetries: 0 })

const AnyList = Schema.Struct({ data: Schema.Array(Schema.Unknown) })

const TAXONOMY_CATEGORIES = toAmplitudeRequest("analytics", Events.TAXONOMY_CATEGORIES)
const EVENT_LIST = toAmplitudeRequest("analytics", Events.EVENT_LIST)
const COHORTS = toAmplitudeRequest("analytics", Cohorts.COHORT_LIST)

/**
 * The only code that talks to Amplitude and the only code that opens sealed Amplitude credentials.
 * Needs `AmplitudeConfig`, `AmplitudeHttp`, the `SecretOpener` and the process's `AmplitudeGovernor`.
 */
export class AmplitudeClient extends Effect.Service<AmplitudeClient>()("@findry/amplitude-adapter/AmplitudeClient", {
  effect: Effect.gen(function*() {
    const transport = yield* makeTransport
    const opener = yield* SecretOpener

    const answer = (region: AmplitudeRegion, credentials: Credentials, call: AmplitudeRequest) =>
      transport.send({ region, credentials, policy: CallPolicy.interactive, validation: true }, call).pipe(
        Effect.tap((reply) =>
          Effect.annotateCurrentSpan({
            "amplitude.endpoint": call.endpoint,
            "http.response.status_code": reply.status
          })
        )
      )

    /** A 200 whose body is not Amplitude's list shape is not a valid answer either. */
    const listAnswered = (reply: Reply, endpoint: string): Effect.Effect<void, AmplitudeUnavailable> =>
      Effect.asVoid(decodeBody(AnyList, reply, endpoint))

    const unexpectedStatus = (reply: Reply) => new AmplitudeUnavailable({ status: reply.status })

    const knownElsewhere = (region: AmplitudeRegion, credentials: Credentials): Effect.Effect<boolean> =>
      transport.send({ region, credentials, policy: probePolicy, validation: true }, EVENT_LIST).pipe(
        Effect.map((reply) => reply.status === 200),
        Effect.orElseSucceed(() => false),
        Effect.withSpan("AmplitudeClient.probeOtherRegion", { attributes: { "amplitude.region": region } })
      )

    const appIdOf = (region: AmplitudeRegion, credentials: Credentials): Effect.Effect<number | null> =>
      answer(region, credentials, COHORTS).pipe(
        Effect.flatMap((reply) =>
          isSuccess(reply)
            ? decodeBody(Cohorts.CohortListReply, reply, COHORTS.endpoint)
            : Effect.succeed({ cohorts: [] })
        ),
        Effect.map(({ cohorts }) => cohorts.find((cohort) => cohort.appId !== null)?.appId ?? null),
        Effect.orElseSucceed(() => null)
      )

    /**
     * Product rule: Taxonomy category list, else (400/401/403) the event list; keys refused there are tried
     * once in the other region to tell `WrongRegion` from `InvalidCredentials`. Then, best effort, the
     * cohort list for an `appId`.
     */
    const validateCredentials: (input: ProjectCredentials) => Effect.Effect<ValidatedProject, ValidationFailure> =
      Effect.fn("AmplitudeClient.validateCredentials")(function*(input: ProjectCredentials) {
        const { region } = input
        yield* Effect.annotateCurrentSpan("amplitude.region", region)
        const credentials = projectKeys(input.apiKey, input.secretKey)

        const taxonomy = yield* answer(region, credentials, TAXONOMY_CATEGORIES)
        let taxonomyAvailable = true
        if (isSuccess(taxonomy)) {
          yield* listAnswered(taxonomy, TAXONOMY_CATEGORIES.endpoint)
        } else if (taxonomy.status === 400 || isRejected(taxonomy)) {
          taxonomyAvailable = false
          const events = yield* answer(region, credentials, EVENT_LIST)
          if (isRejected(events)) {
            const elsewhere = otherRegion(region)
            return yield* (yield* knownElsewhere(elsewhere, credentials))
              ? WrongRegion.of(elsewhere)
              : new InvalidCredentials({})
          }
          if (!isSuccess(events)) return yield* unexpectedStatus(events)
          yield* listAnswered(events, EVENT_LIST.endpoint)
        } else {
          return yield* unexpectedStatus(taxonomy)
        }

        yield* Effect.annotateCurrentSpan("amplitude.taxonomy", taxonomyAvailable)
        const appId = yield* appIdOf(region, credentials)
        return { region, capabilities: { taxonomy: taxonomyAvailable }, appId }
      })

    /** `GET {experiment host}/api/1/experiments?limit=1` with the key as Bearer token. */
    const validateManagementKey: (input: ManagementKeyCredentials) => Effect.Effect<void, ManagementKeyFailure> = Effect
      .fn("AmplitudeClient.validateManagementKey")(function*(input: ManagementKeyCredentials) {
        yield* Effect.annotateCurrentSpan("amplitude.region", input.region)
        const credentials = managementKey(input.managementKey)
        const reply = yield* transport.send(
          { region: input.region, credentials, policy: CallPolicy.interactive, validation: true },
          {
            host: "experiment",
            method: "GET",
            endpoint: "/api/1/experiments",
            path: "/api/1/experiments",
            urlParams: { limit: "1" },
            idempotent: true
          }
        )
        yield* Effect.annotateCurrentSpan({
          "amplitude.endpoint": "/api/1/experiments",
          "http.response.status_code": reply.status
        })
        if (reply.status === 401) return yield* managementKeyRejected()
        if (reply.status === 403) return yield* new NoExperimentAccess({})
        if (!isSuccess(reply)) return yield* unexpectedStatus(reply)
        yield* decodeBody(Schema.Struct({ experiments: Schema.Array(Schema.Unknown) }), reply, "/api/1/experiments")
      })

    /** A handle on a stored connection; nothing is opened or sent until a call runs. */
    const connection = (stored: StoredConnection, options: ConnectionOptions = {}): ConnectedProject =>
      makeConnectedProject({ opener, transport }, stored, options.policy ?? CallPolicy.interactive)

    return { validateCredentials, validateManagementKey, connection } as const
  }),
  dependencies: [AmplitudeGovernor.Default, SecretOpener.Default, AmplitudeHttp.layer]
}) {}

/**
 * The client on the given governor (`AmplitudeClient.Default` has the in-process one), opening credentials with the
 * `Keyring` of the context.
 */
export const amplitudeClientWith = <E, R>(governor: Layer.Layer<AmplitudeGovernor, E, R>) =>
  AmplitudeClient.DefaultWithoutDependencies.pipe(
    Layer.provide([governor, SecretOpener.DefaultWithoutDependencies, AmplitudeHttp.layer])
  )
