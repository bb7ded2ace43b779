import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type AnnotationView } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { Duration, Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { workspaceOf } from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { API_TEST_KEYS, ApiTestLive, freshUser } from "./support/TestApi.js"

let projects = 0

/** Amplitude keeps annotation times to the second. */
const toSecond = (iso: string) => Math.floor(Date.parse(iso) / 1000) * 1000

/** The test server's keyring, to seal a value as if an admin had saved it. */
const SealerLive = SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(testKeyring(API_TEST_KEYS)))

/** A workspace connected to its own emulator project, with a Findry project and a metric. */
const setup = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  const amplitude = yield* emulator.createProject({
    id: `annotations-${process.pid}-${++projects}`,
    data: { users: 5, days: 7, experiments: 0 }
  })
  const admin = freshUser("admin")
  const member = freshUser("member")
  const workspaceId = yield* workspaceOf(admin)
  yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, { user: admin, body: { role: "member" } })
  const connected = yield* call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
    user: admin,
    body: { region: "us", apiKey: amplitude.apiKey, secretKey: amplitude.secretKey }
  })
  assert.strictEqual(connected.status, 200, connected.text)
  const project = yield* call("POST", `/v1/workspaces/${workspaceId}/projects`, { user: admin, body: { name: "Web" } })
  const metricId = yield* insertMetric(workspaceId)
  return { admin, member, workspaceId, projectId: project.body.id as string, metricId, amplitude }
})

const insertMetric = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = randomUUID()
    yield* sql`INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${id}, ${workspaceId}, ${`m-${id}`}, 'percent')`
    return id
  }).pipe(Effect.orDie)

const impact = (metricId: string) => ({
  metricId,
  direction: "increase",
  magnitude: 5,
  magnitudeUnit: "percent",
  timeframeDays: 14
})

type Setup = Effect.Effect.Success<typeof setup>

/** Makes the stored keys ones Amplitude rejects (a secret regenerated in Amplitude), as the push reads them. */
const revokeStoredKeys = (s: Setup) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sealer = yield* SecretSealer
    const revoked = yield* sealer.seal(Redacted.make("regenerated-secret-000000000000000"), {
      workspaceId: s.workspaceId as any,
      provider: "amplitude",
      slot: 2
    })
    yield* sql`UPDATE integrations SET credential_2 = ${revoked.sealed} WHERE workspace_id = ${s.workspaceId}`
  }).pipe(Effect.provide(SealerLive), Effect.orDie)

const createBet = (s: Setup, title = "Faster checkout") =>
  call("POST", `/v1/workspaces/${s.workspaceId}/projects/${s.projectId}/bets`, {
    user: s.member,
    body: { title, predictedImpact: impact(s.metricId) }
  }).pipe(
    Effect.tap((answer) => assert.strictEqual(answer.status, 201, answer.text)),
    Effect.map((answer) => answer.body)
  )

const betPath = (s: Setup, betId: string) => `/v1/workspaces/${s.workspaceId}/bets/${betId}`
const retryPath = (s: Setup) => `/v1/workspaces/${s.workspaceId}/amplitude/annotations/retry`

/** Waits until the bet's annotations of `kinds` have all settled (not pending), and returns the bet. */
const settled = (
  s: Setup,
  betId: string,
  kinds: ReadonlyArray<string>,
  deadline: Duration.DurationInput = "20 seconds"
) =>
  eventually(
    call("GET", betPath(s, betId), { user: s.member }).pipe(
      Effect.filterOrFail(
        (answer) =>
          kinds.every((kind) =>
            (answer.body.annotations as Array<{ kind: string; status: string }>).some((a) =>
              a.kind === kind && a.status !== "pending"
            )
          ),
        (answer) => `not settled: ${answer.text}`
      ),
      Effect.map((answer) => answer.body)
    ),
    deadline
  )

const annotationOf = (bet: any, kind: string) =>
  (bet.annotations as Array<Record<string, any>>).find((annotation) => annotation.kind === kind)!

/** The emulator's annotations carrying the bet's marker for `kind`. */
const inAmplitude = (s: Setup, betId: string, kind: string) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const all = yield* emulator.annotations(s.amplitude.id)
    return all.filter((annotation: AnnotationView) => annotation.details?.startsWith(`findry:${betId}:${kind}\n`))
  }).pipe(Effect.orDie)

const exactlyOne = (s: Setup, betId: string, kind: string) =>
  Effect.gen(function*() {
    const found = yield* inAmplitude(s, betId, kind)
    assert.strictEqual(found.length, 1, `${kind}: ${JSON.stringify(found)}`)
    return found[0]!
  })

const testSettings = {
  maxAttempts: 6,
  baseBackoff: Duration.millis(100),
  maxBackoff: Duration.millis(600),
  reconcileDelay: Duration.millis(500)
}

