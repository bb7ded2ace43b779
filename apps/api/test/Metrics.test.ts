import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS, projectData } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { type Answer, call, workspaceOf } from "./support/Http.js"
import { ApiTestLive, freshUser } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us
const US_DATA = projectData(US)
const PURCHASERS = US_DATA.cohorts.find((cohort) => cohort.name === "Purchasers")!.id
const DAILY_BUYERS = US_DATA.charts.find((chart) => chart.name === "Daily buyers")!.id
const EU = DEMO_PROJECTS.eu

const expectError = (answer: Answer, status: number, tag: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.body._tag, tag, answer.text)
  assert.isString(answer.body.message)
}

const setup = Effect.gen(function*() {
  const admin = freshUser("admin")
  const member = freshUser("member")
  const workspaceId = yield* workspaceOf(admin)
  yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin, body: { role: "member" } })
  const metrics = `/v1/workspaces/${workspaceId}/metrics`
  const connect = (keys: { region: string; apiKey: string; secretKey: string }) =>
    call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, { user: admin, body: keys }).pipe(
      Effect.tap((answer) => assert.strictEqual(answer.status, 200, answer.text))
    )
  const metric = (name: string, unit = "integer") =>
    call("POST", metrics, { user: member, body: { name, unit } }).pipe(
      Effect.tap((answer) => assert.strictEqual(answer.status, 201, answer.text)),
      Effect.map((answer) => answer.body.id as string)
    )
  return { admin, member, workspaceId, metrics, connect, metric }
})

const usKeys = { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }
const euKeys = { region: "eu", apiKey: EU.apiKey, secretKey: EU.secretKey }

