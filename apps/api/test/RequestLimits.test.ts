import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { TestSqlLive } from "@findry/persistence/testing"
import { Duration, Effect, Fiber, Ref } from "effect"
import * as NodeHttp from "node:http"
import * as Net from "node:net"
import { LINGER_MILLIS, MAX_BODY_BYTES } from "../src/server/BodyLimit.js"
import { answered, clientAs, expectFailure, expectSuccess, workspaceOf } from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { apiOn, ApiTestLive, freshUser, tokenFor } from "./support/TestApi.js"
import { openTransaction } from "./support/Transactions.js"

const onRealPostgres = process.env.TEST_DATABASE_URL !== undefined

/** Holds a row lock on one membership in a transaction of its own until `commit`. */
const lockMembership = (workspaceId: string, userId: string) =>
  openTransaction(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql`SELECT 1 FROM workspace_members WHERE workspace_id = ${workspaceId} AND user_id = ${userId} FOR UPDATE`)
  )

/** A workspace with an admin and a member whose membership row another transaction holds locked. */
const memberRowLocked = Effect.gen(function*() {
  const adminId = freshUser("admin")
  const workspaceId = yield* workspaceOf(adminId)
  const admin = yield* clientAs(adminId)
  const member = freshUser("member")
  yield* admin.workspaces.setMember({ path: { workspaceId, userId: member }, payload: { role: "member" } })
  const lock = yield* lockMembership(workspaceId, member)
  /** The admin makes the locked member an admin too. */
  const promote = answered(admin.workspaces.setMember({
    path: { workspaceId, userId: member },
    payload: { role: "admin" }
  }))
  return { admin, workspaceId, member, lock, promote }
})

interface RawAnswer {
  readonly status: number
  readonly body: string
}

/**
 * POSTs `totalBytes` of JSON whitespace with `Transfer-Encoding: chunked` (no Content-Length), respecting
 * backpressure, and resolves with the answer as soon as it is complete, whether or not the whole body was sent.
 */
const chunkedUpload = (port: number, path: string, token: string, totalBytes: number) =>
  Effect.async<RawAnswer>((resume) => {
    let settled = false
    const settle = (answer: RawAnswer) => {
      if (settled) return
      settled = true
      resume(Effect.succeed(answer))
    }
    const request = NodeHttp.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "transfer-encoding": "chunked" }
    }, (response) => {
      let text = ""
      response.on("data", (chunk) => (text += chunk))
      const done = () => settle({ status: response.statusCode ?? 0, body: text })
      response.on("end", done)
      response.on("close", done)
    })
    // The server closes the connection once it has answered; writing the rest then fails, which is expected.
    request.on("error", () => settle({ status: 0, body: "" }))
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = () => {
      while (sent < totalBytes) {
        if (request.destroyed) return
        sent += chunk.length
        if (!request.write(chunk)) return void request.once("drain", pump)
      }
      request.end("{}")
    }
    pump()
    return Effect.sync(() => request.destroy())
  })

/**
 * Sends the head of a POST and then `bytesAfterHead` of body without reading anything, as an upload client busy
 * writing does; only then reads, and resolves with the answer's status line and how the connection ended.
 */
const uploadThenRead = (port: number, head: string, bytesAfterHead: number) =>
  Effect.async<{ readonly statusLine: string; readonly error: string | null }>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    let text = ""
    let error: string | null = null
    socket.pause()
    socket.on("error", (cause: NodeJS.ErrnoException) => (error = cause.code ?? cause.message))
    socket.on("data", (chunk) => (text += chunk))
    socket.on("close", () => resume(Effect.succeed({ statusLine: text.split("\r\n")[0]!, error })))
    socket.write(head)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = () => {
      while (sent < bytesAfterHead) {
        if (socket.destroyed) return
        sent += chunk.length
        if (!socket.write(chunk)) return void socket.once("drain", pump)
      }
      socket.resume()
    }
    pump()
    return Effect.sync(() => socket.destroy())
  })