describe("annotations: bet decisions become Amplitude chart annotations", () => {
  layer(ApiTestLive({ annotations: testSettings }), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("promoting a bet creates `▲ {title}` at the promotion time, in the Findry category, with marker and link", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const created = yield* createBet(s, "  Faster checkout  ")
        assert.strictEqual(created.title, "Faster checkout")
        assert.strictEqual(created.status, "promoted")
        assert.deepStrictEqual(created.annotations.map((a: any) => [a.kind, a.label]), [[
          "promoted",
          "▲ Faster checkout"
        ]])
        const bet = yield* settled(s, created.id, ["promoted"])
        const promoted = annotationOf(bet, "promoted")
        assert.strictEqual(promoted.status, "pushed", JSON.stringify(promoted))
        assert.isNumber(promoted.amplitudeAnnotationId)
        assert.isString(promoted.lastPushedAt)
        assert.notProperty(promoted, "reason")

        const annotation = yield* exactlyOne(s, created.id, "promoted")
        assert.strictEqual(annotation.id, promoted.amplitudeAnnotationId)
        assert.strictEqual(annotation.label, "▲ Faster checkout")
        assert.strictEqual(annotation.category, "Findry")
        assert.isNull(annotation.chartId)
        assert.strictEqual(Date.parse(annotation.start), toSecond(created.promotedAt))
        assert.strictEqual(
          annotation.details,
          `findry:${created.id}:promoted\nhttp://findry.test/workspaces/${s.workspaceId}/bets/${created.id}`
        )

        const activity = yield* call("GET", `/v1/workspaces/${s.workspaceId}/amplitude/annotations`, {
          user: s.member
        })
        assert.strictEqual(activity.status, 200)
        assert.deepStrictEqual(activity.body.annotations, [{ betId: created.id, ...promoted }])
      }))

    it.effect("ship, ship date, verdict and override: labels and times, one annotation per kind, updated in place", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const created = yield* createBet(s, "Onboarding v2")
        const shipped = yield* call("POST", `${betPath(s, created.id)}/ship`, {
          user: s.member,
          body: { shippedAt: "2026-11-02T10:30:00Z" }
        })
        assert.strictEqual(shipped.status, 200, shipped.text)
        assert.strictEqual(shipped.body.status, "shipped")
        let bet = yield* settled(s, created.id, ["promoted", "shipped"])
        const first = yield* exactlyOne(s, created.id, "shipped")
        assert.strictEqual(first.label, "▲ Shipped: Onboarding v2")
        assert.strictEqual(Date.parse(first.start), Date.parse("2026-11-02T10:30:00Z"))

        const outcome = yield* call("PUT", `${betPath(s, created.id)}/outcome`, {
          user: s.member,
          body: { shipDate: "2026-11-05", whatShipped: "New onboarding flow" }
        })
        assert.strictEqual(outcome.status, 200, outcome.text)
        assert.deepInclude(outcome.body, {
          shipDate: "2026-11-05",
          whatShipped: "New onboarding flow",
          verdict: null,
          verdictSource: null,
          lastRun: null
        })
        const moved = yield* eventually(
          exactlyOne(s, created.id, "shipped").pipe(
            Effect.filterOrFail((a) => Date.parse(a.start) === Date.parse("2026-11-05T00:00:00Z"), () => "not moved")
          )
        )
        assert.strictEqual(moved.id, first.id, "the ship date moves the same annotation (PUT)")

        const noOutcomeYet = yield* call(
          "PUT",
          `/v1/workspaces/${s.workspaceId}/bets/${randomUUID()}/outcome/verdict`,
          {
            user: s.member,
            body: { verdict: "hit" }
          }
        )
        assert.strictEqual(noOutcomeYet.status, 404)

        const verdict = yield* call("PUT", `${betPath(s, created.id)}/outcome/verdict`, {
          user: s.member,
          body: { verdict: "hit" }
        })
        assert.strictEqual(verdict.status, 200, verdict.text)
        assert.deepInclude(verdict.body, { verdict: "hit", verdictSource: "override" })
        bet = yield* settled(s, created.id, ["verdict"])
        const hit = yield* exactlyOne(s, created.id, "verdict")
        assert.strictEqual(hit.label, "● Outcome hit: Onboarding v2")
        assert.strictEqual(Date.parse(hit.start), toSecond(verdict.body.verdictAt))

        yield* call("PUT", `${betPath(s, created.id)}/outcome/verdict`, { user: s.member, body: { verdict: "miss" } })
        const miss = yield* eventually(
          exactlyOne(s, created.id, "verdict").pipe(
            Effect.filterOrFail((a) => a.label === "● Outcome miss: Onboarding v2", (a) => `still ${a.label}`)
          )
        )
        assert.strictEqual(miss.id, hit.id)
        bet = yield* settled(s, created.id, ["verdict"])
        assert.strictEqual(annotationOf(bet, "verdict").label, "● Outcome miss: Onboarding v2")
        yield* exactlyOne(s, created.id, "promoted")
        yield* exactlyOne(s, created.id, "shipped")
      }))

    it.effect("renaming a bet updates every existing annotation of it, never creating a second one", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const created = yield* createBet(s, "Old name")
        yield* call("PUT", `${betPath(s, created.id)}/outcome`, {
          user: s.member,
          body: { shipDate: "2026-10-01", whatShipped: "Thing" }
        })
        yield* call("PUT", `${betPath(s, created.id)}/outcome/verdict`, {
          user: s.member,
          body: { verdict: "inconclusive" }
        })
        yield* settled(s, created.id, ["promoted", "shipped", "verdict"])
        const before = yield* Effect.all([
          exactlyOne(s, created.id, "promoted"),
          exactlyOne(s, created.id, "shipped"),
          exactlyOne(s, created.id, "verdict")
        ])
        assert.strictEqual(before[2].label, "● Outcome inconclusive: Old name")

        const renamed = yield* call("PATCH", betPath(s, created.id), { user: s.member, body: { title: "New name" } })
        assert.strictEqual(renamed.status, 200, renamed.text)
        assert.strictEqual(renamed.body.title, "New name")
        const expected = ["▲ New name", "▲ Shipped: New name", "● Outcome inconclusive: New name"]
        const after = yield* eventually(
          Effect.all([
            exactlyOne(s, created.id, "promoted"),
            exactlyOne(s, created.id, "shipped"),
            exactlyOne(s, created.id, "verdict")
          ]).pipe(
            Effect.filterOrFail(
              (found) => found.every((annotation, i) => annotation.label === expected[i]),
              (found) => `labels ${found.map((a) => a.label)}`
            )
          )
        )
        assert.deepStrictEqual(after.map((a) => a.id), before.map((a) => a.id))
      }))

    it.effect("toggle OFF: new pushes end skipped with the reason, nothing is deleted, ON (or a retry) does not back-fill", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const path = `/v1/workspaces/${s.workspaceId}/integrations/amplitude`
        const pushed = yield* createBet(s, "Kept")
        yield* settled(s, pushed.id, ["promoted"])
        const off = yield* call("PATCH", path, { user: s.admin, body: { annotationsEnabled: false } })
        assert.strictEqual(off.body.annotationsEnabled, false)

        const later = yield* createBet(s, "While off")
        assert.deepInclude(annotationOf(later, "promoted"), {
          status: "skipped",
          reason: "Annotation push is turned off for this workspace",
          amplitudeAnnotationId: null
        })
        yield* call("PATCH", path, { user: s.admin, body: { annotationsEnabled: true } })
        // Neither the admin's retry nor saving the keys again pushes what was skipped while the push was off.
        const retried = yield* call("POST", retryPath(s), { user: s.admin })
        assert.strictEqual(retried.status, 200, retried.text)
        assert.deepStrictEqual(retried.body, { requeued: 0 })
        yield* rekeySame(s, s.amplitude)
        const stillSkipped = yield* call("GET", betPath(s, later.id), { user: s.member })
        assert.deepInclude(annotationOf(stillSkipped.body, "promoted"), {
          status: "skipped",
          reason: "Annotation push is turned off for this workspace"
        })
        assert.deepStrictEqual(yield* inAmplitude(s, later.id, "promoted"), [])
        yield* exactlyOne(s, pushed.id, "promoted")
      }))

    it.effect("disconnect: pushes are skipped with the reason, annotations already in Amplitude stay", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const before = yield* createBet(s, "Before disconnect")
        yield* settled(s, before.id, ["promoted"])
        const disconnected = yield* call("DELETE", `/v1/workspaces/${s.workspaceId}/integrations/amplitude`, {
          user: s.admin
        })
        assert.strictEqual(disconnected.status, 200)

        const after = yield* createBet(s, "After disconnect")
        assert.deepInclude(annotationOf(after, "promoted"), {
          status: "skipped",
          reason: "Amplitude is not connected"
        })
        const shipped = yield* call("POST", `${betPath(s, before.id)}/ship`, { user: s.member, body: {} })
        assert.strictEqual(shipped.status, 200)
        assert.strictEqual(annotationOf(shipped.body, "shipped").status, "skipped")
        yield* exactlyOne(s, before.id, "promoted")
      }))

    it.effect("429 storms and 5xx: the push backs off durably and ends with exactly one annotation", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        yield* emulator.injectFault({
          project: s.amplitude.id,
          endpoint: "annotations.*",
          kind: "status",
          status: 429,
          times: 3
        })
        yield* emulator.injectFault({
          project: s.amplitude.id,
          endpoint: "annotations.create",
          kind: "status",
          status: 503,
          times: 2
        })
        const created = yield* createBet(s, "Stormy")
        const bet = yield* settled(s, created.id, ["promoted"], "30 seconds")
        assert.strictEqual(annotationOf(bet, "promoted").status, "pushed")
        yield* exactlyOne(s, created.id, "promoted")
        const attempts = yield* emulator.requests({ project: s.amplitude.id })
        assert.isAtLeast(attempts.filter((r) => r.status === 429).length, 3)
        assert.strictEqual(attempts.filter((r) => r.status === 503).length, 2)
      }))

    it.effect("a create Amplitude stores but answers too late (delayAfterCreate) still ends with exactly one annotation", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        yield* emulator.injectFault({ project: s.amplitude.id, kind: "delayAfterCreate", ms: 2500 })
        const created = yield* createBet(s, "Slow answer")
        const bet = yield* settled(s, created.id, ["promoted"], "30 seconds")
        const promoted = annotationOf(bet, "promoted")
        assert.strictEqual(promoted.status, "pushed")
        const only = yield* exactlyOne(s, created.id, "promoted")
        assert.strictEqual(only.id, promoted.amplitudeAnnotationId)
        const creates = yield* emulator.requests({ project: s.amplitude.id, endpoint: "annotations.create" })
        assert.strictEqual(creates.length, 1, "the retry found the stored annotation instead of creating again")
      }))

    it.effect("a permanent failure (keys revoked) ends `failed` with the reason, and the connection health says so", () =>
      Effect.gen(function*() {
        const s = yield* setup
        yield* revokeStoredKeys(s)
        const created = yield* createBet(s, "Doomed")
        const bet = yield* settled(s, created.id, ["promoted"])
        const promoted = annotationOf(bet, "promoted")
        assert.strictEqual(promoted.status, "failed")
        assert.include(promoted.reason, "Amplitude rejected the stored keys")
        const view = yield* call("GET", `/v1/workspaces/${s.workspaceId}/integrations/amplitude`, { user: s.member })
        assert.strictEqual(view.body.annotationPush.status, "failing")
        assert.include(view.body.annotationPush.reason, "Amplitude rejected the stored keys")
        assert.isString(view.body.annotationPush.failedAt)
        assert.notInclude(view.text, "regenerated-secret")
      }))

    it.effect("/readyz fails `scheduler` while a due message waits longer than the stall threshold", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const ready = yield* call("GET", "/readyz", { user: null })
        assert.strictEqual(ready.status, 200, ready.text)
        assert.strictEqual(ready.body.checks.scheduler, "ok")
        // A message from ten minutes ago on a shard no runner serves: what a stalled cluster looks like.
        yield* sql`
          INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload,
                                        processed, request_id)
          SELECT id, 'stall-probe', 'stall-probe:1', 'Workflow/StallProbe', 'probe', 0, 'run', '{}', false, id
          FROM (SELECT (((extract(epoch FROM now()) * 1000)::bigint - 600000 - 1735689600000) << 22) AS id) probe`
        const stalled = yield* call("GET", "/readyz", { user: null })
        assert.strictEqual(stalled.status, 503, stalled.text)
        assert.deepStrictEqual(stalled.body.failing, ["scheduler"])
        yield* sql`DELETE FROM cluster_messages WHERE message_id = 'stall-probe'`
        assert.strictEqual((yield* call("GET", "/readyz", { user: null })).status, 200)
      }).pipe(Effect.orDie))

    it.effect("validates input (400), hides other workspaces' resources (404) and needs an outcome for a verdict (409)", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const other = yield* setup
        const path = `/v1/workspaces/${s.workspaceId}/projects/${s.projectId}/bets`
        const bad = [
          { title: "   ", predictedImpact: impact(s.metricId) },
          { title: "x".repeat(201), predictedImpact: impact(s.metricId) },
          { title: "ok", predictedImpact: { ...impact(s.metricId), magnitude: 0 } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), magnitude: -2 } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), timeframeDays: 0 } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), timeframeDays: 366 } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), timeframeDays: 1.5 } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), cohortId: "c".repeat(129) } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), direction: "sideways" } },
          { title: "ok", predictedImpact: { ...impact(s.metricId), metricId: "not-a-uuid" } }
        ]
        for (const body of bad) {
          const answer = yield* call("POST", path, { user: s.member, body })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
        }
        const foreignMetric = yield* call("POST", path, {
          user: s.member,
          body: { title: "ok", predictedImpact: impact(other.metricId) }
        })
        assert.strictEqual(foreignMetric.status, 404)
        assert.strictEqual(foreignMetric.body._tag, "NotFound")
        const foreignProject = yield* call("POST", `/v1/workspaces/${s.workspaceId}/projects/${other.projectId}/bets`, {
          user: s.member,
          body: { title: "ok", predictedImpact: impact(s.metricId) }
        })
        assert.strictEqual(foreignProject.status, 404)

        const bet = yield* createBet(s, "Valid")
        const outsider = yield* call("GET", betPath(s, bet.id), { user: other.member })
        assert.strictEqual(outsider.status, 404)
        const viaOtherWorkspace = yield* call("GET", betPath(other, bet.id), { user: other.member })
        assert.strictEqual(viaOtherWorkspace.status, 404)
        const noOutcome = yield* call("PUT", `${betPath(s, bet.id)}/outcome/verdict`, {
          user: s.member,
          body: { verdict: "hit" }
        })
        assert.strictEqual(noOutcome.status, 409)
        assert.strictEqual(noOutcome.body._tag, "OutcomeNotSet")
        const badDate = yield* call("PUT", `${betPath(s, bet.id)}/outcome`, {
          user: s.member,
          body: { shipDate: "2026-02-30", whatShipped: "x" }
        })
        assert.strictEqual(badDate.status, 400)
        const badVerdict = yield* call("PUT", `${betPath(s, bet.id)}/outcome/verdict`, {
          user: s.member,
          body: { verdict: "great" }
        })
        assert.strictEqual(badVerdict.status, 400)
      }))
  })
})