describe("metrics and Amplitude mappings", () => {
  layer(ApiTestLive(), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("creates, lists and edits metrics; names are unique per workspace ignoring case", () =>
      Effect.gen(function*() {
        const { member, metrics, workspaceId } = yield* setup
        const created = yield* call("POST", metrics, {
          user: member,
          body: { name: "  Weekly buyers ", unit: "integer", description: "Users who bought" }
        })
        assert.strictEqual(created.status, 201, created.text)
        assert.deepInclude(created.body, { name: "Weekly buyers", unit: "integer", description: "Users who bought" })

        expectError(
          yield* call("POST", metrics, { user: member, body: { name: "WEEKLY BUYERS", unit: "decimal" } }),
          409,
          "MetricNameTaken"
        )
        const other = yield* call("POST", metrics, { user: member, body: { name: "Conversion", unit: "percent" } })
        assert.strictEqual(other.status, 201)
        assert.isNull(other.body.description)

        for (
          const body of [
            { name: "x".repeat(81), unit: "integer" },
            { name: "   ", unit: "integer" },
            { name: "Revenue", unit: "dollars" },
            { unit: "integer" }
          ]
        ) {
          const bad = yield* call("POST", metrics, { user: member, body })
          assert.strictEqual(bad.status, 400, bad.text)
        }
        assert.strictEqual(
          (yield* call("POST", metrics, { user: member, body: { name: "x".repeat(80), unit: "currency" } })).status,
          201
        )

        const renamed = yield* call("PATCH", `${metrics}/${other.body.id}`, {
          user: member,
          body: { name: "Checkout conversion", description: "Share of carts bought" }
        })
        assert.strictEqual(renamed.status, 200, renamed.text)
        assert.deepStrictEqual(renamed.body, {
          id: other.body.id,
          name: "Checkout conversion",
          unit: "percent",
          description: "Share of carts bought"
        })
        expectError(
          yield* call("PATCH", `${metrics}/${other.body.id}`, { user: member, body: { name: "weekly Buyers" } }),
          409,
          "MetricNameTaken"
        )
        expectError(
          yield* call("PATCH", `${metrics}/${randomUUID()}`, { user: member, body: { unit: "decimal" } }),
          404,
          "NotFound"
        )

        const listed = yield* call("GET", metrics, { user: member })
        assert.deepStrictEqual(
          listed.body.metrics.map((m: { name: string; amplitudeMapping: unknown }) => [m.name, m.amplitudeMapping]),
          [["Checkout conversion", null], ["Weekly buyers", null], ["x".repeat(80), null]]
        )
        expectError(yield* call("GET", metrics, { user: freshUser("outsider") }), 404, "NotFound")
        const elsewhere = yield* workspaceOf(freshUser("admin"))
        expectError(
          yield* call("GET", `/v1/workspaces/${elsewhere}/metrics/${other.body.id}/amplitude-mapping`, {
            user: member
          }),
          404,
          "NotFound"
        )
        assert.isString(workspaceId)
      }))

    it.effect("saves each mapping kind, keeps the id across edits and warns about unknown events", () =>
      Effect.gen(function*() {
        const { connect, member, metric, metrics } = yield* setup
        yield* connect(usKeys)
        const id = yield* metric("Revenue per buyer", "currency")
        const path = `${metrics}/${id}/amplitude-mapping`

        const first = yield* call("PUT", path, {
          user: member,
          body: {
            kind: "event",
            event: "Purchase",
            aggregation: "average_per_user",
            property: "revenue",
            filters: [{ property: "currency", value: "USD" }]
          }
        })
        assert.strictEqual(first.status, 200, first.text)
        assert.deepStrictEqual(first.body.warnings, [])
        assert.deepInclude(first.body.mapping, {
          metricId: id,
          kind: "event",
          event: "Purchase",
          aggregation: "average_per_user",
          property: "revenue",
          filters: [{ property: "currency", value: "USD" }],
          needsReview: false
        })
        const mappingId = first.body.mapping.id

        const kinds = [
          [{ kind: "chart", chartId: DAILY_BUYERS }, []],
          [{ kind: "funnel", events: ["View Item", "Checkout", "Purchase"], conversionWindowDays: 7 }, [
            "event not recognized: Checkout"
          ]],
          [{ kind: "cohort_size", cohortId: PURCHASERS }, []],
          [{ kind: "cohort_size", cohortId: "nope0000" }, ["cohort not found: nope0000"]],
          [{ kind: "template", template: "average_session_length" }, []],
          [{ kind: "event", event: "purchase", aggregation: "count" }, ["event not recognized: purchase"]],
          [{ kind: "event", event: "Debug Ping", aggregation: "uniques" }, ["event not recognized: Debug Ping"]]
        ] as const
        for (const [body, warnings] of kinds) {
          const saved = yield* call("PUT", path, { user: member, body })
          assert.strictEqual(saved.status, 200, saved.text)
          assert.deepStrictEqual(saved.body.warnings, warnings)
          assert.strictEqual(saved.body.mapping.id, mappingId)
          assert.deepInclude(saved.body.mapping, body)
          const read = yield* call("GET", path, { user: member })
          assert.deepStrictEqual(read.body, saved.body.mapping)
        }
        const listed = yield* call("GET", metrics, { user: member })
        assert.deepInclude(listed.body.metrics[0].amplitudeMapping, { id: mappingId, event: "Debug Ping" })

        assert.strictEqual((yield* call("DELETE", path, { user: member })).status, 204)
        expectError(yield* call("GET", path, { user: member }), 404, "NotFound")
        assert.strictEqual((yield* call("DELETE", path, { user: member })).status, 204)
        const again = yield* call("PUT", path, { user: member, body: { kind: "template", template: "new_users" } })
        assert.notStrictEqual(again.body.mapping.id, mappingId)
      }))

    it.effect("rejects invalid mapping parameters with 400 and changes nothing", () =>
      Effect.gen(function*() {
        const { member, metric, metrics } = yield* setup
        const id = yield* metric("Buyers")
        const path = `${metrics}/${id}/amplitude-mapping`
        const bad = [
          { kind: "event", event: "Purchase", aggregation: "sum" },
          { kind: "event", event: "Purchase", aggregation: "average" },
          { kind: "event", event: "Purchase", aggregation: "average_per_user" },
          { kind: "event", event: "Purchase", aggregation: "count", property: "price" },
          { kind: "event", event: "Purchase", aggregation: "median", property: "price" },
          { kind: "event", event: "", aggregation: "count" },
          { kind: "event", event: " Purchase", aggregation: "count" },
          { kind: "funnel", events: ["Purchase"], conversionWindowDays: 7 },
          { kind: "funnel", events: ["Search", "Purchase"], conversionWindowDays: 0 },
          { kind: "chart", chartId: "../../etc" },
          { kind: "template", template: "dau" },
          { kind: "cohort_size" },
          { kind: "unknown" }
        ]
        for (const body of bad) {
          const answer = yield* call("PUT", path, { user: member, body })
          assert.strictEqual(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`)
        }
        expectError(yield* call("GET", path, { user: member }), 404, "NotFound")
        expectError(
          yield* call("PUT", `${metrics}/${randomUUID()}/amplitude-mapping`, {
            user: member,
            body: { kind: "template", template: "new_users" }
          }),
          404,
          "NotFound"
        )
        const offline = yield* call("PUT", path, {
          user: member,
          body: { kind: "event", event: "Purchase", aggregation: "count" }
        })
        assert.deepStrictEqual(offline.body.warnings, ["Amplitude not connected: the mapping could not be checked"])
      }))

    it.effect("a reconnect to another project flags the mappings; the same project clears nothing; saving clears", () =>
      Effect.gen(function*() {
        const { connect, member, metric, metrics } = yield* setup
        yield* connect(usKeys)
        const a = yield* metric("Searches")
        const b = yield* metric("Shares")
        const save = (metricId: string, event: string) =>
          call("PUT", `${metrics}/${metricId}/amplitude-mapping`, {
            user: member,
            body: { kind: "event", event, aggregation: "count" }
          })
        yield* save(a, "Search")
        yield* save(b, "Share")
        const flags = call("GET", metrics, { user: member }).pipe(
          Effect.map((answer) =>
            answer.body.metrics.map((m: { amplitudeMapping: { needsReview: boolean } }) =>
              m.amplitudeMapping.needsReview
            )
          )
        )
        yield* connect(usKeys)
        assert.deepStrictEqual(yield* flags, [false, false])
        yield* connect(euKeys)
        assert.deepStrictEqual(yield* flags, [true, true])
        yield* connect(euKeys)
        assert.deepStrictEqual(yield* flags, [true, true])
        const saved = yield* save(a, "Search")
        assert.isFalse(saved.body.mapping.needsReview)
        assert.deepStrictEqual(yield* flags, [false, true])
      }))

    it.effect("Pull metrics: a 200 run computed from Amplitude, scoped to the bet's cohort", () =>
      Effect.gen(function*() {
        const { connect, member, metric, metrics, workspaceId } = yield* setup
        yield* connect(usKeys)
        const emulator = yield* AmplitudeEmulator
        const { data } = yield* emulator.project(US.id)
        const metricId = yield* metric("Purchases")
        yield* call("PUT", `${metrics}/${metricId}/amplitude-mapping`, {
          user: member,
          body: { kind: "event", event: "Purchase", aggregation: "count" }
        })
        const betId = yield* insertBet(workspaceId, metricId, { cohortId: PURCHASERS, shipDate: "2026-10-15" })
        const before = (yield* emulator.requests()).reduce((max, r) => Math.max(max, r.seq), 0)

        const pulled = yield* call("POST", `/v1/workspaces/${workspaceId}/bets/${betId}/outcome/pull`, { user: member })
        assert.strictEqual(pulled.status, 200, pulled.text)
        const cohort = new Set(data.cohorts.find((c) => c.id === PURCHASERS)!.userIds)
        const count = (start: string, end: string) =>
          data.events.find((e) => e.name === "Purchase")!.occurrences.filter((o) =>
            o.day >= start && o.day <= end && cohort.has(o.userId)
          ).length
        const baseline = count("2026-10-08", "2026-10-14")
        const observed = count("2026-10-15", "2026-10-21")
        assert.deepInclude(pulled.body, {
          baseline,
          observed,
          varianceAbs: observed - baseline,
          warnings: []
        })
        assert.closeTo(pulled.body.variancePct, ((observed - baseline) / baseline) * 100, 1e-9)
        const change = ((observed - baseline) / baseline) * 100
        assert.strictEqual(pulled.body.verdict, change <= 0 ? "miss" : change >= 10 ? "hit" : "inconclusive")
        const sent = (yield* emulator.requests({ project: US.id, endpoint: "events.segmentation" }))
          .filter((r) => r.seq > before)
          .map((r) => [r.query["m"], r.query["start"], r.query["end"], r.query["s"]])
          .sort((x, y) => String(x[1]).localeCompare(String(y[1])))
        const segment = JSON.stringify([{ prop: "userdata_cohort", op: "is", values: [PURCHASERS] }])
        assert.deepStrictEqual(sent, [
          ["totals", "20261008", "20261014", segment],
          ["totals", "20261015", "20261021", segment]
        ])
      }))

    it.effect("through the bets endpoints: the pulled run is the outcome's lastRun; the verdict is annotated", () =>
      Effect.gen(function*() {
        const { admin, connect, member, metric, metrics, workspaceId } = yield* setup
        yield* connect(usKeys)
        const metricId = yield* metric("Buyers")
        yield* call("PUT", `${metrics}/${metricId}/amplitude-mapping`, {
          user: member,
          body: { kind: "event", event: "Purchase", aggregation: "uniques" }
        })
        const project = yield* call("POST", `/v1/workspaces/${workspaceId}/projects`, {
          user: admin,
          body: { name: "Store" }
        })
        const bet = yield* call("POST", `/v1/workspaces/${workspaceId}/projects/${project.body.id}/bets`, {
          user: member,
          body: {
            title: "Faster checkout",
            predictedImpact: {
              metricId,
              direction: "increase",
              magnitude: 0.0001,
              magnitudeUnit: "absolute",
              timeframeDays: 7
            }
          }
        })
        assert.strictEqual(bet.status, 201, bet.text)
        const betPath = `/v1/workspaces/${workspaceId}/bets/${bet.body.id}`
        expectError(yield* call("POST", `${betPath}/outcome/pull`, { user: member }), 409, "OutcomeNotSet")
        const logged = yield* call("PUT", `${betPath}/outcome`, {
          user: member,
          body: { shipDate: "2026-10-15", whatShipped: "One-page checkout" }
        })
        assert.strictEqual(logged.status, 200, logged.text)
        assert.isNull(logged.body.lastRun)

        const pulled = yield* call("POST", `${betPath}/outcome/pull`, { user: member })
        assert.strictEqual(pulled.status, 200, pulled.text)
        const read = yield* call("GET", betPath, { user: member })
        assert.deepStrictEqual(read.body.outcome.lastRun, pulled.body)
        const verdict = pulled.body.varianceAbs > 0 ? "hit" : "miss"
        assert.strictEqual(pulled.body.verdict, verdict)
        assert.deepInclude(read.body.outcome, { verdict, verdictSource: "sweep", state: "closed" })
        const verdictLabel = (answer: Answer) =>
          answer.body.annotations.find((a: { kind: string }) => a.kind === "verdict")?.label
        assert.strictEqual(verdictLabel(read), `● Outcome ${verdict}: Faster checkout`)

        // A PM override wins over later measurements, and its label stays.
        const overridden = verdict === "hit" ? "inconclusive" : "hit"
        const override = yield* call("PUT", `${betPath}/outcome/verdict`, {
          user: member,
          body: { verdict: overridden }
        })
        assert.strictEqual(override.status, 200, override.text)
        const again = yield* call("POST", `${betPath}/outcome/pull`, { user: member })
        assert.strictEqual(again.body.verdict, verdict)
        const final = yield* call("GET", betPath, { user: member })
        assert.deepInclude(final.body.outcome, { verdict: overridden, verdictSource: "override" })
        assert.deepStrictEqual(final.body.outcome.lastRun, again.body)
        assert.strictEqual(verdictLabel(final), `● Outcome ${overridden}: Faster checkout`)
      }))

    it.effect("Pull metrics degrades to warnings: not connected, no mapping; no outcome is a 409", () =>
      Effect.gen(function*() {
        const { member, metric, metrics, workspaceId } = yield* setup
        const mapped = yield* metric("Mapped")
        yield* call("PUT", `${metrics}/${mapped}/amplitude-mapping`, {
          user: member,
          body: { kind: "template", template: "active_users" }
        })
        const unmapped = yield* metric("Unmapped")
        const pull = (betId: string) =>
          call("POST", `/v1/workspaces/${workspaceId}/bets/${betId}/outcome/pull`, { user: member })

        const offline = yield* pull(yield* insertBet(workspaceId, mapped, { shipDate: "2026-10-15" }))
        assert.strictEqual(offline.status, 200, offline.text)
        assert.deepInclude(offline.body, { baseline: null, observed: null, verdict: null })
        assert.deepStrictEqual(offline.body.warnings, ["Amplitude not connected"])

        const nothing = yield* pull(yield* insertBet(workspaceId, unmapped, { shipDate: "2026-10-15" }))
        assert.strictEqual(nothing.status, 200, nothing.text)
        assert.deepStrictEqual(nothing.body.warnings, [
          "no Amplitude mapping for metric \"Unmapped\": map the metric to measure it",
          "Amplitude not connected"
        ])

        expectError(yield* pull(yield* insertBet(workspaceId, mapped, { shipDate: null })), 409, "OutcomeNotSet")
        expectError(yield* pull(randomUUID()), 404, "NotFound")
        assert.strictEqual((yield* pull("not-a-uuid")).status, 400)
        expectError(
          yield* call("POST", `/v1/workspaces/${workspaceId}/bets/${randomUUID()}/outcome/pull`, {
            user: freshUser("outsider")
          }),
          404,
          "NotFound"
        )
      }))
  })
})

/** A bet (and its outcome when `shipDate` is set) written as the bets endpoints store them. */
const insertBet = (
  workspaceId: string,
  metricId: string,
  options: { readonly cohortId?: string; readonly shipDate: string | null }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const projectId = randomUUID()
    const betId = randomUUID()
    yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'App')`
    yield* sql`
      INSERT INTO bets (
        id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit, timeframe_days,
        cohort_id, promoted_at, created_by)
      VALUES (
        ${betId}, ${workspaceId}, ${projectId}, 'More purchases', 'promoted', ${metricId}, 'increase', 10, 'percent',
        7, ${options.cohortId ?? null}, now(), 'pm')`
    if (options.shipDate !== null) {
      yield* sql`
        INSERT INTO outcomes (bet_id, workspace_id, ship_date, what_shipped)
        VALUES (${betId}, ${workspaceId}, ${options.shipDate}::date, 'One-click checkout')`
    }
    return betId
  }).pipe(Effect.orDie)
