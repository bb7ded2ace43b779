import { assert, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Cause, Effect, Exit, HashMap, Inspectable, List, Logger, LogLevel, Option, Redacted } from "effect"
import { inspect } from "node:util"
import { AmplitudeClient } from "../src/index.js"
import { projectKeys, scrub } from "../src/internal/Credentials.js"
import { spanRecorder, storedConnection, TestLive, withFaults } from "./helpers.js"

/** Records every log line and every span (attributes, events, exit) of the effects it wraps. */
const makeCapture = () => {
  const lines: Array<string> = []
  const { spans, tracer } = spanRecorder()
  const logger = Logger.make((options) => {
    lines.push(JSON.stringify({
      level: options.logLevel.label,
      message: Inspectable.toStringUnknown(options.message),
      annotations: Object.fromEntries(HashMap.toEntries(options.annotations)),
      spans: List.toArray(options.spans).map((span) => span.label),
      cause: Cause.isEmpty(options.cause) ? null : Cause.pretty(options.cause)
    }))
  })
  const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.exit,
      Effect.tap((exit) => Effect.sync(() => lines.push(inspect(exit, { depth: 20 }), String(exit)))),
      Effect.withTracer(tracer),
      Effect.provide(Logger.add(logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  const dump = () =>
    [
      ...lines,
      ...spans.map((span) =>
        JSON.stringify({
          name: span.name,
          attributes: Object.fromEntries([...span.attributes].map(([k, v]) => [k, String(v)])),
          events: span.events.map((event) => ({ name: event.name, attributes: inspect(event.attributes) })),
          exit: span.exit === undefined
            ? null
            : Exit.match(span.exit, { onSuccess: (value) => inspect(value, { depth: 10 }), onFailure: Cause.pretty })
        })
      )
    ].join("\n")
  return { capture, dump, lines, spans }
}

const secretsOf = (apiKey: string, secretKey: string) => {
  const basic = Buffer.from(`${apiKey}:${secretKey}`).toString("base64")
  return [apiKey, secretKey, basic, basic.slice(0, 24)]
}

const assertNoSecret = (haystack: string, secrets: ReadonlyArray<string>) => {
  for (const secret of secrets) {
    assert.isFalse(haystack.includes(secret), `found ${secret.slice(0, 4)}… in captured output`)
  }
}

layer(TestLive, { excludeTestServices: true })("secrets", (it) => {
  it.effect("a full validation run (success, wrong region, invalid) logs and traces no key material", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const emulator = yield* AmplitudeEmulator
      const { capture, dump, lines, spans } = makeCapture()
      const us = DEMO_PROJECTS.us
      const eu = DEMO_PROJECTS.eu
      const keys = (apiKey: string, secretKey: string, region: "us" | "eu") => ({
        region,
        apiKey: Redacted.make(apiKey),
        secretKey: Redacted.make(secretKey)
      })

      yield* emulator.injectFault({ kind: "status", status: 503, project: us.id, endpoint: "taxonomy.category.list" })
      const ok = yield* capture(client.validateCredentials(keys(us.apiKey, us.secretKey, "us")))
      const wrongRegion = yield* capture(client.validateCredentials(keys(eu.apiKey, eu.secretKey, "us")))
      const invalid = yield* capture(client.validateCredentials(keys(us.apiKey, eu.secretKey, "us")))
      yield* emulator.injectFault({ kind: "status", status: 429, retryAfterSeconds: 3, project: us.id })
      const limited = yield* capture(client.validateCredentials(keys(us.apiKey, us.secretKey, "us")))
      const management = yield* capture(client.validateManagementKey({
        region: "eu",
        managementKey: Redacted.make(us.managementKeys[0])
      }))

      assert.isTrue(Exit.isSuccess(ok))
      assert.deepStrictEqual(
        [wrongRegion, invalid, limited, management].map((exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
          Exit.match(exit, {
            onSuccess: () => "ok",
            onFailure: (cause) => Option.getOrThrow(Cause.failureOption(cause))._tag
          })
        ),
        ["WrongRegion", "InvalidCredentials", "RateLimited", "InvalidCredentials"]
      )

      const validations = spans.filter((s) => s.name === "AmplitudeClient.validateCredentials")
      assert.strictEqual(validations.length, 4)
      assert.strictEqual(validations[0]!.attributes.get("amplitude.region"), "us")
      const requests = spans.filter((s) => s.name === "Amplitude.request")
      assert.isAbove(requests.length, 8)
      assert.deepStrictEqual(
        [...requests[0]!.attributes.keys()].sort(),
        [
          "amplitude.attempt",
          "amplitude.endpoint",
          "amplitude.policy",
          "amplitude.region",
          "http.request.method",
          "http.response.status_code"
        ]
      )
      assert.isTrue(lines.some((line) => line.includes("answered 503; retrying")), "retry logs were captured")
      assert.isTrue(
        spans.some((s) => s.events.some((e) => e.name.includes("answered 503"))),
        "log lines became span events"
      )

      const haystack = dump()
      assertNoSecret(haystack, [
        ...secretsOf(us.apiKey, us.secretKey),
        ...secretsOf(eu.apiKey, eu.secretKey),
        ...secretsOf(us.apiKey, eu.secretKey),
        us.managementKeys[0]
      ])
    }).pipe(withFaults))

  it.effect("calls on a stored connection log and trace no key material either", () =>
    Effect.gen(function*() {
      const client = yield* AmplitudeClient
      const emulator = yield* AmplitudeEmulator
      const project = yield* emulator.project(DEMO_PROJECTS.eu.id)
      const amplitude = client.connection(yield* storedConnection(project))
      const { capture, dump, spans } = makeCapture()
      yield* capture(amplitude.listEvents())
      yield* capture(amplitude.segmentation({ event: { eventType: "Nope" }, start: "2026-13-01", end: "2026-11-02" }))
      yield* capture(amplitude.savedChart("missing"))
      yield* capture(amplitude.experiments.pipe(Option.getOrThrow).get("1"))
      assert.isTrue(spans.some((s) => s.name === "SecretOpener.open"))
      assertNoSecret(dump(), [...secretsOf(project.apiKey, project.secretKey), project.managementKeys[0]!.key])
    }))

  it.effect("Amplitude text echoed into an error message is scrubbed of the credentials", () =>
    Effect.sync(() => {
      const apiKey = "3f9a1c7e52b84d06a1e9c4b7d2f08e63"
      const secretKey = "Kq7vR2mXp9LwT4nZc8HsB3dYf6GjA1eU"
      const credentials = projectKeys(Redacted.make(apiKey), Redacted.make(secretKey))
      const basic = Buffer.from(`${apiKey}:${secretKey}`).toString("base64")
      const text = scrub(credentials, `Invalid API key: ${apiKey} (secret ${secretKey}, header Basic ${basic})`)
      assert.strictEqual(text, "Invalid API key: <redacted> (secret <redacted>, header Basic <redacted>)")
    }))
})
