import { HttpMiddleware, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { PayloadTooLarge } from "@findry/domain"
import { Effect } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"
import { errorResponse } from "./ErrorResponse.js"

/** Every body of the contract is small; anything larger is refused. */
export const MAX_BODY_BYTES = 1024 * 1024

/** Server timeouts: how long a client may take to send its headers, its whole request, and to reuse a connection. */
export const SERVER_TIMEOUTS = {
  headersTimeoutMillis: 10_000,
  requestTimeoutMillis: 30_000,
  keepAliveTimeoutMillis: 5_000
} as const

/** The failure a body read meets once more than `MAX_BODY_BYTES` have arrived. */
export class BodyTooLargeError extends Error {
  constructor() {
    super(`request body over ${MAX_BODY_BYTES} bytes`)
  }
}

const ignore = () => {}

/**
 * Connections on which a body went over the limit. They close after the 413 (`Connection: close`), and a request the
 * client pipelined behind the refused one must not run: nobody would ever receive its answer.
 */
const refusedConnections = new WeakSet<Net.Socket>()

/**
 * A request whose body stops being buffered past `MAX_BODY_BYTES`, whether it is sent with a Content-Length or
 * chunked: the reader fails with `BodyTooLargeError` and the rest of the body is dropped as it arrives. The socket is
 * kept, so the 413 answer still reaches the client before the connection is closed.
 */
export class BodyLimitedRequest extends Http.IncomingMessage {
  private receivedBytes = 0
  private overLimit = false

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return this.overLimit ? false : super.push(chunk)
    if (this.overLimit) return true
    this.receivedBytes += (chunk as Buffer).length
    if (this.receivedBytes <= MAX_BODY_BYTES) return super.push(chunk, encoding)
    this.overLimit = true
    refusedConnections.add(this.socket)
    // Nobody may be reading the body (a route without one): the failure must not become an unhandled 'error'.
    this.on("error", ignore)
    this.destroy(new BodyTooLargeError())
    return true
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.overLimit) callback(error)
    else super._destroy(error, callback)
  }
}

/** How long a connection answered with `Connection: close` keeps reading, and dropping, what the client still sends. */
export const LINGER_MILLIS = 2_000

/**
 * Replaces Node's close after a `Connection: close` answer (end, then destroy once written) with a lingering close:
 * our side ends once the answer is written, and whatever the client still sends is read and dropped until it closes
 * its side or `LINGER_MILLIS` pass. Destroying at once resets a connection the client is still writing to (a refused
 * upload), and a client that meets the reset before it has read the answer never sees the 413.
 */
function lingeringClose(this: Net.Socket): void {
  if (this.writable) this.end()
  const timer = setTimeout(() => this.destroy(), LINGER_MILLIS)
  timer.unref()
  this.once("close", () => clearTimeout(timer))
  this.once("end", () => {
    if (this.writableFinished) this.destroy()
    else this.once("finish", () => this.destroy())
  })
}

/** The Node HTTP server of the API: bounded bodies, deliberate timeouts and lingering closes. */
export const createApiServer = (): Http.Server =>
  Http.createServer({
    IncomingMessage: BodyLimitedRequest,
    headersTimeout: SERVER_TIMEOUTS.headersTimeoutMillis,
    requestTimeout: SERVER_TIMEOUTS.requestTimeoutMillis,
    keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeoutMillis,
    connectionsCheckingInterval: 1_000
  }).on("connection", (socket: Net.Socket) => {
    socket.destroySoon = lingeringClose
  })

export const payloadTooLargeResponse = (): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  errorResponse(PayloadTooLarge, new PayloadTooLarge(), { connection: "close" })

/**
 * Answers 413 at once to a request that declares a body over `MAX_BODY_BYTES`, without reading it, and to a request
 * that arrived on a connection already refused for its body size, without running it (that answer is never sent: the
 * connection closes after the first 413).
 */
export const bodyLimit = HttpMiddleware.make((app) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES ||
        refusedConnections.has(NodeHttpServerRequest.toIncomingMessage(request).socket)
        ? payloadTooLargeResponse()
        : app
  )
)