/** The bet's `promoted` annotations in every emulator project, by project id (those with none left out). */
const promotedEverywhere = (betId: string) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const counts: Record<string, number> = {}
    for (const project of yield* emulator.projects) {
      const all = yield* emulator.annotations(project.id)
      const ours = all.filter((annotation) => annotation.details?.startsWith(`findry:${betId}:promoted\n`))
      if (ours.length > 0) counts[project.id] = ours.length
    }
    return counts
  }).pipe(Effect.orDie)

type Interleaving = {
  /** Where the in-flight push is held: before its create is sent, or with the create at Amplitude. */
  readonly heldAt: "annotations.list" | "annotations.create"
  /** The admin's action, with a second emulator project to re-key to. */
  readonly act: (s: Setup, other: { apiKey: string; secretKey: string }) => Effect.Effect<void, never, any>
  /** Final status and reason of the in-flight and of the queued push, and where their annotations are. */
  readonly inFlight: { status: string; reason?: string; project: "connected" | "other" | "none" }
  readonly queued: { status: string; reason?: string; project: "connected" | "other" | "none" }
}

const integrationPath = (s: Setup) => `/v1/workspaces/${s.workspaceId}/integrations/amplitude`

const expectOk = (answer: { status: number; text: string }) => assert.strictEqual(answer.status, 200, answer.text)

