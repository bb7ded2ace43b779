import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import type { WorkspaceId } from "@findry/domain"
import { Effect, Either, Redacted } from "effect"
import {
  amplitudeKeys,
  type Answered,
  answered,
  clientAs,
  expectFailure,
  expectSuccess,
  putMapping,
  workspaceWithMember
} from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const onPostgres = process.env.TEST_DATABASE_URL !== undefined
const EU = DEMO_PROJECTS.eu
const STARTER = DEMO_PROJECTS.starter

const usKeys = amplitudeKeys(US)
const wrongSecret = Redacted.make("wrong-secret-0000000000000000000")
const managementKey = (key: string) => ({ managementKey: Redacted.make(key) })

/** A workspace with an admin and a member, not yet connected, and the typed client of each and of an outsider. */
const setup = Effect.gen(function*() {
  const { admin, adminId, member, memberId, path, workspaceId } = yield* workspaceWithMember
  const outsider = yield* clientAs(freshUser("outsider"))
  return { admin, adminId, member, memberId, outsider, workspaceId, path }
}).pipe(Effect.orDie)

type Client = Effect.Effect.Success<ReturnType<typeof clientAs>>

const auditActions = (admin: Client, workspaceId: WorkspaceId) =>
  admin.audit.list({ path: { workspaceId }, urlParams: { limit: 200 } }).pipe(
    Effect.map((page) => page.entries.map((entry) => entry.action).filter((action) => action.startsWith("amplitude.")))
  )

const integrationRow = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<Record<string, unknown>>`SELECT * FROM integrations WHERE workspace_id = ${workspaceId}`
    return rows[0]
  }).pipe(Effect.orDie)

/** Asserts the typed call failed with the contract's `tag` at `status`, with a message; yields the error. */
const expectError = <A, E extends { readonly _tag: string }, R, T extends E["_tag"]>(
  typedCall: Effect.Effect<A, E, R>,
  status: number,
  tag: T
) => Effect.map(answered(typedCall), (answer: Answered<A, E>) => expectFailure(answer, tag, status))

