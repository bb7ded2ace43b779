import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type AnnotationView } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { type Bet, BetId, MetricId, type WorkspaceId } from "@findry/domain"
import { Duration, Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import {
  amplitudeKeys,
  answered,
  clientAs,
  expectFailure,
  expectSuccess,
  workspaceWithMember
} from "./support/Client.js"
import { eventually } from "./support/Eventually.js"
import { call } from "./support/Http.js"
import { API_TEST_KEYS, ApiTestLive } from "./support/TestApi.js"

let projects = 0

/** Amplitude keeps annotation times to the second. */
const toSecond = (date: Date) => Math.floor(date.getTime() / 1000) * 1000

/** The test server's keyring, to seal a value as if an admin had saved it. */
const SealerLive = SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(testKeyring(API_TEST_KEYS)))

/** A workspace connected to its own emulator project, with a Findry project and a metric. */
const setup = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  const amplitude = yield* emulator.createProject({
    id: `annotations-${process.pid}-${++projects}`,
    data: { users: 5, days: 7, experiments: 0 }
  })
  const { admin, adminId, member, memberId, path, workspaceId } = yield* workspaceWithMember
  yield* admin.amplitudeConnection.connect({ path, payload: amplitudeKeys(amplitude) })
  const project = yield* admin.workspaces.createProject({ path, payload: { name: "Web" } })
  const metricId = yield* insertMetric(workspaceId)
  return { admin, adminId, member, memberId, workspaceId, path, projectId: project.id, metricId, amplitude }
}).pipe(Effect.orDie)

const insertMetric = (workspaceId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = MetricId.make(randomUUID())
    yield* sql`INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${id}, ${workspaceId}, ${`m-${id}`}, 'percent')`
    return id
  }).pipe(Effect.orDie)

const impact = (metricId: MetricId) => ({
  metricId,
  direction: "increase" as const,
  magnitude: 5,
  magnitudeUnit: "percent" as const,
  timeframeDays: 14
})

type Setup = Effect.Effect.Success<typeof setup>

/** Makes the stored keys ones Amplitude rejects (a secret regenerated in Amplitude), as the push reads them. */
const revokeStoredKeys = (s: Setup) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sealer = yield* SecretSealer
    const revoked = yield* sealer.seal(Redacted.make("regenerated-secret-000000000000000"), {
      workspaceId: s.workspaceId,
      provider: "amplitude",
      slot: 2
    })
    yield* sql`UPDATE integrations SET credential_2 = ${revoked.sealed} WHERE workspace_id = ${s.workspaceId}`
  }).pipe(Effect.provide(SealerLive), Effect.orDie)

const createBet = (s: Setup, title = "Faster checkout") =>
  s.member.bets.create({
    path: { workspaceId: s.workspaceId, projectId: s.projectId },
    payload: { title, predictedImpact: impact(s.metricId) }
  })

const betPath = (s: { readonly workspaceId: WorkspaceId }, betId: BetId) => ({ workspaceId: s.workspaceId, betId })

/** Waits until the bet's annotations of `kinds` have all settled (not pending), and returns the bet. */
const settled = (
  s: Setup,
  betId: BetId,
  kinds: ReadonlyArray<string>,
  deadline: Duration.DurationInput = "20 seconds"
) =>
  eventually(
    s.member.bets.get({ path: betPath(s, betId) }).pipe(
      Effect.filterOrFail(
        (bet) => kinds.every((kind) => bet.annotations.some((a) => a.kind === kind && a.status !== "pending")),
        (bet) => `not settled: ${JSON.stringify(bet.annotations)}`
      )
    ),
    deadline
  )

