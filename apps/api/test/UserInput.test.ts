import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { DEMO_PROJECTS, projectData } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import * as NodeHttp from "node:http"
import { workspaceOf } from "./support/Client.js"
import { call } from "./support/Http.js"
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

let requests = 0

/**
 * Sends every nasty body to every operation of `/openapi.json`, once per combination of the values `valuesOf`
 * gives for the path's parameters (deletions last). Returns the requests answered with a 5xx, and every
 * status by operation (`GET /v1/workspaces/{workspaceId}`).
 */
const fuzz = (token: string, valuesOf: (parameter: string) => ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const openapi = (yield* call("GET", "/openapi.json", { user: null })).body as {
      paths: Record<string, Record<string, unknown>>
    }
    const operations = Object.entries(openapi.paths)
      .flatMap(([template, methods]) => Object.keys(methods).map((method) => ({ template, method })))
      .sort((a, b) => Number(a.method === "delete") - Number(b.method === "delete"))
    const failures: Array<string> = []
    const statuses: Record<string, Array<number>> = {}
    for (const { method, template } of operations) {
      let paths = [template]
      for (const parameter of template.match(/\{[^}]+\}/g) ?? []) {
        const values = valuesOf(parameter.slice(1, -1)).map(encodeURIComponent)
        paths = paths.flatMap((path) => values.map((value) => path.replace(parameter, value)))
      }
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
          ;(statuses[`${method.toUpperCase()} ${template}`] ??= []).push(status)
          if (status >= 500) failures.push(`${method.toUpperCase()} ${path} ${body?.slice(0, 40)} → ${status}`)
        }
      }
    }
    return { failures, statuses }
  })

const US = DEMO_PROJECTS.us

/** A workspace connected to the demo US project, with a project, metric and mapping, bet, outcome and linked test. */
const connectedWorkspace = Effect.gen(function*() {
  const admin = freshUser("fuzz-admin")
  const member = freshUser("fuzz-member")
  const workspaceId = yield* workspaceOf(admin)
  const at = `/v1/workspaces/${workspaceId}`
  const created = (answer: { status: number; text: string; body: any }) => {
    assert.isBelow(answer.status, 300, answer.text)
    return answer.body
  }
  created(yield* call("PUT", `${at}/members/${member}`, { user: admin, body: { role: "member" } }))
  created(
    yield* call("PUT", `${at}/integrations/amplitude`, {
      user: admin,
      body: { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }
    })
  )
  created(
    yield* call("PUT", `${at}/integrations/amplitude/management-key`, {
      user: admin,
      body: { managementKey: US.managementKeys[0] }
    })
  )
  const projectId = created(yield* call("POST", `${at}/projects`, { user: admin, body: { name: "Web" } })).id
  const metricId = created(
    yield* call("POST", `${at}/metrics`, {
      user: member,
      body: { name: "Purchases", unit: "integer" }
    })
  ).id
  created(
    yield* call("PUT", `${at}/metrics/${metricId}/amplitude-mapping`, {
      user: member,
      body: { kind: "event", event: "Purchase", aggregation: "count" }
    })
  )
  const betId = created(
    yield* call("POST", `${at}/projects/${projectId}/bets`, {
      user: member,
      body: {
        title: "Faster checkout",
        predictedImpact: { metricId, direction: "increase", magnitude: 5, magnitudeUnit: "percent", timeframeDays: 7 }
      }
    })
  ).id
  created(
    yield* call("PUT", `${at}/bets/${betId}/outcome`, {
      user: member,
      body: { shipDate: "2026-10-15", whatShipped: "One-click checkout" }
    })
  )
  const running = projectData(US).experiments.find((experiment) =>
    experiment.state === "running" && !experiment.archived
  )!
  const testId = created(
    yield* call("POST", `${at}/projects/${projectId}/tests`, {
      user: member,
      body: { name: "Checkout CTA", type: "ab_experiment", amplitudeExperimentId: running.id }
    })
  ).id
  const ids: Record<string, string> = { workspaceId, projectId, metricId, betId, testId, userId: member }
  return { admin, ids }
})

describe("user input", () => {
  layer(ApiTestLive(), { timeout: "180 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "never produces a 5xx, whatever is sent to whichever endpoint of the contract",
      () =>
        Effect.gen(function*() {
          const admin = freshUser("fuzz")
          const workspaceId = yield* workspaceOf(admin)
          const client = yield* HttpClient.HttpClient
          requests = 0
          const token = tokenFor(admin)
          const { failures } = yield* fuzz(token, (name) => name === "workspaceId" ? [workspaceId] : pathValues)
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
      180_000
    )

    it.effect(
      "never produces a 5xx in a connected workspace, with the ids of its real rows in every path",
      () =>
        Effect.gen(function*() {
          const { admin, ids } = yield* connectedWorkspace
          requests = 0
          const { failures, statuses } = yield* fuzz(
            tokenFor(admin),
            (name) => [ids[name] ?? "00000000-0000-4000-8000-000000000000"]
          )
          assert.isAbove(requests, 150)
          assert.deepStrictEqual(failures, [])
          const workspace = "/v1/workspaces/{workspaceId}"
          for (
            const reached of [
              `GET ${workspace}/amplitude/cohorts`,
              `GET ${workspace}/amplitude/experiments`,
              `GET ${workspace}/bets/{betId}`,
              `POST ${workspace}/bets/{betId}/outcome/pull`,
              `GET ${workspace}/tests/{testId}`,
              `DELETE ${workspace}/integrations/amplitude`
            ]
          ) {
            assert.include(statuses[reached] ?? [], 200, `${reached}: ${statuses[reached]}`)
          }
        }),
      180_000
    )
  })
})