const disconnect: Interleaving["act"] = (s) =>
  call("DELETE", integrationPath(s), { user: s.admin }).pipe(Effect.map(expectOk))
const toggleOff: Interleaving["act"] = (s) =>
  call("PATCH", integrationPath(s), { user: s.admin, body: { annotationsEnabled: false } }).pipe(Effect.map(expectOk))
const rekeySame: Interleaving["act"] = (s) =>
  call("PUT", integrationPath(s), {
    user: s.admin,
    body: { region: "us", apiKey: s.amplitude.apiKey, secretKey: s.amplitude.secretKey }
  }).pipe(Effect.map(expectOk))
const rekeyOther: Interleaving["act"] = (s, other) =>
  call("PUT", integrationPath(s), {
    user: s.admin,
    body: { region: "us", apiKey: other.apiKey, secretKey: other.secretKey }
  }).pipe(Effect.map(expectOk))

/**
 * One push is in flight (held by the emulator at `heldAt`), a second one queued behind it (one push at a time
 * per runner), when the admin acts; then Amplitude answers. Checks both records and every emulator project.
 */
const interleave = (case_: Interleaving) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const s = yield* setup
    const other = yield* emulator.createProject({
      id: `annotations-other-${process.pid}-${++projects}`,
      data: { users: 5, days: 7, experiments: 0 }
    })
    const gate = yield* emulator.injectFault({ kind: "hold", project: s.amplitude.id, endpoint: case_.heldAt })
    const inFlight = yield* createBet(s, "In flight")
    yield* emulator.awaitRequests((r) =>
      r.projectId === s.amplitude.id && r.endpoint === case_.heldAt && r.outcome === "held"
    ).pipe(Effect.timeout("20 seconds"))
    const queued = yield* createBet(s, "Queued")
    assert.strictEqual(annotationOf(queued, "promoted").status, "pending")

    yield* case_.act(s, other)
    assert.isTrue(yield* emulator.removeFault(gate.id))

    const expected = { connected: s.amplitude.id, other: other.id, none: undefined }
    for (const [bet, outcome] of [[inFlight, case_.inFlight], [queued, case_.queued]] as const) {
      const final = annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted")
      assert.strictEqual(final.status, outcome.status, `${bet.title}: ${JSON.stringify(final)}`)
      assert.strictEqual(final.reason, outcome.reason, bet.title)
      const where = expected[outcome.project]
      assert.deepStrictEqual(yield* promotedEverywhere(bet.id), where === undefined ? {} : { [where]: 1 }, bet.title)
    }
  })

