import { Context, Effect, Layer } from "effect"
import type { IncomingHttpHeaders } from "node:http"
import { Agent, type Dispatcher, request } from "undici"
import type { Reply } from "./internal/Replies.js"

/** One HTTP request to Amplitude, ready to send: the URL carries its query string. */
export interface HttpExchange {
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /** Deadline for the whole exchange, answer body included. */
  readonly timeoutMs: number
}

/**
 * The request got no whole answer: `Timeout` (past its deadline), or `Network` (refused, reset, DNS, TLS), where
 * `code` names the cause for operators.
 */
export type ExchangeFailure =
  | { readonly _tag: "Timeout" }
  | { readonly _tag: "Network"; readonly code: string }

const errorCode = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return "network error"
}

const flatHeaders = (headers: IncomingHttpHeaders): Readonly<Record<string, string>> => {
  const flat: Record<string, string> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return flat
}

/**
 * The HTTP exchanges of every Amplitude call, over undici with kept-alive connections: one request and its
 * whole answer as text, in a single asynchronous step with its own deadline (no timer fiber per call).
 * Reaching the deadline or interrupting the step aborts the request.
 */
export class AmplitudeHttp extends Context.Tag("@findry/amplitude-adapter/AmplitudeHttp")<
  AmplitudeHttp,
  { readonly exchange: (request: HttpExchange) => Effect.Effect<Reply, ExchangeFailure> }
>() {
  /** Connections are pooled per origin and closed with the layer's scope. */
  static readonly layer: Layer.Layer<AmplitudeHttp> = Layer.scoped(
    AmplitudeHttp,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new Agent()),
        (agent) => Effect.promise(() => agent.destroy())
      ),
      (dispatcher) => ({
        exchange: (outgoing: HttpExchange) =>
          Effect.async<Reply, ExchangeFailure>((resume) => {
            const abort = new AbortController()
            const deadline = setTimeout(() => {
              abort.abort()
              resume(Effect.fail({ _tag: "Timeout" }))
            }, outgoing.timeoutMs)
            // In a promise, so that arguments undici refuses up front fail the exchange instead of throwing.
            new Promise<Dispatcher.ResponseData>((sent) =>
              sent(request(outgoing.url, {
                dispatcher,
                method: outgoing.method,
                headers: outgoing.headers,
                body: outgoing.body ?? null,
                signal: abort.signal
              }))
            ).then((response) =>
              response.body.text().then((body): Reply => ({
                status: response.statusCode,
                headers: flatHeaders(response.headers),
                body
              }))
            ).then(
              (reply) => {
                clearTimeout(deadline)
                resume(Effect.succeed(reply))
              },
              (error: unknown) => {
                clearTimeout(deadline)
                if (!abort.signal.aborted) resume(Effect.fail({ _tag: "Network", code: errorCode(error) }))
              }
            )
            return Effect.sync(() => {
              clearTimeout(deadline)
              abort.abort()
            })
          })
      })
    )
  )
}
