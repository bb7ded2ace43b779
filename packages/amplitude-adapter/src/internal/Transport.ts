import { UrlParams } from "@effect/platform"
import { type AmplitudeRegion, AmplitudeUnavailable, RateLimited, Unreachable } from "@findry/domain"
import { Clock, Duration, Effect, Exit, Metric, Random } from "effect"
import { AmplitudeConfig } from "../AmplitudeConfig.js"
import { AmplitudeGovernor } from "../AmplitudeGovernor.js"
import { AmplitudeHttp, type ExchangeFailure } from "../AmplitudeHttp.js"
import type { CallPolicy } from "../CallPolicy.js"
import { authorizationHeader, type Credentials, governorKey } from "./Credentials.js"
import { callDuration, rateLimitedCalls } from "./Metrics.js"
import type { Reply } from "./Replies.js"

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE"

export interface AmplitudeRequest {
  readonly host: "analytics" | "experiment"
  readonly method: HttpMethod
  /** Route template for spans and logs, e.g. `/api/3/annotations/:id`; never carries values. */
  readonly endpoint: string
  readonly path: string
  readonly urlParams?: UrlParams.Input
  readonly body?: { readonly json: unknown } | { readonly form: Readonly<Record<string, string>> }
  /** Dashboard REST query cost (docs/amplitude-api.md); absent = not charged to the hourly budget. */
  readonly cost?: number
  /** Safe to send twice: GET, PUT, DELETE. Others are retried only after a 429. */
  readonly idempotent: boolean
}

export interface Target {
  readonly region: AmplitudeRegion
  readonly credentials: Credentials
  readonly policy: CallPolicy
  /** Validation calls use the product's validation wording for a 429. */
  readonly validation?: boolean
}

export type TransportFailure = RateLimited | Unreachable | AmplitudeUnavailable

/** Seconds from `Retry-After`: delta-seconds or an HTTP date. */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
const backoff = (base: Duration.Duration, retry: number, max: Duration.Duration): Effect.Effect<Duration.Duration> => {
  const ceiling = Math.min(Duration.toMillis(base) * 2 ** retry, Duration.toMillis(max))
  return Effect.map(Random.nextRange(ceiling / 2, ceiling), (ms) => Duration.millis(Math.round(ms)))
}

const rateLimited = (seconds: number, validation: boolean) =>
  validation ? RateLimited.amplitude(seconds) : new RateLimited({
    retryAfterSeconds: seconds,
    message: `Amplitude rate-limited the request (429). Wait ${seconds} seconds and retry.`
  })

/** The product keeps one message for every network failure; `reason` tells operators which one it was. */
const unreachable = (failure: ExchangeFailure) =>
  new Unreachable({ reason: failure._tag === "Timeout" ? "timeout" : failure.code })