const pushSettings = {
  maxAttempts: 6,
  baseBackoff: Duration.millis(100),
  maxBackoff: Duration.seconds(5),
  reconcileDelay: Duration.millis(500),
  pushConcurrency: 1
}

describe("annotations: the workspace changes while a push is in flight or queued", () => {
  layer(ApiTestLive({ annotations: pushSettings, amplitudeTimeout: "60 seconds" }), {
    timeout: "120 seconds",
    excludeTestServices: true
  })((it) => {
    const gone = { status: "skipped", reason: "Amplitude is not connected", project: "none" } as const
    const off = {
      status: "skipped",
      reason: "Annotation push is turned off for this workspace",
      project: "none"
    } as const
    const pushed = { status: "pushed", project: "connected" } as const

    for (const heldAt of ["annotations.list", "annotations.create"] as const) {
      it.effect(`disconnect (held at ${heldAt}): both end skipped, no annotation anywhere`, () =>
        interleave({ heldAt, act: disconnect, inFlight: gone, queued: gone }))

      it.effect(`re-key to another project (held at ${heldAt}): in flight stops, queued goes to the new project`, () =>
        interleave({
          heldAt,
          act: rekeyOther,
          inFlight: {
            status: "skipped",
            reason: "The workspace was connected to another Amplitude project during the push",
            project: "none"
          },
          queued: { status: "pushed", project: "other" }
        }))

      it.effect(`re-key to the same project (held at ${heldAt}): both pushed, one annotation each`, () =>
        interleave({ heldAt, act: rekeySame, inFlight: pushed, queued: pushed }))
    }

    it.effect("toggle off before the create is sent: both end skipped, nothing in Amplitude", () =>
      interleave({ heldAt: "annotations.list", act: toggleOff, inFlight: off, queued: off }))

    it.effect("a 429 with Retry-After: 2 makes the next attempt wait 2 s (backoff 100 ms, cap 5 s)", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        yield* emulator.injectFault({
          project: s.amplitude.id,
          endpoint: "annotations.list",
          kind: "status",
          status: 429,
          retryAfterSeconds: 2
        })
        const created = yield* createBet(s, "Rate limited")
        const bet = yield* settled(s, created.id, ["promoted"])
        assert.strictEqual(annotationOf(bet, "promoted").status, "pushed")
        const calls = yield* emulator.requests({ project: s.amplitude.id })
        const limited = calls.findIndex((r) => r.status === 429)
        assert.isAtLeast(limited, 0, "the 429 was sent")
        const next = calls[limited + 1]!
        assert.strictEqual(next.endpoint, "annotations.list", "the next attempt starts over")
        assert.isAtLeast(next.at - calls[limited]!.at, 2_000)
      }))

    it.effect("toggle off with the create at Amplitude: that annotation stays and is recorded, the queued is skipped", () =>
      interleave({ heldAt: "annotations.create", act: toggleOff, inFlight: pushed, queued: off }))
  })
})