describe("request limits", () => {
  layer(ApiTestLive(), { timeout: "180 seconds", excludeTestServices: true })((it) => {
    it.effect("refuses 20 concurrent chunked 50 MB bodies with 413 without buffering them, and stays responsive", () =>
      Effect.gen(function*() {
        const admin = freshUser("chunked")
        const workspaceId = yield* workspaceOf(admin)
        const port = ((yield* HttpServer.HttpServer).address as HttpServer.TcpAddress).port
        global.gc?.()
        const rssBefore = process.memoryUsage().rss
        const peak = yield* Ref.make(rssBefore)
        const healthFailures = yield* Ref.make<Array<string>>([])
        const healthChecks = yield* Ref.make(0)
        const anonymous = yield* clientAs(null)
        const watcher = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
          yield* Ref.update(peak, (value) => Math.max(value, process.memoryUsage().rss))
          const health = yield* answered(anonymous.health.healthz()).pipe(Effect.timeout("2 seconds"), Effect.either)
          yield* Ref.update(healthChecks, (n) => n + 1)
          if (health._tag === "Left" || health.right.status !== 200 || health.right.result._tag === "Left") {
            yield* Ref.update(healthFailures, (list) => [...list, String(health)])
          }
          yield* Effect.sleep("100 millis")
        })))
        const answers = yield* Effect.forEach(
          Array.from({ length: 20 }),
          () => chunkedUpload(port, `/v1/workspaces/${workspaceId}/metrics`, tokenFor(admin), 50 * 1024 * 1024),
          { concurrency: "unbounded" }
        )
        yield* Ref.update(peak, (value) => Math.max(value, process.memoryUsage().rss))
        yield* Fiber.interrupt(watcher)

        assert.deepStrictEqual(answers.map((answer) => answer.status), Array.from({ length: 20 }, () => 413))
        for (const answer of answers) assert.strictEqual(JSON.parse(answer.body)._tag, "PayloadTooLarge")
        const grownMb = ((yield* Ref.get(peak)) - rssBefore) / 1024 / 1024
        assert.isBelow(grownMb, 100, `resident memory grew by ${grownMb.toFixed(1)} MB`)
        assert.isAbove(yield* Ref.get(healthChecks), 0)
        assert.deepStrictEqual(yield* Ref.get(healthFailures), [])

        const metrics = yield* Effect.flatMap(
          clientAs(admin),
          (client) => client.metrics.list({ path: { workspaceId } })
        )
        assert.deepStrictEqual(metrics.metrics, [], "nothing was created by a refused body")
      }))

    it.effect("a client still sending a refused body reads its 413 once it reads, declared length or chunked", () =>
      Effect.gen(function*() {
        const admin = freshUser("busy-writer")
        const workspaceId = yield* workspaceOf(admin)
        const port = ((yield* HttpServer.HttpServer).address as HttpServer.TcpAddress).port
        const head = (framing: string) =>
          `POST /v1/workspaces/${workspaceId}/metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
          `authorization: Bearer ${tokenFor(admin)}\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`
        const chunkedBody = `${(8 * 1024 * 1024).toString(16)}\r\n`
        const answers = yield* Effect.all([
          uploadThenRead(port, head(`content-length: ${50 * 1024 * 1024}`), 8 * 1024 * 1024),
          uploadThenRead(port, head("transfer-encoding: chunked") + chunkedBody, 8 * 1024 * 1024)
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(answers, [
          { statusLine: "HTTP/1.1 413 Payload Too Large", error: null },
          { statusLine: "HTTP/1.1 413 Payload Too Large", error: null }
        ])
      }))

    it.effect("never runs a request sent on a connection refused with 413, pipelined behind the body or after", () =>
      Effect.forEach([true, false], (pipelined) =>
        Effect.gen(function*() {
          const admin = freshUser("after-413")
          const workspaceId = yield* workspaceOf(admin)
          const port = ((yield* HttpServer.HttpServer).address as HttpServer.TcpAddress).port
          const post = (framing: string) =>
            `POST /v1/workspaces/${workspaceId}/metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
            `authorization: Bearer ${tokenFor(admin)}\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`
          const next = JSON.stringify({ name: "Sent after the 413", unit: "integer" })
          const answered = yield* Effect.async<string>((resume) => {
            const socket = Net.connect(port, "127.0.0.1")
            let text = ""
            let sentNext = false
            socket.on("error", () => {})
            socket.on("data", (chunk) => {
              text += chunk
              // The whole 413 has arrived (its body is the JSON error): send the next request on the same connection.
              if (!pipelined && !sentNext && text.includes("PayloadTooLarge") && text.trimEnd().endsWith("}")) {
                sentNext = true
                socket.write(post(`content-length: ${Buffer.byteLength(next)}`) + next)
              }
            })
            socket.on("close", () => resume(Effect.succeed(text)))
            const over = MAX_BODY_BYTES + 64 * 1024
            socket.write(
              post("transfer-encoding: chunked") + `${over.toString(16)}\r\n${" ".repeat(over)}\r\n0\r\n\r\n` +
                (pipelined ? post(`content-length: ${Buffer.byteLength(next)}`) + next : "")
            )
            return Effect.sync(() => socket.destroy())
          }).pipe(Effect.timeout("20 seconds"))
          assert.match(answered, /^HTTP\/1\.1 413 /)
          assert.strictEqual(answered.match(/HTTP\/1\.1 /g)?.length, 1, "one answer only")
          const metrics = yield* Effect.flatMap(
            clientAs(admin),
            (client) => client.metrics.list({ path: { workspaceId } })
          )
          assert.deepStrictEqual(
            metrics.metrics,
            [],
            `the request sent ${pipelined ? "behind the body" : "after the 413"} ran`
          )
        }), { discard: true }))

    it.effect("closes a connection whose client never stops sending a refused body within the linger time", () =>
      Effect.gen(function*() {
        const admin = freshUser("endless")
        const workspaceId = yield* workspaceOf(admin)
        const port = ((yield* HttpServer.HttpServer).address as HttpServer.TcpAddress).port
        const started = Date.now()
        const ended = yield* Effect.async<number>((resume) => {
          const socket = Net.connect(port, "127.0.0.1")
          socket.on("error", () => {})
          socket.on("close", () => resume(Effect.succeed(Date.now() - started)))
          socket.write(
            `POST /v1/workspaces/${workspaceId}/metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
              `authorization: Bearer ${tokenFor(admin)}\r\ncontent-length: ${1024 * 1024 * 1024}\r\n\r\n`
          )
          const trickle = setInterval(() => socket.destroyed || socket.write(Buffer.alloc(16 * 1024, 0x20)), 50)
          socket.on("close", () => clearInterval(trickle))
          return Effect.sync(() => socket.destroy())
        }).pipe(Effect.timeout("15 seconds"))
        assert.isAtLeast(ended, LINGER_MILLIS - 100, "the answer was followed by a lingering close")
        assert.isBelow(ended, LINGER_MILLIS + 5_000, "the linger ended although the client kept sending")
      }))

    it.effect("accepts a chunked body just under the limit and refuses one just over it", () =>
      Effect.gen(function*() {
        const admin = freshUser("edge")
        const port = ((yield* HttpServer.HttpServer).address as HttpServer.TcpAddress).port
        const padded = (bytes: number) => {
          const body = JSON.stringify({ name: "Edge" })
          return `${body.slice(0, -1)}${" ".repeat(bytes - body.length)}}`
        }
        const send = (body: string) =>
          Effect.async<RawAnswer>((resume) => {
            const request = NodeHttp.request({
              host: "127.0.0.1",
              port,
              method: "POST",
              path: "/v1/workspaces",
              headers: {
                authorization: `Bearer ${tokenFor(admin)}`,
                "content-type": "application/json",
                "transfer-encoding": "chunked"
              }
            }, (response) => {
              let text = ""
              response.on("data", (chunk) => (text += chunk))
              response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body: text })))
            })
            request.on("error", () => {})
            for (let at = 0; at < body.length; at += 100_000) request.write(body.slice(at, at + 100_000))
            request.end()
          })
        assert.strictEqual((yield* send(padded(MAX_BODY_BYTES))).status, 201)
        const over = yield* send(padded(MAX_BODY_BYTES + 1))
        assert.strictEqual(over.status, 413)
        assert.strictEqual(JSON.parse(over.body)._tag, "PayloadTooLarge")
      }))
  })

  const shortTimeouts = apiOn(
    TestSqlLive({ maxConnections: 10, timeouts: { statementTimeoutMillis: 3_000, lockTimeoutMillis: 1_000 } }),
    {
      requestTimeoutMillis: 10_000
    }
  )

  layer(shortTimeouts, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect.skipIf(!onRealPostgres)(
      "answers 503 with a request id when a statement waits on a row lock, and the pool recovers",
      () =>
        Effect.gen(function*() {
          const { admin, lock, promote, workspaceId } = yield* memberRowLocked

          const started = Date.now()
          const blocked = expectFailure(yield* promote, "ServiceUnavailable", 503)
          const waited = Date.now() - started
          assert.match(blocked.requestId, /^[0-9a-f-]{36}$/)
          assert.isBelow(waited, 10_000, "answered before the request deadline")

          // Every connection of the pool is usable while the lock is still held elsewhere.
          const reads = yield* Effect.forEach(
            Array.from({ length: 12 }),
            () => answered(admin.workspaces.get({ path: { workspaceId } })),
            { concurrency: 6 }
          )
          assert.deepStrictEqual(reads.map((read) => read.status), Array.from({ length: 12 }, () => 200))
          for (const read of reads) expectSuccess(read, 200)

          yield* lock.commit()
          const retried = expectSuccess(yield* promote, 200)
          assert.strictEqual(retried.role, "admin")
        }).pipe(Effect.scoped)
    )
  })

  const noDatabaseTimeouts = apiOn(
    TestSqlLive({ maxConnections: 10, timeouts: { statementTimeoutMillis: 0, lockTimeoutMillis: 0 } }),
    {
      requestTimeoutMillis: 1_500
    }
  )

  layer(noDatabaseTimeouts, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect.skipIf(!onRealPostgres)(
      "interrupts a request at its deadline with a 503, cancels its statement and frees its connection",
      () =>
        Effect.gen(function*() {
          const { admin, lock, member, promote, workspaceId } = yield* memberRowLocked
          const [elapsed, blocked] = yield* Effect.timed(promote)
          expectFailure(blocked, "ServiceUnavailable", 503)
          assert.isBelow(Duration.toMillis(elapsed), 5_000)

          // The waiting statement was cancelled: nothing is left waiting on the held lock.
          const sql = yield* SqlClient.SqlClient
          yield* eventually(
            sql<{ n: number }>`
              SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`.pipe(
              Effect.flatMap(([row]) => row!.n === 0 ? Effect.void : Effect.fail("a statement still waits"))
            ),
            "5 seconds"
          )
          yield* lock.commit()
          expectSuccess(yield* answered(admin.workspaces.get({ path: { workspaceId } })), 200)
          const [unchanged] = yield* sql<{ role: string }>`
            SELECT role FROM workspace_members WHERE workspace_id = ${workspaceId} AND user_id = ${member}`
          assert.strictEqual(unchanged!.role, "member", "the interrupted change was rolled back")
        }).pipe(Effect.scoped)
    )
  })
})
