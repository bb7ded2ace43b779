import type { UrlParams } from "@effect/platform"
import type { AmplitudeCallError, AmplitudeRegion, ExperimentCallError } from "@findry/domain"
import { Effect, type Schema } from "effect"
import type { CredentialsUnreadable } from "../CredentialsUnreadable.js"
import type { Credentials } from "./Credentials.js"
import { decodeBody, expectSuccess, experimentRejection, isSuccess, type Reply } from "./Replies.js"
import type { AmplitudeRequest, HttpMethod, TransportFailure } from "./Transport.js"

/** What a call on a stored connection can fail with: Amplitude's answer, or keys that could not be opened. */
export type AmplitudeCallFailure = AmplitudeCallError | CredentialsUnreadable

/** What an Experiment Management API call on a stored connection can fail with. */
export type ExperimentCallFailure = ExperimentCallError | CredentialsUnreadable

/**
 * The Amplitude API a call talks to. It decides the host and the credentials: `analytics` is sent with the API key
 * and secret key (slots 1 and 2), `experiment` with the management key (slot 3).
 */
export type Api = AmplitudeRequest["host"]

/** What a call of each API fails with. */
export interface Failures {
  readonly analytics: AmplitudeCallFailure
  readonly experiment: ExperimentCallFailure
}

/** One request of a call. Defaults: `GET`, `path` = `endpoint`, not charged, idempotent unless `POST`. */
export interface CallRequest {
  readonly method?: HttpMethod
  /** Route template for spans and logs, e.g. `/api/3/annotations/:id`; never carries values. */
  readonly endpoint: string
  readonly path?: string
  readonly urlParams?: UrlParams.Input
  readonly body?: NonNullable<AmplitudeRequest["body"]>
  /** Dashboard REST query cost charged to the governor's hourly budget; absent = not charged. */
  readonly cost?: number
  readonly idempotent?: boolean
}

/** The transport's request for `request` sent to `api`, defaults applied. */
export const toAmplitudeRequest = (api: Api, request: CallRequest): AmplitudeRequest => ({
  ...request,
  host: api,
  method: request.method ?? "GET",
  path: request.path ?? request.endpoint,
  idempotent: request.idempotent ?? request.method !== "POST"
})

/** An answer of any status, with the credentials it was sent with (to scrub them from Amplitude's text). */
export interface Answer {
  readonly reply: Reply
  readonly credentials: Credentials
}

/** A handle's way to one Amplitude API: its credentials are opened on first use and kept for the handle's life. */
export interface Sender {
  readonly region: AmplitudeRegion
  /** Sends the request through the governor and the handle's `CallPolicy`; 429 and 5xx arrive as failures. */
  readonly send: (request: CallRequest) => Effect.Effect<Answer, TransportFailure | CredentialsUnreadable>
  /** The span name of a call of the handle, e.g. `ConnectedProject.listEvents`. */
  readonly spanName: (call: string) => string
}

/**
 * An Amplitude call, defined next to its request and reply schemas. A handle binds it to its `Sender` under the
 * name it lists it by; the bound call `F` is what callers see.
 */
export interface Call<A extends Api, F> {
  readonly api: A
  readonly bind: (sender: Sender, name: string) => F
}

/** A call written out by hand, for calls that are more than one request and one answer. */
export const defineCall = <A extends Api, F>(api: A, bind: (sender: Sender, name: string) => F): Call<A, F> => ({
  api,
  bind
})

const untracedCallSite = { captureStackTrace: false } as const

/**
 * `body` as the call `name` of `sender`'s handle, in a span of the handle's name for it. A handle binds every call
 * of its list and handles are made per workspace and job, so this is a plain function: unlike `Effect.fn`, it
 * captures no call site, neither when it is made nor per call.
 */
export const spannedCall = <Args extends ReadonlyArray<unknown>, A, E>(
  sender: Sender,
  name: string,
  body: (...args: Args) => Effect.Effect<A, E>
): (...args: Args) => Effect.Effect<A, E> => {
  const span = sender.spanName(name)
  return (...args) => Effect.withSpan(Effect.suspend(() => body(...args)), span, untracedCallSite)
}

