// A local walkthrough: the Amplitude emulator, the API on the embedded database, a seeded workspace and the
// curl commands that show the connect flow and each of its error cases.
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { FindryClient } from "@findry/client"
import { UserId } from "@findry/domain"
import { Config, Console, Duration, Effect, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { issueToken } from "../src/auth/Jwt.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const tsx = `${root}node_modules/.bin/tsx`
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

const startApi = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(tsx, ["--conditions=@findry/source", main], { env: { ...process.env, ...env }, stdio: "inherit" })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )

const waitUntilReady = (baseUrl: string) =>
  Effect.flatMap(FindryClient.make({ baseUrl }), (findry) => findry.health.readyz()).pipe(
    Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo(Duration.seconds(60))))
  )

const program = Effect.gen(function*() {
  const port = yield* Config.port("PORT").pipe(Config.withDefault(3000))
  const authSecret = yield* Config.redacted("FINDRY_AUTH_SECRET")
  const emulator = yield* AmplitudeEmulator.make()
  const api = `http://localhost:${port}`

  yield* startApi({
    PORT: String(port),
    FINDRY_DATA_DIR: ".findry/demo",
    AMPLITUDE_US_URL: emulator.urls.us,
    AMPLITUDE_EU_URL: emulator.urls.eu,
    AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
    AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
    AMPLITUDE_TIMEOUT_MS: "3000"
  })
  yield* waitUntilReady(api)

  const admin = issueToken(authSecret, { sub: "demo-admin", ttlSeconds: 12 * 3600 })
  const member = issueToken(authSecret, { sub: "demo-member", ttlSeconds: 12 * 3600 })
  const asAdmin = yield* FindryClient.make({ baseUrl: api, token: Redacted.make(admin) })
  const { id: workspace } = yield* asAdmin.workspaces.create({ payload: { name: "Demo workspace" } })
  yield* asAdmin.workspaces.setMember({
    path: { workspaceId: workspace, userId: UserId.make("demo-member") },
    payload: { role: "member" }
  })

  const us = DEMO_PROJECTS.us
  const eu = DEMO_PROJECTS.eu
  const connection = `${api}/v1/workspaces/${workspace}/integrations/amplitude`
  const put = (body: object) =>
    `curl -s -X PUT "$CONNECTION" -H "$AUTH" -H 'content-type: application/json' -d '${JSON.stringify(body)}'`
  const fault = (body: object) =>
    `curl -s -X POST ${emulator.urls.us}/__emulator/faults -H 'content-type: application/json' -d '${
      JSON.stringify(body)
    }'`

  yield* Console.log(`
Findry × Amplitude demo
  API                ${api}   (reference: ${api}/docs)
  Amplitude (local)  US ${emulator.urls.us}  EU ${emulator.urls.eu}
                     Experiment US ${emulator.urls.experimentUs}  EU ${emulator.urls.experimentEu}
  Workspace          ${workspace}
  Web app            ${api}/app/   (sign in with a token below and the workspace ID)
  Admin token        ${admin}
  Member token       ${member}

In another terminal:
  export AUTH="Authorization: Bearer ${admin}"
  export MEMBER="Authorization: Bearer ${member}"
  export CONNECTION="${connection}"

Connect (US demo project), then read it back as a member:
  ${put({ region: "us", apiKey: us.apiKey, secretKey: us.secretKey })}
  curl -s "$CONNECTION" -H "$MEMBER"

Error cases:
  wrong region (EU keys on US)   ${put({ region: "us", apiKey: eu.apiKey, secretKey: eu.secretKey })}
  bad keys                        ${put({ region: "us", apiKey: us.apiKey, secretKey: "not-the-secret" })}
  invalid input (400)             ${put({ region: "us", apiKey: "", secretKey: us.secretKey })}
  member may not connect (403)    curl -s -X PUT "$CONNECTION" -H "$MEMBER" -H 'content-type: application/json' -d '{}'
  Amplitude rate limit (429)      ${fault({ project: us.id, kind: "status", status: 429 })}
                                  then repeat the connect command
  Amplitude down (502)            ${fault({ project: us.id, kind: "status", status: 503, times: 5 })}
  network timeout (502)           ${fault({ project: us.id, kind: "hang" })}
  (at most 5 validation attempts per minute: a sixth answers 429 from Findry with Retry-After)

Pickers, annotation toggle, management key, audit log, disconnect:
  curl -s "${api}/v1/workspaces/${workspace}/amplitude/cohorts" -H "$MEMBER"
  curl -s "${api}/v1/workspaces/${workspace}/amplitude/events" -H "$MEMBER"
  curl -s -X PATCH "$CONNECTION" -H "$AUTH" -H 'content-type: application/json' -d '{"annotationsEnabled":false}'
  curl -s -X PUT "$CONNECTION/management-key" -H "$AUTH" -H 'content-type: application/json' -d '{"managementKey":"${
    us.managementKeys[0]
  }"}'
  curl -s "${api}/v1/workspaces/${workspace}/amplitude/experiments" -H "$MEMBER"
  curl -s "${api}/v1/workspaces/${workspace}/audit-log" -H "$AUTH"
  curl -s -X DELETE "$CONNECTION" -H "$AUTH"

A decision end to end (while connected): a metric mapped to Amplitude, a bet (its "promoted" annotation is
pushed at once), a ship date, a pull of the outcome with its verdict, and the annotations in Amplitude:
  export W="${api}/v1/workspaces/${workspace}"
  PROJECT=$(curl -s -X POST "$W/projects" -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Growth"}' | jq -r .id)
  METRIC=$(curl -s -X POST "$W/metrics" -H "$AUTH" -H 'content-type: application/json' -d '{"name":"Purchases","unit":"integer"}' | jq -r .id)
  curl -s -X PUT "$W/metrics/$METRIC/amplitude-mapping" -H "$AUTH" -H 'content-type: application/json' -d '{"kind":"event","event":"Purchase","aggregation":"count"}'
  BET=$(curl -s -X POST "$W/projects/$PROJECT/bets" -H "$AUTH" -H 'content-type: application/json' -d '{"title":"Faster checkout","predictedImpact":{"metricId":"'$METRIC'","direction":"increase","magnitude":5,"magnitudeUnit":"percent","timeframeDays":14}}' | jq -r .id)
  curl -s -X PUT "$W/bets/$BET/outcome" -H "$AUTH" -H 'content-type: application/json' -d '{"shipDate":"2026-10-01","whatShipped":"One-page checkout"}'
  curl -s -X POST "$W/bets/$BET/outcome/pull" -H "$AUTH"
  curl -s "$W/amplitude/annotations" -H "$AUTH"
  curl -s ${emulator.urls.us}/__emulator/projects/${us.id}/annotations
  (a push that failed on rejected keys or after its last attempt goes again when keys of the same project are
  saved, or on demand; admin only, answers how many were queued:)
  curl -s -X POST "$W/amplitude/annotations/retry" -H "$AUTH"

Ctrl-C stops everything.`)
  return yield* Effect.never
})

Effect.scoped(program).pipe(Effect.provide(NodeHttpClient.layerUndici), NodeRuntime.runMain)
