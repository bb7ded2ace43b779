import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { workspaceOf } from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { type Answer, call } from "./support/Http.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const onPostgres = process.env.TEST_DATABASE_URL !== undefined
const EU = DEMO_PROJECTS.eu
const STARTER = DEMO_PROJECTS.starter

const connection = (workspaceId: string) => `/v1/workspaces/${workspaceId}/integrations/amplitude`

const usKeys = { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }

/** A workspace with an admin and a member, not yet connected. */
const setup = Effect.gen(function*() {
  const admin = freshUser("admin")
  const member = freshUser("member")
  const outsider = freshUser("outsider")
  const workspaceId = yield* workspaceOf(admin)
  yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin, body: { role: "member" } })
  return { admin, member, outsider, workspaceId, path: connection(workspaceId) }
})

const auditActions = (workspaceId: string, admin: string) =>
  call("GET", `/v1/workspaces/${workspaceId}/audit-log?limit=200`, { user: admin }).pipe(
    Effect.map((answer) =>
      (answer.body.entries as Array<{ action: string }>)
        .map((entry) => entry.action)
        .filter((action) => action.startsWith("amplitude."))
    )
  )

const integrationRow = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<Record<string, unknown>>`SELECT * FROM integrations WHERE workspace_id = ${workspaceId}`
    return rows[0]
  }).pipe(Effect.orDie)

const expectError = (answer: Answer, status: number, tag: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.body._tag, tag, answer.text)
  assert.isString(answer.body.message)
}