describe("annotations: one slow bet does not hold the pushes of other workspaces", () => {
  layer(ApiTestLive({ annotations: { ...pushSettings, pushConcurrency: 4 }, amplitudeTimeout: "60 seconds" }), {
    timeout: "120 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("20 renames of a bet whose Amplitude calls are held leave the fan-out permits to another workspace", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const slow = yield* setup
        const gate = yield* emulator.injectFault({
          kind: "hold",
          project: slow.amplitude.id,
          endpoint: "annotations.*"
        })
        const renamed = yield* createBet(slow, "Renamed 0")
        yield* emulator.awaitRequests((r) => r.projectId === slow.amplitude.id && r.outcome === "held").pipe(
          Effect.timeout("20 seconds")
        )
        for (let n = 1; n <= 20; n++) {
          const answer = yield* call("PATCH", betPath(slow, renamed.id), {
            user: slow.member,
            body: { title: `Renamed ${n}` }
          })
          assert.strictEqual(answer.status, 200, answer.text)
        }

        const other = yield* setup
        const bet = yield* createBet(other, "Elsewhere")
        const pushed = yield* settled(other, bet.id, ["promoted"], "10 seconds")
        assert.strictEqual(annotationOf(pushed, "promoted").status, "pushed")
        assert.strictEqual(
          annotationOf(yield* settled(slow, renamed.id, []), "promoted").status,
          "pending",
          "the renamed bet was still held"
        )

        assert.isTrue(yield* emulator.removeFault(gate.id))
        const final = annotationOf(yield* settled(slow, renamed.id, ["promoted"]), "promoted")
        assert.deepInclude(final, { status: "pushed", label: "▲ Renamed 20" })
        yield* exactlyOne(slow, renamed.id, "promoted")
      }))
  })
})

/** The workspace's audit entries of `action`, newest first. */
const audited = (s: Setup, action: string) =>
  call("GET", `/v1/workspaces/${s.workspaceId}/audit-log`, { user: s.admin }).pipe(
    Effect.map((answer) =>
      (answer.body.entries as Array<{ action: string; details: Record<string, unknown> }>).filter((entry) =>
        entry.action === action
      )
    )
  )

