import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type AmplitudeRegion, WorkspaceId } from "@findry/domain"
import { ConfigProvider, Effect, Layer, Redacted, Schema } from "effect"
import { FindryClient } from "../src/index.js"

const workspaceId = Schema.decodeSync(WorkspaceId)("0b8e7f1e-4a5c-4c3e-9d8f-2a1b3c4d5e6f")

interface Seen {
  readonly url: string
  readonly authorization: string | undefined
  readonly body: unknown
}

/** An `HttpClient` that records each request and answers it with `status` and `body`. */
const answering = (status: number, body: unknown, seen: Array<Seen>) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request) =>
      Effect.sync(() => {
        seen.push({
          url: request.url,
          authorization: request.headers.authorization,
          body: request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(request.body.body)) : undefined
        })
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
        )
      })
    )
  )

const connect = (region: AmplitudeRegion) =>
  Effect.flatMap(FindryClient, (client) =>
    client.amplitudeConnection.connect({
      path: { workspaceId },
      payload: { region, apiKey: Redacted.make("api-key"), secretKey: Redacted.make("secret-key") }
    }))

describe("FindryClient", () => {
  it.effect("sends the bearer token to the base URL and gives the contract's error back by _tag", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const detected = yield* connect("us").pipe(
        Effect.map(() => "connected"),
        Effect.catchTag("WrongRegion", (error) => Effect.succeed(error.detectedRegion)),
        Effect.provide(
          FindryClient.layer({ baseUrl: "https://findry.test", token: Redacted.make("the-token") }).pipe(
            Layer.provide(answering(422, { _tag: "WrongRegion", message: "Switch to EU", detectedRegion: "eu" }, seen))
          )
        )
      )
      assert.strictEqual(detected, "eu")
      assert.deepStrictEqual(seen, [{
        url: `https://findry.test/v1/workspaces/${workspaceId}/integrations/amplitude`,
        authorization: "Bearer the-token",
        body: { region: "us", apiKey: "api-key", secretKey: "secret-key" }
      }])
    }))

  it.effect("without a token sends no Authorization header", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const healthy = yield* Effect.flatMap(FindryClient, (client) => client.health.healthz()).pipe(
        Effect.provide(
          FindryClient.layer({ baseUrl: "https://findry.test/" }).pipe(
            Layer.provide(answering(200, { status: "ok" }, seen))
          )
        )
      )
      assert.strictEqual(healthy.status, "ok")
      assert.deepStrictEqual(seen.map(({ authorization, url }) => ({ authorization, url })), [
        { authorization: undefined, url: "https://findry.test/healthz" }
      ])
    }))

  it.effect("reads its URL and token from FINDRY_API_URL and FINDRY_API_TOKEN", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const error = yield* Effect.flip(connect("eu")).pipe(
        Effect.provide(
          FindryClient.layerConfig().pipe(
            Layer.provide(answering(403, { _tag: "Forbidden", message: "Ask an admin." }, seen))
          )
        ),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["FINDRY_API_URL", "http://127.0.0.1:3000"], ["FINDRY_API_TOKEN", "config-token"]])
        ))
      )
      assert.strictEqual(error._tag, "Forbidden")
      assert.strictEqual(seen[0]?.authorization, "Bearer config-token")
      assert.isTrue(seen[0]?.url.startsWith("http://127.0.0.1:3000/v1/workspaces/"))
    }))
})