describe("the Amplitude connection", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("connects with valid keys, shows only prefixes and defaults annotation push ON", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        const before = yield* call("GET", path, { user: member })
        assert.strictEqual(before.body.status, "not_connected")

        const connected = yield* call("PUT", path, { user: admin, body: { ...usKeys, apiKey: `  ${US.apiKey}\n` } })
        assert.strictEqual(connected.status, 200, connected.text)
        assert.deepInclude(connected.body, {
          status: "connected",
          region: "us",
          displayName: `Amplitude project ${US.data.appId}`,
          apiKeyPrefix: `${US.apiKey.slice(0, 4)}…`,
          secretKeyPrefix: `${US.secretKey.slice(0, 4)}…`,
          managementKeyPrefix: null,
          annotationsEnabled: true,
          capabilities: { taxonomy: true, experiments: false },
          disconnectedAt: null
        })
        assert.isString(connected.body.connectedAt)
        assert.isString(connected.body.lastValidatedAt)
        assert.notInclude(connected.text, US.apiKey)
        assert.notInclude(connected.text, US.secretKey)

        const read = yield* call("GET", path, { user: member })
        assert.deepStrictEqual(read.body, connected.body)
        const row = yield* integrationRow(workspaceId)
        assert.instanceOf(row?.credential1, Uint8Array)
        assert.notInclude(Buffer.from(row?.credential1 as Uint8Array).toString("latin1"), US.apiKey)
        assert.deepStrictEqual(yield* auditActions(workspaceId, admin), ["amplitude.connected"])
      }))

    it.effect("uses the admin's display name, and says when the project has no Taxonomy API", () =>
      Effect.gen(function*() {
        const { admin, path } = yield* setup
        const connected = yield* call("PUT", path, {
          user: admin,
          body: { apiKey: STARTER.apiKey, secretKey: STARTER.secretKey, displayName: " Growth analytics " }
        })
        assert.strictEqual(connected.status, 200, connected.text)
        assert.strictEqual(connected.body.region, "us")
        assert.strictEqual(connected.body.displayName, "Growth analytics")
        assert.deepStrictEqual(connected.body.capabilities, { taxonomy: false, experiments: false })
      }))

    it.effect("detects keys of the other region, both ways, and stores nothing", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        const usOnEu = yield* call("PUT", path, { user: admin, body: { ...usKeys, region: "eu" } })
        expectError(usOnEu, 422, "WrongRegion")
        assert.strictEqual(usOnEu.body.detectedRegion, "us")
        assert.include(usOnEu.body.message, "Wrong region: these keys belong to Amplitude US Cloud")

        const euOnUs = yield* call("PUT", path, {
          user: admin,
          body: { region: "us", apiKey: EU.apiKey, secretKey: EU.secretKey }
        })
        expectError(euOnUs, 422, "WrongRegion")
        assert.strictEqual(euOnUs.body.detectedRegion, "eu")
        assert.include(euOnUs.body.message, "Amplitude EU Cloud")

        assert.isUndefined(yield* integrationRow(workspaceId))
        assert.deepStrictEqual(yield* auditActions(workspaceId, admin), [
          "amplitude.connect_failed",
          "amplitude.connect_failed"
        ])
      }))

    it.effect("rejects bad keys with InvalidCredentials and the four checks", () =>
      Effect.gen(function*() {
        const { admin, path } = yield* setup
        for (const region of ["us", "eu"]) {
          const answer = yield* call("PUT", path, {
            user: admin,
            body: { region, apiKey: US.apiKey, secretKey: "wrong-secret-0000000000000000000" }
          })
          expectError(answer, 422, "InvalidCredentials")
          assert.include(answer.body.message, "Amplitude rejected the API key")
          for (const check of ["copied correctly", "same Amplitude project", "archived", "regenerated"]) {
            assert.include(answer.body.message, check)
          }
        }
      }))

    it.effect("maps Amplitude trouble to Unreachable, RateLimited and AmplitudeUnavailable", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, path, workspaceId } = yield* setup
        const taxonomy = { project: US.id, endpoint: "/api/2/taxonomy/category" }

        yield* emulator.injectFault({ ...taxonomy, kind: "hang" })
        const hang = yield* call("PUT", path, { user: admin, body: usKeys })
        expectError(hang, 502, "Unreachable")
        assert.include(hang.body.message, "Couldn't reach Amplitude: network timeout")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 429 })
        const limited = yield* call("PUT", path, { user: admin, body: usKeys })
        expectError(limited, 429, "RateLimited")
        assert.strictEqual(limited.body.retryAfterSeconds, 60)
        assert.strictEqual(limited.headers["retry-after"], "60")
        assert.include(limited.body.message, "Amplitude rate-limited the validation call (429). Wait 60 seconds")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 429, retryAfterSeconds: 17 })
        const limitedWithHeader = yield* call("PUT", path, { user: admin, body: usKeys })
        expectError(limitedWithHeader, 429, "RateLimited")
        assert.strictEqual(limitedWithHeader.body.retryAfterSeconds, 17)
        assert.strictEqual(limitedWithHeader.headers["retry-after"], "17")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 503, times: 10 })
        const down = yield* call("PUT", path, { user: admin, body: usKeys })
        expectError(down, 502, "AmplitudeUnavailable")
        assert.strictEqual(down.body.status, 503)
        yield* emulator.clearFaults

        assert.isUndefined(yield* integrationRow(workspaceId))
      }))

    it.effect("lets at most five validation attempts a minute through, then answers 429 with Retry-After", () =>
      Effect.gen(function*() {
        const { admin, path } = yield* setup
        const wrong = { ...usKeys, secretKey: "wrong-secret-0000000000000000000" }
        for (let attempt = 0; attempt < 5; attempt++) {
          expectError(yield* call("PUT", path, { user: admin, body: wrong }), 422, "InvalidCredentials")
        }
        const throttled = yield* call("PUT", path, { user: admin, body: usKeys })
        expectError(throttled, 429, "RateLimited")
        assert.isAbove(Number(throttled.headers["retry-after"]), 0)
        assert.isAtMost(Number(throttled.headers["retry-after"]), 60)
      }))

    it.effect("rejects empty, oversized and control-character input with 400 before calling Amplitude", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, path, workspaceId } = yield* setup
        yield* emulator.resetInspection
        const bodies = [
          { ...usKeys, apiKey: "" },
          { ...usKeys, apiKey: "   " },
          { ...usKeys, secretKey: "s".repeat(257) },
          { ...usKeys, apiKey: `${US.apiKey}\u0007` },
          { ...usKeys, region: "apac" },
          { region: "us", apiKey: US.apiKey },
          { ...usKeys, displayName: "x".repeat(121) }
        ]
        for (const body of bodies) {
          const answer = yield* call("PUT", path, { user: admin, body })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          assert.notInclude(answer.text, US.secretKey)
          assert.notInclude(answer.text, US.apiKey)
        }
        assert.deepStrictEqual(yield* emulator.requests(), [])
        assert.isUndefined(yield* integrationRow(workspaceId))
        assert.deepStrictEqual(yield* auditActions(workspaceId, admin), [])
      }))

    it.effect("keeps the working connection when a re-key fails, and swaps keys when it succeeds", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        const first = yield* call("PUT", path, { user: admin, body: usKeys })
        const rowBefore = yield* integrationRow(workspaceId)

        const failed = yield* call("PUT", path, {
          user: admin,
          body: { ...usKeys, secretKey: "wrong-secret-0000000000000000000" }
        })
        expectError(failed, 422, "InvalidCredentials")
        assert.deepStrictEqual((yield* call("GET", path, { user: admin })).body, first.body)
        assert.deepStrictEqual(yield* integrationRow(workspaceId), rowBefore)

        const rekeyed = yield* call("PUT", path, {
          user: admin,
          body: { region: "us", apiKey: STARTER.apiKey, secretKey: STARTER.secretKey }
        })
        assert.strictEqual(rekeyed.status, 200)
        assert.strictEqual(rekeyed.body.apiKeyPrefix, `${STARTER.apiKey.slice(0, 4)}…`)
        assert.strictEqual(rekeyed.body.connectedAt, first.body.connectedAt)
        const rowAfter = yield* integrationRow(workspaceId)
        assert.notDeepEqual(rowAfter?.credential1, rowBefore?.credential1)
        assert.notStrictEqual(rowAfter?.projectFingerprint, rowBefore?.projectFingerprint)
        assert.deepStrictEqual(yield* auditActions(workspaceId, admin), [
          "amplitude.keys_replaced",
          "amplitude.connect_failed",
          "amplitude.connected"
        ])
      }))

    it.effect("saves a re-key, its audit entry and the mappings' review flags together, or none of them", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        yield* call("PUT", path, { user: admin, body: usKeys })
        const metrics = `/v1/workspaces/${workspaceId}/metrics`
        const metric = yield* call("POST", metrics, { user: admin, body: { name: "Searches", unit: "integer" } })
        const mapping = yield* call("PUT", `${metrics}/${metric.body.id}/amplitude-mapping`, {
          user: admin,
          body: { kind: "event", event: "Search", aggregation: "count" }
        })
        assert.isFalse(mapping.body.mapping.needsReview, mapping.text)
        const rowBefore = yield* integrationRow(workspaceId)
        const sql = yield* SqlClient.SqlClient
        const refuseRekeyAudit = sql`
          ALTER TABLE audit_log ADD CONSTRAINT refuse_rekey_audit CHECK (action <> 'amplitude.keys_replaced') NOT VALID`
        const allowRekeyAudit = sql`ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS refuse_rekey_audit`
        const rekey = { region: "us", apiKey: STARTER.apiKey, secretKey: STARTER.secretKey }
        const failed = yield* Effect.acquireUseRelease(
          refuseRekeyAudit,
          () => call("PUT", path, { user: admin, body: rekey }),
          () => Effect.orDie(allowRekeyAudit)
        ).pipe(Effect.orDie)
        assert.strictEqual(failed.status, 500, failed.text)
        assert.deepStrictEqual(yield* integrationRow(workspaceId), rowBefore, "the keys were not replaced")
        assert.notInclude(yield* auditActions(workspaceId, admin), "amplitude.keys_replaced")
        const listed = yield* call("GET", metrics, { user: admin })
        assert.isFalse(listed.body.metrics[0].amplitudeMapping.needsReview, "the mapping was not flagged")
      }))

    it.effect("disconnect destroys every credential slot, keeps the row, and repeating it is a no-op", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        yield* call("PUT", path, { user: admin, body: usKeys })
        yield* call("PUT", `${path}/management-key`, { user: admin, body: { managementKey: US.managementKeys[0] } })

        const disconnected = yield* call("DELETE", path, { user: admin })
        assert.strictEqual(disconnected.status, 200)
        assert.deepInclude(disconnected.body, {
          status: "disconnected",
          apiKeyPrefix: null,
          secretKeyPrefix: null,
          managementKeyPrefix: null,
          capabilities: { taxonomy: false, experiments: false }
        })
        assert.isString(disconnected.body.disconnectedAt)

        const row = yield* integrationRow(workspaceId)
        assert.strictEqual(row?.status, "disconnected")
        for (const column of ["credential1", "credential2", "credential3"]) {
          assert.isNull(row?.[column], column)
        }

        const again = yield* call("DELETE", path, { user: admin })
        assert.strictEqual(again.status, 200)
        assert.deepStrictEqual(again.body, disconnected.body)
        const actions = yield* auditActions(workspaceId, admin)
        assert.strictEqual(actions.filter((action) => action === "amplitude.disconnected").length, 1)

        const pickers = ["cohorts", "experiments", "events"]
        for (const picker of pickers) {
          const answer = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/${picker}`, { user: member })
          assert.strictEqual(answer.status, 200)
          assert.deepStrictEqual([answer.body.available, answer.body.reason], [false, "not_connected"])
        }
        const toggle = yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: false } })
        expectError(toggle, 409, "NotConnected")
      }))

    it.effect("reconnecting to the same project resumes settings; another project is told apart", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        yield* call("PUT", path, { user: admin, body: { ...usKeys, displayName: "Main" } })
        yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: false } })
        yield* call("DELETE", path, { user: admin })
        const fingerprint = (yield* integrationRow(workspaceId))?.projectFingerprint

        const same = yield* call("PUT", path, { user: admin, body: usKeys })
        assert.deepInclude(same.body, { status: "connected", displayName: "Main", annotationsEnabled: false })
        assert.strictEqual((yield* integrationRow(workspaceId))?.projectFingerprint, fingerprint)

        yield* call("DELETE", path, { user: admin })
        const other = yield* call("PUT", path, {
          user: admin,
          body: { region: "us", apiKey: STARTER.apiKey, secretKey: STARTER.secretKey }
        })
        assert.strictEqual(other.body.displayName, `Amplitude project ${STARTER.data.appId}`)
        assert.notStrictEqual((yield* integrationRow(workspaceId))?.projectFingerprint, fingerprint)
        const entries = yield* call("GET", `/v1/workspaces/${workspaceId}/audit-log`, { user: admin })
        const connects = (entries.body.entries as Array<{ action: string; details: { sameProject: unknown } }>)
          .filter((entry) => entry.action === "amplitude.connected")
          .map((entry) => entry.details.sameProject)
        assert.deepStrictEqual(connects, [false, true, null])
      }))

    it.effect("toggles annotation push and audits it", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        const notYet = yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: false } })
        expectError(notYet, 409, "NotConnected")
        yield* call("PUT", path, { user: admin, body: usKeys })
        const off = yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: false } })
        assert.strictEqual(off.body.annotationsEnabled, false)
        const bad = yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: "no" } })
        assert.strictEqual(bad.status, 400)
        assert.include(yield* auditActions(workspaceId, admin), "amplitude.annotations_toggled")
      }))

    it.effect("a member's view follows every change: at once through this API; made elsewhere, once the feed announces it", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        assert.strictEqual((yield* call("GET", path, { user: member })).body.status, "not_connected")
        yield* call("PUT", path, { user: admin, body: usKeys })
        assert.strictEqual((yield* call("GET", path, { user: member })).body.status, "connected")
        yield* call("PATCH", path, { user: admin, body: { annotationsEnabled: false } })
        assert.strictEqual((yield* call("GET", path, { user: member })).body.annotationsEnabled, false)

        const sql = yield* SqlClient.SqlClient
        const displayName = call("GET", path, { user: member }).pipe(Effect.map((answer) => answer.body.displayName))
        /** A change the database does not announce: its triggers are off for this transaction. */
        const unannounced = (name: string) =>
          sql.withTransaction(Effect.zipRight(
            sql`SET LOCAL session_replication_role = replica`,
            sql`UPDATE integrations SET display_name = ${name} WHERE workspace_id = ${workspaceId}`
          )).pipe(Effect.orDie)
        let changes = 0
        if (onPostgres) {
          // Once the feed is heard, the view is answered from the cache: an unannounced change stays unseen.
          const cached = yield* eventually(
            Effect.gen(function*() {
              const before = yield* displayName
              yield* unannounced(`Unannounced ${++changes}`)
              return { before, after: yield* displayName }
            }).pipe(
              Effect.filterOrFail(({ after, before }) => after === before, ({ after }) => `read the database: ${after}`)
            ),
            "20 seconds"
          )
          const [stored] = yield* sql<{ displayName: string }>`
            SELECT display_name FROM integrations WHERE workspace_id = ${workspaceId}`.pipe(Effect.orDie)
          assert.strictEqual(stored!.displayName, `Unannounced ${changes}`)
          assert.notStrictEqual(cached.after, stored!.displayName)
        } else {
          // The embedded database has no feed: every request reads it.
          yield* unannounced("Unannounced")
          assert.strictEqual(yield* displayName, "Unannounced")
        }
        // An announced change drops the cached view well within its 60 s time-to-live.
        yield* sql`UPDATE integrations SET display_name = 'Renamed elsewhere' WHERE workspace_id = ${workspaceId}`.pipe(
          Effect.orDie
        )
        yield* eventually(
          displayName.pipe(Effect.filterOrFail((name) => name === "Renamed elsewhere")),
          "20 seconds"
        )

        yield* call("DELETE", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin })
        expectError(yield* call("GET", path, { user: member }), 404, "NotFound")
      }))

    it.effect("validates the management key on the region's Experiment host before storing it", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        const keyPath = `${path}/management-key`
        expectError(
          yield* call("PUT", keyPath, { user: admin, body: { managementKey: US.managementKeys[0] } }),
          409,
          "NotConnected"
        )
        yield* call("PUT", path, { user: admin, body: usKeys })
        const noPicker = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/experiments`, { user: member })
        assert.deepStrictEqual([noPicker.body.available, noPicker.body.reason], [false, "no_management_key"])

        const invalid = yield* call("PUT", keyPath, { user: admin, body: { managementKey: "ampex_not-a-real-key" } })
        expectError(invalid, 422, "InvalidCredentials")
        const noAccess = yield* call("PUT", keyPath, {
          user: admin,
          body: { managementKey: STARTER.managementKeys[0].key }
        })
        expectError(noAccess, 422, "NoExperimentAccess")
        const euKey = yield* call("PUT", keyPath, { user: admin, body: { managementKey: EU.managementKeys[0] } })
        assert.strictEqual(euKey.status, 422)

        const set = yield* call("PUT", keyPath, { user: admin, body: { managementKey: US.managementKeys[0] } })
        assert.strictEqual(set.status, 200, set.text)
        assert.strictEqual(set.body.managementKeyPrefix, `${US.managementKeys[0].slice(0, 4)}…`)
        assert.strictEqual(set.body.capabilities.experiments, true)
        const picker = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/experiments`, { user: member })
        assert.strictEqual(picker.body.available, true)
        assert.isAbove(picker.body.experiments.length, 1000)

        const removed = yield* call("DELETE", keyPath, { user: admin })
        assert.deepInclude(removed.body, {
          managementKeyPrefix: null,
          capabilities: { taxonomy: true, experiments: false }
        })
        assert.isNull((yield* integrationRow(workspaceId))?.credential3)
      }))

    it.effect("feeds the cohort and event pickers, and degrades to available: false when Amplitude is down", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, member, path, workspaceId } = yield* setup
        yield* call("PUT", path, { user: admin, body: usKeys })
        yield* emulator.injectFault({
          project: US.id,
          endpoint: "/api/3/cohorts",
          kind: "status",
          status: 503,
          times: 5
        })
        const down = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/cohorts`, { user: member })
        assert.strictEqual(down.status, 200)
        assert.strictEqual(down.body.available, false)
        assert.isString(down.body.reason)
        assert.deepStrictEqual(down.body.cohorts, [])
        yield* emulator.clearFaults

        const cohorts = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/cohorts`, { user: member })
        assert.strictEqual(cohorts.body.available, true, "an unavailable answer is not shared")
        const seeded = (yield* emulator.project(US.id)).data.cohorts
        assert.strictEqual(cohorts.body.cohorts.length, seeded.length)
        const events = yield* call("GET", `/v1/workspaces/${workspaceId}/amplitude/events`, { user: member })
        assert.strictEqual(events.body.available, true)
        assert.isAbove(events.body.events.length, 0)
      }))

    it.effect("enforces the role matrix on every connection endpoint", () =>
      Effect.gen(function*() {
        const { member, outsider, path, workspaceId } = yield* setup
        const adminOnly = [
          ["PUT", path, usKeys],
          ["PATCH", path, { annotationsEnabled: true }],
          ["DELETE", path, undefined],
          ["PUT", `${path}/management-key`, { managementKey: "ampex_x" }],
          ["DELETE", `${path}/management-key`, undefined],
          ["GET", `/v1/workspaces/${workspaceId}/audit-log`, undefined]
        ] as const
        const memberReads = [
          ["GET", path, undefined],
          ["GET", `/v1/workspaces/${workspaceId}/amplitude/cohorts`, undefined],
          ["GET", `/v1/workspaces/${workspaceId}/amplitude/experiments`, undefined],
          ["GET", `/v1/workspaces/${workspaceId}/amplitude/events`, undefined]
        ] as const
        for (const [method, target, body] of [...adminOnly, ...memberReads]) {
          expectError(yield* call(method, target, { user: null, body }), 401, "Unauthorized")
          expectError(yield* call(method, target, { user: outsider, body }), 404, "NotFound")
        }
        for (const [method, target, body] of adminOnly) {
          expectError(yield* call(method, target, { user: member, body }), 403, "Forbidden")
        }
        for (const [method, target] of memberReads) {
          assert.strictEqual((yield* call(method, target, { user: member })).status, 200, `${method} ${target}`)
        }
        assert.isUndefined(yield* integrationRow(workspaceId))
      }))
  })
})
