import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeHttp from "node:http"
import { call, workspaceOf } from "./support/Http.js"
import { ApiTestLive, freshUser, tokenFor } from "./support/TestApi.js"

const nastyBodies: ReadonlyArray<string> = [
  "",
  "{",
  "null",
  "[]",
  "{}",
  "\"text\"",
  "42",
  JSON.stringify({ name: "\u0000\u0007", title: "x".repeat(300), apiKey: "\u202e", region: { nested: [] } }),
  JSON.stringify({ kind: "event", event: 5, aggregation: "sum", filters: "no" }),
  JSON.stringify({ predictedImpact: { magnitude: "NaN", timeframeDays: -1 }, managementKey: ["a"] }),
  JSON.stringify(Array.from({ length: 200 }).reduce<unknown>((inner) => ({ inner }), {})),
  JSON.stringify({ name: "y".repeat(300_000) })
]

/** A raw POST that keeps the answer even when the server does not read the whole body. */
const postRaw = (port: number, token: string, body: string) =>
  Effect.async<{ status: number; body: string }>((resume) => {
    const request = NodeHttp.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/workspaces",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }
    }, (response) => {
      let text = ""
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body: text })))
    })
    request.on("error", () => {})
    request.end(body)
  })

const pathValues = ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "%00", "..", "a".repeat(300)]

describe("user input", () => {
  layer(ApiTestLive(), { timeout: "180 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "never produces a 5xx, whatever is sent to whichever endpoint of the contract",
      () =>
        Effect.gen(function*() {
          const admin = freshUser("fuzz")
          const workspaceId = yield* workspaceOf(admin)
          const client = yield* HttpClient.HttpClient
          const openapi = (yield* call("GET", "/openapi.json", { user: null })).body as {
            paths: Record<string, Record<string, unknown>>
          }
          const token = tokenFor(admin)
          const failures: Array<string> = []
          let requests = 0
          for (const [template, operations] of Object.entries(openapi.paths)) {
            for (const method of Object.keys(operations)) {
              const paths = pathValues.map((value) =>
                template.replace("{workspaceId}", workspaceId).replace(/\{[^}]+\}/g, encodeURIComponent(value))
              )
              const bodies = method === "get" || method === "delete" ? [undefined] : nastyBodies
              for (const path of paths) {
                for (const body of bodies) {
                  let request = HttpClientRequest.make(method.toUpperCase() as "GET")(path).pipe(
                    HttpClientRequest.bearerToken(token)
                  )
                  if (body !== undefined) request = HttpClientRequest.bodyText(request, body, "application/json")
                  const status = yield* client.execute(request).pipe(
                    Effect.map((response) => response.status),
                    Effect.scoped,
                    Effect.orDie
                  )
                  requests++
                  if (status >= 500) failures.push(`${method.toUpperCase()} ${path} ${body?.slice(0, 40)} → ${status}`)
                }
              }
            }
          }
          assert.isAbove(requests, 300)
          assert.deepStrictEqual(failures, [])

          const malformed = yield* client.execute(
            HttpClientRequest.post("/v1/workspaces").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyText("{\"name\": ", "application/json")
            )
          ).pipe(Effect.flatMap((response) => Effect.map(response.json, (body) => ({ status: response.status, body }))))
          assert.strictEqual(malformed.status, 400)
          assert.strictEqual((malformed.body as { _tag: string })._tag, "HttpApiDecodeError")

          const server = yield* HttpServer.HttpServer
          const oversized = yield* postRaw(
            (server.address as HttpServer.TcpAddress).port,
            token,
            JSON.stringify({ name: "z".repeat(2 * 1024 * 1024) })
          )
          assert.strictEqual(oversized.status, 413)
          assert.strictEqual(JSON.parse(oversized.body)._tag, "PayloadTooLarge")
        }),
      { timeout: 120_000 }
    ) // hundreds of requests: beyond 30 s on a loaded 2-core run of the whole suite
  })
})
