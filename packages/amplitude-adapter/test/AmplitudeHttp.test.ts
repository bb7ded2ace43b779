import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { AmplitudeHttp } from "../src/AmplitudeHttp.js"

/** A real HTTP server on a free port for the test's scope; `handle` answers each request. */
const serverWith = (handle: (request: IncomingMessage, response: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
      const server = createServer(handle)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}`,
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        }))
      })
    }),
    (server) => Effect.sync(server.close)
  )

/** Exchanges on one connection pool that lives as long as the test's scope, so only an abort closes a socket. */
const exchange = (request: Parameters<AmplitudeHttp["Type"]["exchange"]>[0]) =>
  Effect.flatMap(pool, (http) => http.exchange(request))

const pool = Effect.map(Layer.build(AmplitudeHttp.layer), Context.get(AmplitudeHttp))

describe("AmplitudeHttp", () => {
  it.scoped("sends the method, headers and body, and answers the status, headers (lower case) and whole body", () =>
    Effect.gen(function*() {
      const seen: Array<Record<string, string | undefined>> = []
      const server = yield* serverWith((request, response) => {
        let body = ""
        request.on("data", (chunk) => (body += chunk))
        request.on("end", () => {
          seen.push({
            method: request.method,
            url: request.url,
            type: request.headers["content-type"],
            auth: request.headers.authorization,
            body
          })
          response.writeHead(429, { "Retry-After": "7", "Content-Type": "application/json" })
          response.end(JSON.stringify({ error: "slow down" }))
        })
      })
      const reply = yield* exchange({
        method: "POST",
        url: `${server.url}/api/3/annotations?x=1`,
        headers: { authorization: "Basic abc", "content-type": "application/json" },
        body: "{\"label\":\"Shipped\"}",
        timeoutMs: 2_000
      })
      assert.strictEqual(reply.status, 429)
      assert.strictEqual(reply.headers["retry-after"], "7")
      assert.deepStrictEqual(JSON.parse(reply.body), { error: "slow down" })
      assert.deepStrictEqual(seen, [{
        method: "POST",
        url: "/api/3/annotations?x=1",
        type: "application/json",
        auth: "Basic abc",
        body: "{\"label\":\"Shipped\"}"
      }])
    }))

  it.scoped("past its deadline fails with Timeout and aborts the request: the server sees the connection close", () =>
    Effect.gen(function*() {
      const closed = yield* Deferred.make<void>()
      const server = yield* serverWith((request) => {
        request.socket.on("close", () => Deferred.unsafeDone(closed, Effect.void))
      })
      const started = Date.now()
      const failure = yield* Effect.flip(
        exchange({ method: "GET", url: `${server.url}/hang`, headers: {}, timeoutMs: 200 })
      )
      assert.deepStrictEqual(failure, { _tag: "Timeout" })
      assert.isAtLeast(Date.now() - started, 190)
      yield* Deferred.await(closed).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not aborted" }))
    }))

  it.scoped("interrupted, it aborts the request", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const server = yield* serverWith((request) => {
        Deferred.unsafeDone(arrived, Effect.void)
        request.socket.on("close", () => Deferred.unsafeDone(closed, Effect.void))
      })
      const fiber = yield* Effect.fork(
        exchange({ method: "GET", url: `${server.url}/hang`, headers: {}, timeoutMs: 60_000 })
      )
      yield* Deferred.await(arrived)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(closed).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not aborted" }))
    }))

  it.scoped("a refused connection or a URL undici cannot parse is a Network failure with a code, not a defect", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(
        exchange({ method: "GET", url: "http://127.0.0.1:1/api", headers: {}, timeoutMs: 2_000 })
      )
      assert.deepStrictEqual(refused, { _tag: "Network", code: "ECONNREFUSED" })
      const malformed = yield* Effect.flip(
        exchange({ method: "GET", url: "not a url", headers: {}, timeoutMs: 2_000 })
      )
      assert.strictEqual(malformed._tag, "Network")
      if (malformed._tag === "Network") assert.strictEqual(malformed.code, "ERR_INVALID_URL")
    }))
})
