import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { LoggingLive } from "@findry/observability"
import { ConfigProvider, Console, Effect, Layer, LogLevel, Redacted } from "effect"
import { Capture } from "./support/Capture.js"
import { amplitudeKeys, answered, clientAs, expectFailure, workspaceOf } from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { receivedBodies, receivedHeaders } from "./support/Received.js"
import { telemetryToReceiver } from "./support/Telemetry.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const STARTER = DEMO_PROJECTS.starter

/** Every form a key could leak in: as typed, as the Basic header carries it, and as hex or base64 bytes. */
const secretForms = [US.apiKey, US.secretKey, STARTER.apiKey, STARTER.secretKey, US.managementKeys[0]].flatMap(
  (key) => [key, Buffer.from(key).toString("hex"), Buffer.from(key).toString("base64")]
).concat([
  Buffer.from(`${US.apiKey}:${US.secretKey}`).toString("base64"),
  Buffer.from(`${STARTER.apiKey}:${STARTER.secretKey}`).toString("base64")
])

const assertNoSecret = (where: string, text: string) => {
  for (const secret of secretForms) {
    const at = text.indexOf(secret)
    assert.isFalse(
      at >= 0,
      `${where} contains key material: …${text.slice(Math.max(0, at - 300), at).replaceAll(secret, "<key>")}<key>…`
    )
  }
}

/**
 * The service's own logging (`LoggingLive`) with `LOG_FORMAT=format` and every level on, printing to a console
 * that keeps each line in `printed`.
 */
const printedAs = (format: "json" | "logfmt", printed: Array<string>) => {
  const base = Effect.runSync(Effect.console)
  const keeping: Console.Console = {
    ...base,
    unsafe: { ...base.unsafe, log: (...args: ReadonlyArray<unknown>) => printed.push(args.map(String).join(" ")) }
  }
  return Layer.merge(
    LoggingLive.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
        new Map([["LOG_FORMAT", format], ["LOG_LEVEL", "All"]])
      ))),
      Layer.orDie
    ),
    Console.setConsole(keeping)
  )
}

/** Connects, fails to connect, re-keys and disconnects, calling the pickers in between, then searches everything. */
const exercise = (logs: Effect.Effect<string>) =>
  Effect.gen(function*() {
    const adminId = freshUser("admin")
    const workspaceId = yield* workspaceOf(adminId)
    const admin = yield* clientAs(adminId)
    const path = { workspaceId }
    const us = amplitudeKeys(US)
    const connect = (payload: typeof us) => answered(admin.amplitudeConnection.connect({ path, payload }))

    expectFailure(yield* connect({ ...us, secretKey: Redacted.make(STARTER.secretKey) }), "InvalidCredentials", 422)
    expectFailure(yield* connect({ ...us, region: "eu" }), "WrongRegion", 422)
    expectFailure(yield* connect({ ...us, apiKey: Redacted.make(`${US.apiKey}\u0001`) }), "HttpApiDecodeError", 400)
    yield* admin.amplitudeConnection.connect({ path, payload: us })
    yield* admin.amplitudeConnection.setManagementKey({
      path,
      payload: { managementKey: Redacted.make(US.managementKeys[0]!) }
    })
    yield* admin.amplitudeConnection.cohorts({ path })
    yield* admin.amplitudeConnection.experiments({ path, urlParams: {} })
    yield* admin.amplitudeConnection.connect({ path, payload: amplitudeKeys(STARTER) })
    yield* admin.amplitudeConnection.disconnect({ path })
    const audit = yield* admin.audit.list({ path, urlParams: {} })
    assert.isAtLeast(audit.entries.length, 6)

    assertNoSecret("a response body", receivedBodies.join("\n"))
    assertNoSecret("a response header", receivedHeaders.join("\n"))
    const logged = yield* logs
    assert.include(logged, "Sent HTTP response")
    assertNoSecret("a log line or span", logged)

    const sql = yield* SqlClient.SqlClient
    const tables = yield* sql<{ tableName: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
    assert.includeMembers(tables.map((table) => table.tableName), ["integrations", "audit_log"])
    for (const { tableName } of tables) {
      const rows = yield* sql<{ row: string }>`SELECT t::text AS row FROM ${sql(tableName)} t`
      assertNoSecret(`table ${tableName}`, rows.map((row) => row.row).join("\n"))
    }
  }).pipe(Effect.orDie)

describe("secrets", () => {
  const capture = new Capture()
  layer(ApiTestLive({ observability: capture.layer }), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("never appear in a response body or header, log line, span, audit entry or database column", () =>
      Effect.gen(function*() {
        yield* exercise(Effect.sync(() => capture.text))
        assert.isAbove(capture.lines.length, 10)
        assert.include(capture.text, "AmplitudeClient.validateCredentials")
      }))
  })

  const telemetry = telemetryToReceiver({ minimumLogLevel: LogLevel.All })
  layer(ApiTestLive({ observability: telemetry.layer }), { timeout: "120 seconds", excludeTestServices: true })(
    (it) => {
      it.effect("never appear in the spans, span events or metrics exported over OTLP", () =>
        Effect.gen(function*() {
          // Once the audit log request's span is out, every earlier span is too; then one more metrics export.
          const exported = eventually(
            Effect.suspend(() => {
              const receiver = telemetry.receiver()
              const spans = receiver.spans()
              const last = spans.find((span) =>
                span.name === "http.server GET" &&
                span.attributes["http.route"] === "/v1/workspaces/:workspaceId/audit-log"
              )
              return last === undefined || receiver.points().length === 0
                ? Effect.fail("not exported yet")
                : Effect.succeed(receiver.text)
            }),
            "20 seconds"
          ).pipe(Effect.orDie)
          yield* exercise(exported)
          const receiver = telemetry.receiver()
          const names = receiver.spans().map((span) => span.name)
          assert.include(names, "AmplitudeClient.validateCredentials")
          assert.include(names, "Amplitude.request")
          assert.isTrue(receiver.points().some((point) => point.metric === "amplitude.client.request.duration"))
          assertNoSecret("an OTLP export", receiver.text)
        }), 90_000)
    }
  )

  for (const format of ["json", "logfmt"] as const) {
    const printed: Array<string> = []
    layer(ApiTestLive({ observability: printedAs(format, printed) }), {
      timeout: "120 seconds",
      excludeTestServices: true
    })((it) => {
      it.effect(`never appear in the log lines the service prints with LOG_FORMAT=${format}`, () =>
        Effect.gen(function*() {
          yield* exercise(Effect.sync(() => printed.join("\n")))
          assert.isAbove(printed.length, 10)
          const line = printed.find((printedLine) => printedLine.includes("Sent HTTP response"))!
          if (format === "json") assert.strictEqual(JSON.parse(line).message, "Sent HTTP response")
          else assert.match(line, /^timestamp=\S+ level=DEBUG fiber=#\d+ message="Sent HTTP response"/)
        }))
    })
  }
})