export const makeTransport = Effect.gen(function*() {
  const config = yield* AmplitudeConfig
  const governor = yield* AmplitudeGovernor
  const http = yield* AmplitudeHttp
  const timeoutMs = Duration.toMillis(config.timeout)

  const urlOf = (target: Target, request: AmplitudeRequest) => {
    const base = request.host === "analytics" ? config.analyticsUrl[target.region] : config.experimentUrl[target.region]
    const query = request.urlParams === undefined ? "" : UrlParams.toString(UrlParams.fromInput(request.urlParams))
    return query === "" ? base + request.path : `${base}${request.path}?${query}`
  }

  // No trace headers: our own span per attempt carries only safe attributes, and trace ids are not sent to Amplitude.
  const exchange = (target: Target, request: AmplitudeRequest): Effect.Effect<Reply, ExchangeFailure> =>
    Effect.suspend(() => {
      const headers: Record<string, string> = {
        accept: "application/json",
        authorization: authorizationHeader(target.credentials)
      }
      let body: string | undefined
      if (request.body !== undefined) {
        if ("json" in request.body) {
          headers["content-type"] = "application/json"
          body = JSON.stringify(request.body.json)
        } else {
          headers["content-type"] = "application/x-www-form-urlencoded"
          body = new URLSearchParams(request.body.form).toString()
        }
      }
      return measured(target, request)(http.exchange({
        method: request.method,
        url: urlOf(target, request),
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs
      }))
    })

  const durationOf = (target: Target, request: AmplitudeRequest, status: string) =>
    callDuration({
      "amplitude.endpoint": request.endpoint,
      "http.request.method": request.method,
      "amplitude.host": request.host,
      "amplitude.region": target.region,
      "http.response.status_code": status
    })

  /** Times the exchange into `amplitude.client.request.duration` and counts 429s; labels are templates and enums. */
  const measured = (target: Target, request: AmplitudeRequest) => (exchange: Effect.Effect<Reply, ExchangeFailure>) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (started) =>
        Effect.onExit(exchange, (exit) =>
          Effect.flatMap(Clock.currentTimeMillis, (finished) => {
            if (Exit.isInterrupted(exit)) return Effect.void
            const status = Exit.isSuccess(exit)
              ? String(exit.value.status)
              : Exit.isFailure(exit) && exit.cause._tag === "Fail"
              ? exit.cause.error._tag === "Timeout" ? "timeout" : "network_error"
              : "error"
            const observe = Metric.update(durationOf(target, request, status), (finished - started) / 1000)
            return status === "429"
              ? Effect.zipRight(
                observe,
                Metric.increment(
                  rateLimitedCalls({ "amplitude.endpoint": request.endpoint, "amplitude.policy": target.policy.name })
                )
              )
              : observe
          }))
    )

  const attempt = (
    target: Target,
    request: AmplitudeRequest,
    key: string,
    number: number
  ): Effect.Effect<Reply, ExchangeFailure | RateLimited> => {
    const governed = request.host === "analytics"
      ? Effect.flatMap(
        governor.charge(key, request.cost ?? 0, target.policy.waitForBudget),
        (refund) =>
          governor.throttle(key, target.policy.priority)(exchange(target, request)).pipe(
            Effect.tap((reply) => reply.status === 429 ? refund : Effect.void)
          )
      )
      : Effect.zipRight(governor.pace(key), exchange(target, request))
    return governed.pipe(
      Effect.tap((reply) => Effect.annotateCurrentSpan("http.response.status_code", reply.status)),
      Effect.withSpan("Amplitude.request", {
        kind: "client",
        captureStackTrace: false,
        attributes: {
          "amplitude.region": target.region,
          "amplitude.endpoint": request.endpoint,
          "amplitude.policy": target.policy.name,
          "amplitude.attempt": number,
          "http.request.method": request.method
        }
      })
    )
  }

  const send = (target: Target, request: AmplitudeRequest): Effect.Effect<Reply, TransportFailure> => {
    const { policy } = target
    const key = governorKey(target.region, target.credentials)
    const retryLater = (why: string, delay: Duration.Duration, next: Effect.Effect<Reply, TransportFailure>) =>
      Effect.logDebug(`Amplitude ${why}; retrying in ${Duration.format(delay)}`).pipe(
        Effect.annotateLogs({ endpoint: request.endpoint, region: target.region, policy: policy.name }),
        Effect.zipRight(Effect.sleep(delay)),
        Effect.zipRight(next)
      )

    const loop = (attemptNumber: number, transient: number, limited: number): Effect.Effect<Reply, TransportFailure> =>
      attempt(target, request, key, attemptNumber).pipe(
        Effect.matchEffect({
          onFailure: (failure) => {
            if (failure._tag === "RateLimited") return Effect.fail(failure)
            const retryable = request.idempotent && transient < policy.transientRetries &&
              (failure._tag === "Network" || policy.retryTimeouts)
            if (!retryable) return Effect.fail(unreachable(failure))
            return Effect.flatMap(
              backoff(policy.transientBaseDelay, transient, policy.transientMaxDelay),
              (delay) =>
                retryLater(
                  failure._tag === "Timeout" ? "timed out" : "connection failed",
                  delay,
                  loop(attemptNumber + 1, transient + 1, limited)
                )
            )
          },
          onSuccess: (reply) => {
            if (reply.status === 429) {
              return Effect.flatMap(Clock.currentTimeMillis, (now) => {
                const retryAfter = parseRetryAfter(reply.headers["retry-after"], now)
                const honoured = retryAfter === undefined ||
                  retryAfter * 1000 <= Duration.toMillis(policy.maxRetryAfter)
                if (limited >= policy.rateLimitRetries || !honoured) {
                  return Effect.fail(rateLimited(retryAfter ?? 60, target.validation === true))
                }
                const delay = retryAfter === undefined
                  ? backoff(policy.rateLimitBaseDelay, limited, policy.rateLimitMaxDelay)
                  : Effect.succeed(Duration.seconds(retryAfter))
                return Effect.flatMap(
                  delay,
                  (wait) => retryLater("answered 429", wait, loop(attemptNumber + 1, transient, limited + 1))
                )
              })
            }
            if (reply.status >= 500) {
              if (!request.idempotent || transient >= policy.transientRetries) {
                return Effect.fail(new AmplitudeUnavailable({ status: reply.status }))
              }
              return Effect.flatMap(
                backoff(policy.transientBaseDelay, transient, policy.transientMaxDelay),
                (delay) =>
                  retryLater(`answered ${reply.status}`, delay, loop(attemptNumber + 1, transient + 1, limited))
              )
            }
            return Effect.succeed(reply)
          }
        })
      )

    return loop(1, 0, 0)
  }

  return { send } as const
})

export type Transport = Effect.Effect.Success<typeof makeTransport>