/** Waits until Amplitude holds the bet's annotation of `kind`, then checks that it holds exactly one. */
const arrives = (s: Setup, betId: string, kind: string) =>
  eventually(
    inAmplitude(s, betId, kind).pipe(Effect.filterOrFail((found) => found.length > 0, () => `no ${kind} yet`)),
    "10 seconds"
  ).pipe(Effect.zipRight(exactlyOne(s, betId, kind)))

/** The bet's `promoted` record as the API shows it. */
const promotedOf = (s: Setup, betId: string) =>
  call("GET", betPath(s, betId), { user: s.member }).pipe(Effect.map((answer) => annotationOf(answer.body, "promoted")))

/** A bet whose push ended `failed` because Amplitude rejected the stored keys; nothing reached Amplitude. */
const failedOnRevokedKeys = (s: Setup, title: string) =>
  Effect.gen(function*() {
    yield* revokeStoredKeys(s)
    const created = yield* createBet(s, title)
    const promoted = annotationOf(yield* settled(s, created.id, ["promoted"]), "promoted")
    assert.strictEqual(promoted.status, "failed", JSON.stringify(promoted))
    assert.include(promoted.reason, "Amplitude rejected the stored keys")
    assert.deepStrictEqual(yield* promotedEverywhere(created.id), {})
    return created
  })