describe("the Amplitude connection", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("connects with valid keys, shows only prefixes and defaults annotation push ON", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        const before = yield* member.amplitudeConnection.get({ path })
        assert.strictEqual(before.status, "not_connected")

        const answer = yield* answered(admin.amplitudeConnection.connect({
          path,
          payload: { ...usKeys, apiKey: Redacted.make(`  ${US.apiKey}\n`) }
        }))
        const connected = expectSuccess(answer, 200)
        assert.deepInclude(connected, {
          status: "connected",
          region: "us",
          displayName: `Amplitude project ${US.data.appId}`,
          apiKeyPrefix: `${US.apiKey.slice(0, 4)}…`,
          secretKeyPrefix: `${US.secretKey.slice(0, 4)}…`,
          managementKeyPrefix: null,
          annotationsEnabled: true,
          disconnectedAt: null
        })
        assert.deepStrictEqual({ ...connected.capabilities }, { taxonomy: true, experiments: false })
        assert.instanceOf(connected.connectedAt, Date)
        assert.instanceOf(connected.lastValidatedAt, Date)
        assert.notInclude(answer.text, US.apiKey)
        assert.notInclude(answer.text, US.secretKey)

        const read = yield* member.amplitudeConnection.get({ path })
        assert.deepStrictEqual(read, connected)
        const row = yield* integrationRow(workspaceId)
        assert.instanceOf(row?.credential1, Uint8Array)
        assert.notInclude(Buffer.from(row?.credential1 as Uint8Array).toString("latin1"), US.apiKey)
        assert.deepStrictEqual(yield* auditActions(admin, workspaceId), ["amplitude.connected"])
      }))

    it.effect("uses the admin's display name, and says when the project has no Taxonomy API", () =>
      Effect.gen(function*() {
        const { adminId, workspaceId } = yield* setup
        // No region and an untrimmed name, which the typed client would not send: raw.
        const connected = yield* call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
          user: adminId,
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
        const connect = admin.amplitudeConnection.connect
        const usOnEu = yield* expectError(connect({ path, payload: { ...usKeys, region: "eu" } }), 422, "WrongRegion")
        assert.strictEqual(usOnEu.detectedRegion, "us")
        assert.include(usOnEu.message, "Wrong region: these keys belong to Amplitude US Cloud")

        const euOnUs = yield* expectError(connect({ path, payload: amplitudeKeys(EU, "us") }), 422, "WrongRegion")
        assert.strictEqual(euOnUs.detectedRegion, "eu")
        assert.include(euOnUs.message, "Amplitude EU Cloud")

        assert.isUndefined(yield* integrationRow(workspaceId))
        assert.deepStrictEqual(yield* auditActions(admin, workspaceId), [
          "amplitude.connect_failed",
          "amplitude.connect_failed"
        ])
      }))

    it.effect("rejects bad keys with InvalidCredentials and the four checks", () =>
      Effect.gen(function*() {
        const { admin, path } = yield* setup
        for (const region of ["us", "eu"] as const) {
          const rejected = yield* expectError(
            admin.amplitudeConnection.connect({ path, payload: { ...usKeys, region, secretKey: wrongSecret } }),
            422,
            "InvalidCredentials"
          )
          assert.include(rejected.message, "Amplitude rejected the API key")
          for (const check of ["copied correctly", "same Amplitude project", "archived", "regenerated"]) {
            assert.include(rejected.message, check)
          }
        }
      }))

    it.effect("maps Amplitude trouble to Unreachable, RateLimited and AmplitudeUnavailable", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, path, workspaceId } = yield* setup
        const taxonomy = { project: US.id, endpoint: "/api/2/taxonomy/category" }

        const connect = answered(admin.amplitudeConnection.connect({ path, payload: usKeys }))

        yield* emulator.injectFault({ ...taxonomy, kind: "hang" })
        const hang = expectFailure(yield* connect, "Unreachable", 502)
        assert.include(hang.message, "Couldn't reach Amplitude: network timeout")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 429 })
        const limitedAnswer = yield* connect
        const limited = expectFailure(limitedAnswer, "RateLimited", 429)
        assert.strictEqual(limited.retryAfterSeconds, 60)
        assert.strictEqual(limitedAnswer.headers["retry-after"], "60")
        assert.include(limited.message, "Amplitude rate-limited the validation call (429). Wait 60 seconds")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 429, retryAfterSeconds: 17 })
        const limitedWithHeader = yield* connect
        assert.strictEqual(expectFailure(limitedWithHeader, "RateLimited", 429).retryAfterSeconds, 17)
        assert.strictEqual(limitedWithHeader.headers["retry-after"], "17")

        yield* emulator.injectFault({ ...taxonomy, kind: "status", status: 503, times: 10 })
        const down = expectFailure(yield* connect, "AmplitudeUnavailable", 502)
        assert.strictEqual(down.status, 503)
        yield* emulator.clearFaults

        assert.isUndefined(yield* integrationRow(workspaceId))
      }))

    it.effect("lets at most five validation attempts a minute through, then answers 429 with Retry-After", () =>
      Effect.gen(function*() {
        const { admin, path } = yield* setup
        const wrong = { ...usKeys, secretKey: wrongSecret }
        for (let attempt = 0; attempt < 5; attempt++) {
          yield* expectError(admin.amplitudeConnection.connect({ path, payload: wrong }), 422, "InvalidCredentials")
        }
        const throttled = yield* answered(admin.amplitudeConnection.connect({ path, payload: usKeys }))
        expectFailure(throttled, "RateLimited", 429)
        assert.isAbove(Number(throttled.headers["retry-after"]), 0)
        assert.isAtMost(Number(throttled.headers["retry-after"]), 60)
      }))

    it.effect("rejects empty, oversized and control-character input with 400 before calling Amplitude", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, adminId, workspaceId } = yield* setup
        yield* emulator.resetInspection
        const usKeys = { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }
        // Input outside the contract, which the typed client would refuse to send: raw.
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
          const answer = yield* call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
            user: adminId,
            body
          })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          assert.notInclude(answer.text, US.secretKey)
          assert.notInclude(answer.text, US.apiKey)
        }
        assert.deepStrictEqual(yield* emulator.requests(), [])
        assert.isUndefined(yield* integrationRow(workspaceId))
        assert.deepStrictEqual(yield* auditActions(admin, workspaceId), [])
      }))

    it.effect("keeps the working connection when a re-key fails, and swaps keys when it succeeds", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        const first = yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        const rowBefore = yield* integrationRow(workspaceId)

        yield* expectError(
          admin.amplitudeConnection.connect({ path, payload: { ...usKeys, secretKey: wrongSecret } }),
          422,
          "InvalidCredentials"
        )
        assert.deepStrictEqual(yield* admin.amplitudeConnection.get({ path }), first)
        assert.deepStrictEqual(yield* integrationRow(workspaceId), rowBefore)

        const rekeyed = yield* admin.amplitudeConnection.connect({ path, payload: amplitudeKeys(STARTER) })
        assert.strictEqual(rekeyed.apiKeyPrefix, `${STARTER.apiKey.slice(0, 4)}…`)
        assert.deepStrictEqual(rekeyed.connectedAt, first.connectedAt)
        const rowAfter = yield* integrationRow(workspaceId)
        assert.notDeepEqual(rowAfter?.credential1, rowBefore?.credential1)
        assert.notStrictEqual(rowAfter?.projectFingerprint, rowBefore?.projectFingerprint)
        assert.deepStrictEqual(yield* auditActions(admin, workspaceId), [
          "amplitude.keys_replaced",
          "amplitude.connect_failed",
          "amplitude.connected"
        ])
      }))

    it.effect("saves a re-key, its audit entry and the mappings' review flags together, or none of them", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        const metric = yield* admin.metrics.create({ path, payload: { name: "Searches", unit: "integer" } })
        const mapping = yield* putMapping(admin, {
          path: { workspaceId, metricId: metric.id },
          payload: { kind: "event", event: "Search", aggregation: "count" }
        })
        assert.isFalse(mapping.mapping.needsReview, JSON.stringify(mapping))
        const rowBefore = yield* integrationRow(workspaceId)
        const sql = yield* SqlClient.SqlClient
        const refuseRekeyAudit = sql`
          ALTER TABLE audit_log ADD CONSTRAINT refuse_rekey_audit CHECK (action <> 'amplitude.keys_replaced') NOT VALID`
        const allowRekeyAudit = sql`ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS refuse_rekey_audit`
        const failed = yield* Effect.acquireUseRelease(
          refuseRekeyAudit,
          () => answered(admin.amplitudeConnection.connect({ path, payload: amplitudeKeys(STARTER) })),
          () => Effect.orDie(allowRekeyAudit)
        ).pipe(Effect.orDie)
        expectFailure(failed, "InternalError", 500)
        assert.deepStrictEqual(yield* integrationRow(workspaceId), rowBefore, "the keys were not replaced")
        assert.notInclude(yield* auditActions(admin, workspaceId), "amplitude.keys_replaced")
        const listed = yield* admin.metrics.list({ path })
        assert.isFalse(listed.metrics[0]!.amplitudeMapping!.needsReview, "the mapping was not flagged")
      }))

    it.effect("disconnect destroys every credential slot, keeps the row, and repeating it is a no-op", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        yield* admin.amplitudeConnection.setManagementKey({ path, payload: managementKey(US.managementKeys[0]!) })

        const disconnected = yield* admin.amplitudeConnection.disconnect({ path })
        assert.deepInclude(disconnected, {
          status: "disconnected",
          apiKeyPrefix: null,
          secretKeyPrefix: null,
          managementKeyPrefix: null
        })
        assert.deepStrictEqual({ ...disconnected.capabilities }, { taxonomy: false, experiments: false })
        assert.instanceOf(disconnected.disconnectedAt, Date)

        const row = yield* integrationRow(workspaceId)
        assert.strictEqual(row?.status, "disconnected")
        for (const column of ["credential1", "credential2", "credential3"]) {
          assert.isNull(row?.[column], column)
        }

        const again = yield* admin.amplitudeConnection.disconnect({ path })
        assert.deepStrictEqual(again, disconnected)
        const actions = yield* auditActions(admin, workspaceId)
        assert.strictEqual(actions.filter((action) => action === "amplitude.disconnected").length, 1)

        const pickers = [
          member.amplitudeConnection.cohorts({ path }),
          member.amplitudeConnection.experiments({ path, urlParams: {} }),
          member.amplitudeConnection.events({ path })
        ]
        for (const picker of pickers) {
          const answer = yield* picker
          assert.deepStrictEqual([answer.available, answer.reason], [false, "not_connected"])
        }
        yield* expectError(
          admin.amplitudeConnection.update({ path, payload: { annotationsEnabled: false } }),
          409,
          "NotConnected"
        )
      }))

    it.effect("reconnecting to the same project resumes settings; another project is told apart", () =>
      Effect.gen(function*() {
        const { admin, path, workspaceId } = yield* setup
        const connection = admin.amplitudeConnection
        yield* connection.connect({ path, payload: { ...usKeys, displayName: "Main" } })
        yield* connection.update({ path, payload: { annotationsEnabled: false } })
        yield* connection.disconnect({ path })
        const fingerprint = (yield* integrationRow(workspaceId))?.projectFingerprint

        const same = yield* connection.connect({ path, payload: usKeys })
        assert.deepInclude(same, { status: "connected", displayName: "Main", annotationsEnabled: false })
        assert.strictEqual((yield* integrationRow(workspaceId))?.projectFingerprint, fingerprint)

        yield* connection.disconnect({ path })
        const other = yield* connection.connect({ path, payload: amplitudeKeys(STARTER) })
        assert.strictEqual(other.displayName, `Amplitude project ${STARTER.data.appId}`)
        assert.notStrictEqual((yield* integrationRow(workspaceId))?.projectFingerprint, fingerprint)
        const entries = yield* admin.audit.list({ path, urlParams: {} })
        const connects = entries.entries
          .filter((entry) => entry.action === "amplitude.connected")
          .map((entry) => entry.details.sameProject)
        assert.deepStrictEqual(connects, [false, true, null])
      }))

    it.effect("toggles annotation push and audits it", () =>
      Effect.gen(function*() {
        const { admin, adminId, path, workspaceId } = yield* setup
        const toggleOff = admin.amplitudeConnection.update({ path, payload: { annotationsEnabled: false } })
        yield* expectError(toggleOff, 409, "NotConnected")
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        const off = yield* toggleOff
        assert.strictEqual(off.annotationsEnabled, false)
        // Not a boolean, which the typed client cannot send: raw.
        const bad = yield* call("PATCH", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
          user: adminId,
          body: { annotationsEnabled: "no" }
        })
        assert.strictEqual(bad.status, 400)
        assert.include(yield* auditActions(admin, workspaceId), "amplitude.annotations_toggled")
      }))

    it.effect("a member's view follows every change: at once through this API; made elsewhere, once the feed announces it", () =>
      Effect.gen(function*() {
        const { admin, member, memberId, path, workspaceId } = yield* setup
        const view = member.amplitudeConnection.get({ path })
        assert.strictEqual((yield* view).status, "not_connected")
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        assert.strictEqual((yield* view).status, "connected")
        yield* admin.amplitudeConnection.update({ path, payload: { annotationsEnabled: false } })
        assert.strictEqual((yield* view).annotationsEnabled, false)

        const sql = yield* SqlClient.SqlClient
        const displayName = view.pipe(Effect.map((connection) => connection.displayName))
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

        yield* admin.workspaces.removeMember({ path: { workspaceId, userId: memberId } })
        yield* expectError(view, 404, "NotFound")
      }))

    it.effect("validates the management key on the region's Experiment host before storing it", () =>
      Effect.gen(function*() {
        const { admin, member, path, workspaceId } = yield* setup
        const setKey = (key: string) =>
          answered(admin.amplitudeConnection.setManagementKey({ path, payload: managementKey(key) }))
        expectFailure(yield* setKey(US.managementKeys[0]!), "NotConnected", 409)
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        const experiments = member.amplitudeConnection.experiments({ path, urlParams: {} })
        const noPicker = yield* experiments
        assert.deepStrictEqual([noPicker.available, noPicker.reason], [false, "no_management_key"])

        expectFailure(yield* setKey("ampex_not-a-real-key"), "InvalidCredentials", 422)
        expectFailure(yield* setKey(STARTER.managementKeys[0].key), "NoExperimentAccess", 422)
        const euKey = yield* setKey(EU.managementKeys[0]!)
        assert.strictEqual(euKey.status, 422, euKey.text)
        assert.isTrue(Either.isLeft(euKey.result), euKey.text)

        const set = expectSuccess(yield* setKey(US.managementKeys[0]!), 200)
        assert.strictEqual(set.managementKeyPrefix, `${US.managementKeys[0]!.slice(0, 4)}…`)
        assert.strictEqual(set.capabilities.experiments, true)
        const picker = yield* experiments
        assert.strictEqual(picker.available, true)
        assert.isAbove(picker.experiments.length, 1000)

        const removed = yield* admin.amplitudeConnection.removeManagementKey({ path })
        assert.strictEqual(removed.managementKeyPrefix, null)
        assert.deepStrictEqual({ ...removed.capabilities }, { taxonomy: true, experiments: false })
        assert.isNull((yield* integrationRow(workspaceId))?.credential3)
      }))

    it.effect("feeds the cohort and event pickers, and degrades to available: false when Amplitude is down", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const { admin, member, path } = yield* setup
        yield* admin.amplitudeConnection.connect({ path, payload: usKeys })
        yield* emulator.injectFault({
          project: US.id,
          endpoint: "/api/3/cohorts",
          kind: "status",
          status: 503,
          times: 5
        })
        const down = yield* member.amplitudeConnection.cohorts({ path })
        assert.strictEqual(down.available, false)
        assert.isString(down.reason)
        assert.deepStrictEqual(down.cohorts, [])
        yield* emulator.clearFaults

        const cohorts = yield* member.amplitudeConnection.cohorts({ path })
        assert.strictEqual(cohorts.available, true, "an unavailable answer is not shared")
        const seeded = (yield* emulator.project(US.id)).data.cohorts
        assert.strictEqual(cohorts.cohorts.length, seeded.length)
        const events = yield* member.amplitudeConnection.events({ path })
        assert.strictEqual(events.available, true)
        assert.isAbove(events.events.length, 0)
      }))

    it.effect("enforces the role matrix on every connection endpoint", () =>
      Effect.gen(function*() {
        const { member, outsider, path, workspaceId } = yield* setup
        const anonymous = yield* clientAs(null)
        /** Each endpoint as a call by a given client, named for the failure message. */
        type Endpoint = readonly [string, (client: Client) => Effect.Effect<unknown, { readonly _tag: string }>]
        const adminOnly: ReadonlyArray<Endpoint> = [
          ["connect", (client) => client.amplitudeConnection.connect({ path, payload: usKeys })],
          ["update", (client) => client.amplitudeConnection.update({ path, payload: { annotationsEnabled: true } })],
          ["disconnect", (client) => client.amplitudeConnection.disconnect({ path })],
          [
            "setManagementKey",
            (client) => client.amplitudeConnection.setManagementKey({ path, payload: managementKey("ampex_x") })
          ],
          ["removeManagementKey", (client) => client.amplitudeConnection.removeManagementKey({ path })],
          ["audit", (client) => client.audit.list({ path, urlParams: {} })]
        ]
        const memberReads: ReadonlyArray<Endpoint> = [
          ["get", (client) => client.amplitudeConnection.get({ path })],
          ["cohorts", (client) => client.amplitudeConnection.cohorts({ path })],
          ["experiments", (client) => client.amplitudeConnection.experiments({ path, urlParams: {} })],
          ["events", (client) => client.amplitudeConnection.events({ path })]
        ]
        for (const [name, endpoint] of [...adminOnly, ...memberReads]) {
          expectFailure(yield* answered(endpoint(anonymous)), "Unauthorized", 401, name)
          expectFailure(yield* answered(endpoint(outsider)), "NotFound", 404, name)
        }
        for (const [name, endpoint] of adminOnly) {
          expectFailure(yield* answered(endpoint(member)), "Forbidden", 403, name)
        }
        for (const [name, endpoint] of memberReads) {
          expectSuccess(yield* answered(endpoint(member)), 200, name)
        }
        assert.isUndefined(yield* integrationRow(workspaceId))
      }))
  })
})