const annotationOf = (bet: Bet, kind: string) => bet.annotations.find((annotation) => annotation.kind === kind)!

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
        // Untrimmed, which the typed client would refuse to send: raw.
        const sent = yield* call("POST", `/v1/workspaces/${s.workspaceId}/projects/${s.projectId}/bets`, {
          user: s.memberId,
          body: { title: "  Faster checkout  ", predictedImpact: impact(s.metricId) }
        })
        assert.strictEqual(sent.status, 201, sent.text)
        const created = yield* s.member.bets.get({ path: betPath(s, BetId.make(sent.body.id)) })
        assert.strictEqual(created.title, "Faster checkout")
        assert.strictEqual(created.status, "promoted")
        assert.deepStrictEqual(created.annotations.map((a) => [a.kind, a.label]), [[
          "promoted",
          "▲ Faster checkout"
        ]])
        const bet = yield* settled(s, created.id, ["promoted"])
        const promoted = annotationOf(bet, "promoted")
        assert.strictEqual(promoted.status, "pushed", JSON.stringify(promoted))
        assert.isNumber(promoted.amplitudeAnnotationId)
        assert.instanceOf(promoted.lastPushedAt, Date)
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

        const activity = yield* s.member.bets.annotations({ path: s.path, urlParams: {} })
        assert.deepStrictEqual(activity.annotations.map((a) => ({ ...a })), [{ betId: created.id, ...promoted }])

        // A first attempt has nothing to find before its create; it lists only afterwards, for duplicates.
        const emulator = yield* AmplitudeEmulator
        const calls = yield* emulator.requests({ project: s.amplitude.id })
        assert.deepStrictEqual(
          calls.map((r) => r.endpoint).filter((endpoint) => endpoint?.startsWith("annotations.") === true),
          ["annotations.create", "annotations.list"]
        )
      }))

    it.effect("ship, ship date, verdict and override: labels and times, one annotation per kind, updated in place", () =>
      Effect.gen(function*() {
        const s = yield* setup
        const created = yield* createBet(s, "Onboarding v2")
        const shipped = yield* s.member.bets.ship({
          path: betPath(s, created.id),
          payload: { shippedAt: new Date("2026-11-02T10:30:00Z") }
        })
        assert.strictEqual(shipped.status, "shipped")
        let bet = yield* settled(s, created.id, ["promoted", "shipped"])
        const first = yield* exactlyOne(s, created.id, "shipped")
        assert.strictEqual(first.label, "▲ Shipped: Onboarding v2")
        assert.strictEqual(Date.parse(first.start), Date.parse("2026-11-02T10:30:00Z"))

        const outcome = yield* s.member.bets.logOutcome({
          path: betPath(s, created.id),
          payload: { shipDate: "2026-11-05", whatShipped: "New onboarding flow" }
        })
        assert.deepInclude(outcome, {
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

        const noOutcomeYet = yield* answered(s.member.bets.overrideVerdict({
          path: betPath(s, BetId.make(randomUUID())),
          payload: { verdict: "hit" }
        }))
        expectFailure(noOutcomeYet, "NotFound", 404)

        const verdict = yield* s.member.bets.overrideVerdict({
          path: betPath(s, created.id),
          payload: { verdict: "hit" }
        })
        assert.deepInclude(verdict, { verdict: "hit", verdictSource: "override" })
        bet = yield* settled(s, created.id, ["verdict"])
        const hit = yield* exactlyOne(s, created.id, "verdict")
        assert.strictEqual(hit.label, "● Outcome hit: Onboarding v2")
        assert.strictEqual(Date.parse(hit.start), toSecond(verdict.verdictAt!))

        yield* s.member.bets.overrideVerdict({ path: betPath(s, created.id), payload: { verdict: "miss" } })
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
        yield* s.member.bets.logOutcome({
          path: betPath(s, created.id),
          payload: { shipDate: "2026-10-01", whatShipped: "Thing" }
        })
        yield* s.member.bets.overrideVerdict({ path: betPath(s, created.id), payload: { verdict: "inconclusive" } })
        yield* settled(s, created.id, ["promoted", "shipped", "verdict"])
        const before = yield* Effect.all([
          exactlyOne(s, created.id, "promoted"),
          exactlyOne(s, created.id, "shipped"),
          exactlyOne(s, created.id, "verdict")
        ])
        assert.strictEqual(before[2].label, "● Outcome inconclusive: Old name")

        const renamed = yield* s.member.bets.update({ path: betPath(s, created.id), payload: { title: "New name" } })
        assert.strictEqual(renamed.title, "New name")
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
        const pushed = yield* createBet(s, "Kept")
        yield* settled(s, pushed.id, ["promoted"])
        const off = yield* s.admin.amplitudeConnection.update({ path: s.path, payload: { annotationsEnabled: false } })
        assert.strictEqual(off.annotationsEnabled, false)

        const later = yield* createBet(s, "While off")
        assert.deepInclude(annotationOf(later, "promoted"), {
          status: "skipped",
          reason: "Annotation push is turned off for this workspace",
          amplitudeAnnotationId: null
        })
        yield* s.admin.amplitudeConnection.update({ path: s.path, payload: { annotationsEnabled: true } })
        // Neither the admin's retry nor saving the keys again pushes what was skipped while the push was off.
        const retried = yield* s.admin.amplitudeConnection.retryAnnotations({ path: s.path, urlParams: {} })
        assert.deepStrictEqual({ ...retried }, { requeued: 0 })
        yield* rekeySame(s, s.amplitude)
        const stillSkipped = yield* s.member.bets.get({ path: betPath(s, later.id) })
        assert.deepInclude(annotationOf(stillSkipped, "promoted"), {
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
        yield* s.admin.amplitudeConnection.disconnect({ path: s.path })

        const after = yield* createBet(s, "After disconnect")
        assert.deepInclude(annotationOf(after, "promoted"), {
          status: "skipped",
          reason: "Amplitude is not connected"
        })
        const shipped = yield* s.member.bets.ship({ path: betPath(s, before.id), payload: {} })
        assert.strictEqual(annotationOf(shipped, "shipped").status, "skipped")
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
        const view = yield* answered(s.member.amplitudeConnection.get({ path: s.path }))
        const annotationPush = expectSuccess(view, 200).annotationPush
        assert.strictEqual(annotationPush.status, "failing")
        assert.include(annotationPush.reason, "Amplitude rejected the stored keys")
        assert.instanceOf(annotationPush.failedAt, Date)
        assert.notInclude(view.text, "regenerated-secret")
      }))

    it.effect("/readyz fails `scheduler` while a due message waits longer than the stall threshold", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const anonymous = yield* clientAs(null)
        const ready = yield* anonymous.health.readyz()
        assert.strictEqual(ready.checks.scheduler, "ok")
        // A message from ten minutes ago on a shard no runner serves: what a stalled cluster looks like.
        yield* sql`
          INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload,
                                        processed, request_id)
          SELECT id, 'stall-probe', 'stall-probe:1', 'Workflow/StallProbe', 'probe', 0, 'run', '{}', false, id
          FROM (SELECT (((extract(epoch FROM now()) * 1000)::bigint - 600000 - 1735689600000) << 22) AS id) probe`
        const stalled = expectFailure(yield* answered(anonymous.health.readyz()), "NotReady", 503)
        assert.deepStrictEqual(stalled.failing, ["scheduler"])
        yield* sql`DELETE FROM cluster_messages WHERE message_id = 'stall-probe'`
        expectSuccess(yield* answered(anonymous.health.readyz()), 200)
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
          // Input outside the contract, which the typed client would refuse to send: raw.
          const answer = yield* call("POST", path, { user: s.memberId, body })
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
        }
        const foreignMetric = yield* answered(s.member.bets.create({
          path: { workspaceId: s.workspaceId, projectId: s.projectId },
          payload: { title: "ok", predictedImpact: impact(other.metricId) }
        }))
        expectFailure(foreignMetric, "NotFound", 404)
        const foreignProject = yield* answered(s.member.bets.create({
          path: { workspaceId: s.workspaceId, projectId: other.projectId },
          payload: { title: "ok", predictedImpact: impact(s.metricId) }
        }))
        expectFailure(foreignProject, "NotFound", 404)

        const bet = yield* createBet(s, "Valid")
        expectFailure(yield* answered(other.member.bets.get({ path: betPath(s, bet.id) })), "NotFound", 404)
        expectFailure(yield* answered(other.member.bets.get({ path: betPath(other, bet.id) })), "NotFound", 404)
        const noOutcome = yield* answered(s.member.bets.overrideVerdict({
          path: betPath(s, bet.id),
          payload: { verdict: "hit" }
        }))
        expectFailure(noOutcome, "OutcomeNotSet", 409)
        const outcomePath = `/v1/workspaces/${s.workspaceId}/bets/${bet.id}/outcome`
        const badDate = yield* call("PUT", outcomePath, {
          user: s.memberId,
          body: { shipDate: "2026-02-30", whatShipped: "x" }
        })
        assert.strictEqual(badDate.status, 400)
        const badVerdict = yield* call("PUT", `${outcomePath}/verdict`, {
          user: s.memberId,
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
  /**
   * Where the in-flight push is held: before its create is sent (at the workspace's first push, the category
   * lookup comes first), or with the create at Amplitude.
   */
  readonly heldAt: "annotationCategories.list" | "annotations.create"
  /** The admin's action, with a second emulator project to re-key to. */
  readonly act: (s: Setup, other: { apiKey: string; secretKey: string }) => Effect.Effect<void, unknown>
  /** Final status and reason of the in-flight and of the queued push, and where their annotations are. */
  readonly inFlight: { status: string; reason?: string; project: "connected" | "other" | "none" }
  readonly queued: { status: string; reason?: string; project: "connected" | "other" | "none" }
}

const disconnect: Interleaving["act"] = (s) => Effect.asVoid(s.admin.amplitudeConnection.disconnect({ path: s.path }))
const toggleOff: Interleaving["act"] = (s) =>
  Effect.asVoid(s.admin.amplitudeConnection.update({ path: s.path, payload: { annotationsEnabled: false } }))
const rekeySame: Interleaving["act"] = (s) =>
  Effect.asVoid(s.admin.amplitudeConnection.connect({ path: s.path, payload: amplitudeKeys(s.amplitude) }))
const rekeyOther: Interleaving["act"] = (s, other) =>
  Effect.asVoid(s.admin.amplitudeConnection.connect({ path: s.path, payload: amplitudeKeys(other) }))

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

    for (const heldAt of ["annotationCategories.list", "annotations.create"] as const) {
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
      interleave({ heldAt: "annotationCategories.list", act: toggleOff, inFlight: off, queued: off }))

    it.effect("a 429 with Retry-After: 2 makes the next attempt wait 2 s (backoff 100 ms, cap 5 s)", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const s = yield* setup
        yield* emulator.injectFault({
          project: s.amplitude.id,
          endpoint: "annotations.create",
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
          yield* slow.member.bets.update({ path: betPath(slow, renamed.id), payload: { title: `Renamed ${n}` } })
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
  s.admin.audit.list({ path: s.path, urlParams: {} }).pipe(
    Effect.map((page) => page.entries.filter((entry) => entry.action === action))
  )

/** Waits until Amplitude holds the bet's annotation of `kind`, then checks that it holds exactly one. */
const arrives = (s: Setup, betId: string, kind: string) =>
  eventually(
    inAmplitude(s, betId, kind).pipe(Effect.filterOrFail((found) => found.length > 0, () => `no ${kind} yet`)),
    "10 seconds"
  ).pipe(Effect.zipRight(exactlyOne(s, betId, kind)))

/** The bet's `promoted` record as the API shows it. */
const promotedOf = (s: Setup, betId: BetId) =>
  s.member.bets.get({ path: betPath(s, betId) }).pipe(Effect.map((bet) => annotationOf(bet, "promoted")))

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
        const view = yield* s.member.amplitudeConnection.get({ path: s.path })
        assert.strictEqual(view.annotationPush.status, "ok", JSON.stringify(view.annotationPush))
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
        const heldCall = (yield* emulator.requests()).find((r) => r.seq === held!.seq)
        assert.strictEqual(heldCall?.status, 403, "the held call went out with the rejected keys")
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
        const retried = yield* s.admin.amplitudeConnection.retryAnnotations({ path: s.path, urlParams: {} })
        assert.deepStrictEqual({ ...retried }, { requeued: 0 })
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

        const anonymous = yield* clientAs(null)
        const retry = (client: Setup["admin"], on: Setup, betId?: BetId) =>
          answered(client.amplitudeConnection.retryAnnotations({ path: on.path, urlParams: { betId } }))
        expectFailure(yield* retry(anonymous, s), "Unauthorized", 401)
        expectFailure(yield* retry(s.member, s), "Forbidden", 403)
        expectFailure(yield* retry(other.admin, s), "NotFound", 404)
        expectFailure(yield* retry(s.admin, s, BetId.make(randomUUID())), "NotFound", 404)
        expectFailure(yield* retry(other.admin, other, bet.id), "NotFound", 404)
        // Not a bet id, which the typed client cannot send: raw.
        const badBet = yield* call(
          "POST",
          `/v1/workspaces/${s.workspaceId}/amplitude/annotations/retry?betId=not-a-uuid`,
          {
            user: s.adminId
          }
        )
        assert.strictEqual(badBet.status, 400, badBet.text)
        assert.strictEqual((yield* promotedOf(s, bet.id)).status, "failed", "no refused call re-queued it")

        // The re-driven push is held at Amplitude while the admin asks again.
        const gate = yield* emulator.injectFault({ kind: "hold", project: s.amplitude.id, endpoint: "annotations.*" })
        const first = yield* s.admin.amplitudeConnection.retryAnnotations({
          path: s.path,
          urlParams: { betId: bet.id }
        })
        assert.deepStrictEqual({ ...first }, { requeued: 1 })
        yield* emulator.awaitRequests((r) => r.projectId === s.amplitude.id && r.outcome === "held").pipe(
          Effect.timeout("20 seconds")
        )
        const second = yield* s.admin.amplitudeConnection.retryAnnotations({ path: s.path, urlParams: {} })
        assert.deepStrictEqual({ ...second }, { requeued: 0 })
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
        expectFailure(yield* retry(s.admin, s), "NotConnected", 409)
      }))
  })
})
