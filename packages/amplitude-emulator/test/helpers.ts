import { Data, Effect, Schedule } from "effect"
import type { Project } from "../src/index.js"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** Parsed body; undefined when the body is not JSON. */
  readonly body: any
}

export interface CallOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: unknown
  /** Aborts the request after this many milliseconds (real time). Default 5,000. */
  readonly timeoutMs?: number
}

/** A request that got no HTTP answer: `timeout` (client deadline or abort) or `network` (reset, refused). */
export class CallError extends Data.TaggedError("CallError")<{
  readonly kind: "timeout" | "network"
  readonly detail: string
}> {}

const toCallError = (error: unknown): CallError => {
  const err = error instanceof Error ? error : new Error(String(error))
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ""
  return new CallError({
    kind: err.name === "TimeoutError" || err.name === "AbortError" ? "timeout" : "network",
    detail: `${err.name} ${err.message}${cause}`
  })
}

/** One HTTP request with `fetch`; fails with the fetch error (network error, timeout). Interrupting aborts it. */
export const call = (url: string, options: CallOptions = {}): Effect.Effect<Reply, CallError> =>
  Effect.tryPromise({
    try: async (signal) => {
      // A timer rather than `AbortSignal.timeout`: `AbortSignal.any` holds its sources weakly, and on Node 20 a
      // collected timeout signal never fires, which left a request to a hung server waiting forever.
      const timeout = new AbortController()
      const timer = setTimeout(
        () => timeout.abort(new DOMException("The request timed out", "TimeoutError")),
        options.timeoutMs ?? 5_000
      )
      try {
        return await send(url, options, AbortSignal.any([signal, timeout.signal]))
      } finally {
        clearTimeout(timer)
      }
    },
    catch: toCallError
  })

const send = async (url: string, options: CallOptions, signal: AbortSignal): Promise<Reply> => {
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers: {
      ...(options.body !== undefined && typeof options.body !== "string"
        ? { "content-type": "application/json" }
        : {}),
      ...options.headers
    },
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    signal
  })
  const text = await response.text()
  let body: unknown = undefined
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, headers: response.headers, text, body }
}

export const basic = (apiKey: string, secretKey: string) => ({
  authorization: `Basic ${Buffer.from(`${apiKey}:${secretKey}`).toString("base64")}`
})

export const basicFor = (project: Pick<Project, "apiKey" | "secretKey">) => basic(project.apiKey, project.secretKey)

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

export const qs = (params: Record<string, string | ReadonlyArray<string>>): string => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    for (const v of typeof value === "string" ? [value] : value) search.append(key, v)
  }
  return search.toString()
}

export class ConditionTimeout extends Data.TaggedError("ConditionTimeout")<{ readonly ms: number }> {}

/** Polls `check` on a live clock until `holds` is true; fails with ConditionTimeout after `ms`. */
export const eventually = <A, E>(check: Effect.Effect<A, E>, holds: (a: A) => boolean, ms = 3_000) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: holds }),
    Effect.timeoutFail({ duration: `${ms} millis`, onTimeout: () => new ConditionTimeout({ ms }) })
  )