describe("annotations: failed pushes are pushed again once the keys are fixed", () => {
  layer(ApiTestLive({ annotations: testSettings, amplitudeTimeout: "60 seconds" }), {
    timeout: "120 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("keys rejected → failed; the admin saves working keys of the same project (twice, at once) → one annotation", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        const bet = yield* failedOnRevokedKeys(s, "Rejected keys")

        yield* Effect.all([rekeySame(s, s.amplitude), rekeySame(s, s.amplitude)], { concurrency: 2 })
        const annotation = yield* arrives(s, bet.id, "promoted")
        const promoted = annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted")
        assert.strictEqual(promoted.status, "pushed", JSON.stringify(promoted))
        assert.strictEqual(promoted.amplitudeAnnotationId, annotation.id)
        assert.strictEqual(annotation.label, "▲ Rejected keys")
        const requeued = (yield* audited(s, "amplitude.keys_replaced")).map((entry) =>
          entry.details.requeuedAnnotations
        )
        assert.sameMembers(requeued, [1, 0], "the second save found the push already queued")
        const creates = yield* emulator.requests({ project: s.amplitude.id, endpoint: "annotations.create" })
        assert.strictEqual(creates.filter((r) => r.status === 200).length, 1)
        assert.deepStrictEqual(yield* promotedEverywhere(bet.id), { [s.amplitude.id]: 1 })
        const view = yield* call("GET", integrationPath(s), { user: s.member })
        assert.strictEqual(view.body.annotationPush.status, "ok", view.text)
      }))

    it.effect("a push failing on the old keys while the admin saves new ones tries again with them", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        yield* revokeStoredKeys(s)
        // The push's first Amplitude call (with the rejected keys) waits until the new keys are saved.
        const gate = yield* emulator.injectFault({ kind: "hold", project: s.amplitude.id, times: 1 })
        const bet = yield* createBet(s, "Keys saved mid-push")
        // Requests with rejected keys are logged without a project: this suite runs one test at a time.
        const [held] = yield* emulator.awaitRequests((r) => r.outcome === "held").pipe(Effect.timeout("20 seconds"))
        yield* rekeySame(s, s.amplitude)
        assert.strictEqual((yield* promotedOf(s, bet.id)).status, "pending", "nothing to re-drive yet")
        assert.isTrue(yield* emulator.removeFault(gate.id))

        const promoted = annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted")
        assert.strictEqual(promoted.status, "pushed", JSON.stringify(promoted))
        yield* exactlyOne(s, bet.id, "promoted")
        const answered = (yield* emulator.requests()).find((r) => r.seq === held!.seq)
        assert.strictEqual(answered?.status, 403, "the held call went out with the rejected keys")
      }))

    it.effect("re-key to another project: nothing is re-driven into it (nor the old one); back to the first, it is", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        const other = yield* emulator.createProject({
          id: `annotations-redrive-${process.pid}-${++projects}`,
          data: { users: 5, days: 7, experiments: 0 }
        })
        const bet = yield* failedOnRevokedKeys(s, "Left behind")
        const before = yield* promotedOf(s, bet.id)

        yield* rekeyOther(s, other)
        // A re-drive is queued in the transaction that saves the keys: none was.
        assert.deepStrictEqual(yield* promotedOf(s, bet.id), before)
        assert.strictEqual((yield* audited(s, "amplitude.keys_replaced"))[0]!.details.requeuedAnnotations, 0)
        const retried = yield* call("POST", retryPath(s), { user: s.admin })
        assert.deepStrictEqual(retried.body, { requeued: 0 }, retried.text)
        // A later decision goes to the new project; by then the failed one has still reached neither.
        const later = yield* createBet(s, "In the new project")
        assert.strictEqual(annotationOf(yield* settled(s, later.id, ["promoted"]), "promoted").status, "pushed")
        assert.deepStrictEqual(yield* promotedEverywhere(later.id), { [other.id]: 1 })
        assert.deepStrictEqual(yield* promotedEverywhere(bet.id), {})
        assert.deepStrictEqual(yield* promotedOf(s, bet.id), before)

        // Connected to the project it was aimed at again, with working keys: it goes there, once.
        yield* rekeySame(s, s.amplitude)
        yield* arrives(s, bet.id, "promoted")
        assert.strictEqual(annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted").status, "pushed")
        assert.deepStrictEqual(yield* promotedEverywhere(bet.id), { [s.amplitude.id]: 1 })
        assert.deepStrictEqual(yield* promotedEverywhere(later.id), { [other.id]: 1 })
      }))

    it.effect("a push skipped while disconnected goes to Amplitude on a reconnect to the same project", () =>
      Effect.gen(function*() {
        const s = yield* setup
        yield* disconnect(s, s.amplitude)
        const bet = yield* createBet(s, "While disconnected")
        assert.deepInclude(annotationOf(bet, "promoted"), { status: "skipped", reason: "Amplitude is not connected" })
        yield* rekeySame(s, s.amplitude)
        yield* arrives(s, bet.id, "promoted")
        assert.strictEqual(annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted").status, "pushed")
      }))

    it.effect("POST …/amplitude/annotations/retry: admin only, re-queues attempts used up, idempotent while in flight", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        const other = yield* setup
        const outage = yield* emulator.injectFault({
          project: s.amplitude.id,
          kind: "status",
          status: 503,
          times: 1_000_000
        })
        const bet = yield* createBet(s, "Outage")
        const failed = annotationOf(yield* settled(s, bet.id, ["promoted"], "30 seconds"), "promoted")
        assert.strictEqual(failed.status, "failed", JSON.stringify(failed))
        assert.include(failed.reason, "Gave up after 6 attempts")
        assert.isTrue(yield* emulator.removeFault(outage.id))

        const denied = yield* Effect.all({
          anonymous: call("POST", retryPath(s), { user: null }),
          member: call("POST", retryPath(s), { user: s.member }),
          outsider: call("POST", retryPath(s), { user: other.admin }),
          unknownBet: call("POST", `${retryPath(s)}?betId=${randomUUID()}`, { user: s.admin }),
          foreignBet: call("POST", `${retryPath(other)}?betId=${bet.id}`, { user: other.admin }),
          badBet: call("POST", `${retryPath(s)}?betId=not-a-uuid`, { user: s.admin }).pipe(
            Effect.map((answer) => ({ ...answer, body: { _tag: answer.status === 400 ? "decode" : answer.text } }))
          )
        })
        assert.deepStrictEqual(
          Object.fromEntries(Object.entries(denied).map(([who, answer]) => [who, [answer.status, answer.body?._tag]])),
          {
            anonymous: [401, "Unauthorized"],
            member: [403, "Forbidden"],
            outsider: [404, "NotFound"],
            unknownBet: [404, "NotFound"],
            foreignBet: [404, "NotFound"],
            badBet: [400, "decode"]
          }
        )
        assert.strictEqual((yield* promotedOf(s, bet.id)).status, "failed", "no refused call re-queued it")

        // The re-driven push is held at Amplitude while the admin asks again.
        const gate = yield* emulator.injectFault({ kind: "hold", project: s.amplitude.id, endpoint: "annotations.*" })
        const first = yield* call("POST", `${retryPath(s)}?betId=${bet.id}`, { user: s.admin })
        assert.strictEqual(first.status, 200, first.text)
        assert.deepStrictEqual(first.body, { requeued: 1 })
        yield* emulator.awaitRequests((r) => r.projectId === s.amplitude.id && r.outcome === "held").pipe(
          Effect.timeout("20 seconds")
        )
        const second = yield* call("POST", retryPath(s), { user: s.admin })
        assert.deepStrictEqual(second.body, { requeued: 0 }, second.text)
        assert.isTrue(yield* emulator.removeFault(gate.id))
        const promoted = annotationOf(yield* settled(s, bet.id, ["promoted"]), "promoted")
        assert.strictEqual(promoted.status, "pushed", JSON.stringify(promoted))
        yield* exactlyOne(s, bet.id, "promoted")

        const entries = yield* audited(s, "amplitude.annotations_retried")
        assert.deepStrictEqual(entries.map((entry) => entry.details), [
          { betId: null, requeued: 0 },
          { betId: bet.id, requeued: 1 }
        ])

        yield* disconnect(s, s.amplitude)
        const notConnected = yield* call("POST", retryPath(s), { user: s.admin })
        assert.strictEqual(notConnected.status, 409, notConnected.text)
        assert.strictEqual(notConnected.body._tag, "NotConnected")
      }))
  })
})