/** The calls of a handle, by name. */
export type CallList<A extends Api> = Readonly<Record<string, Call<A, unknown>>>

/** The bound calls of a call list: what a handle offers. */
export type Bound<Calls> = { readonly [K in keyof Calls]: Calls[K] extends Call<Api, infer F> ? F : never }

/** Binds every call of `calls` to `sender`, each under its name in the list. */
export const bindAll = <Calls extends CallList<Api>>(calls: Calls, sender: Sender): Bound<Calls> =>
  Object.fromEntries(Object.entries(calls).map(([name, call]) => [name, call.bind(sender, name)])) as Bound<Calls>

/** One request and its answer: what most calls are. */
export interface RequestSpec<Decoded, I, A, E> {
  readonly request: CallRequest
  /** The 2xx body. A body that does not fit is `AmplitudeUnavailable`, logged with its shape only. */
  readonly reply: Schema.Schema<Decoded, I>
  /** Statuses that mean something for this call (a 404 that is `None`), looked at before any other. */
  readonly onStatus?: (reply: Reply) => Effect.Effect<A, E> | undefined
  /** The call's result from the decoded body. */
  readonly map: (decoded: Decoded) => A
}

const requestCall = <
  Api_ extends Api,
  Args extends ReadonlyArray<unknown>,
  Decoded,
  A,
  Spec extends RequestSpec<Decoded, any, A, Failures[Api_]>
>(
  api: Api_,
  /** The spec of one call with these arguments; a throw is a defect of the call, not of its caller. */
  define: (...args: Args) => Spec,
  /** Decodes a 2xx answer; any other status becomes the API's typed failure. */
  answer: (spec: Spec, answer: Answer) => Effect.Effect<Decoded, Failures[Api_]>
): Call<Api_, (...args: Args) => Effect.Effect<A, Failures[Api_]>> =>
  defineCall(api, (sender, name) =>
    spannedCall(sender, name, (...args: Args) =>
      Effect.gen(function*() {
        const spec = yield* Effect.sync(() => define(...args))
        const sent = yield* sender.send(spec.request)
        const special = spec.onStatus?.(sent.reply)
        if (special !== undefined) return yield* special
        return spec.map(yield* answer(spec, sent))
      })))

/**
 * A call of the analytics API (API key and secret key): `define` gives the request of the call's arguments, the
 * reply's schema and the result. A status other than 2xx and those of `onStatus` is `InvalidCredentials`
 * (401/403) or `AmplitudeRejected` with `refused` and Amplitude's reason, keys scrubbed.
 */
export const analyticsCall = <Args extends ReadonlyArray<unknown>, Decoded, I, A>(
  define: (...args: Args) => AnalyticsSpec<Decoded, I, A>
): Call<"analytics", (...args: Args) => Effect.Effect<A, AmplitudeCallFailure>> =>
  requestCall<"analytics", Args, Decoded, A, AnalyticsSpec<Decoded, I, A>>(
    "analytics",
    define,
    (spec, { credentials, reply }) => expectSuccess(spec.reply, reply, credentials, spec.request.endpoint, spec.refused)
  )

export interface AnalyticsSpec<Decoded, I, A> extends RequestSpec<Decoded, I, A, AmplitudeCallFailure> {
  /** The start of the `AmplitudeRejected` message, e.g. "Amplitude refused the cohort list". */
  readonly refused: string
}

/**
 * A call of the Experiment Management API (management key). A status other than 2xx and those of `onStatus` is
 * `InvalidCredentials` (401), `NoExperimentAccess` (403) or `AmplitudeRejected`, keys scrubbed.
 */
export const experimentCall = <Args extends ReadonlyArray<unknown>, Decoded, I, A>(
  define: (...args: Args) => RequestSpec<Decoded, I, A, ExperimentCallFailure>
): Call<"experiment", (...args: Args) => Effect.Effect<A, ExperimentCallFailure>> =>
  requestCall<"experiment", Args, Decoded, A, RequestSpec<Decoded, I, A, ExperimentCallFailure>>(
    "experiment",
    define,
    (spec, { credentials, reply }) =>
      isSuccess(reply)
        ? decodeBody(spec.reply, reply, spec.request.endpoint)
        : Effect.fail(experimentRejection(reply, credentials))
  )
