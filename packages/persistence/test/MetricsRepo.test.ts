import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { MetricsRepo } from "../src/MetricsRepo.js"
import { TestSqlLive } from "../src/Testing.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"
import { seedWorkspace, unknownMetric } from "./fixtures.js"

const PROVIDER = "amplitude"
const metric = (name: string) => ({ name, unit: "integer" as const, description: null })

describe("MetricsRepo", () => {
  layer(Layer.mergeAll(MetricsRepo.Default, WorkspacesRepo.Default).pipe(Layer.provideMerge(TestSqlLive())), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("names are unique per workspace, ignoring case; another workspace may reuse them", () =>
      Effect.gen(function*() {
        const metrics = yield* MetricsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        assert.isTrue(Option.isSome(yield* metrics.create(a.workspaceId, metric("Weekly actives"))))
        assert.isTrue(Option.isNone(yield* metrics.create(a.workspaceId, metric("WEEKLY ACTIVES"))))
        assert.isTrue(Option.isSome(yield* metrics.create(b.workspaceId, metric("weekly actives"))))
      }))

    it.effect("of concurrent creates with one name, exactly one wins", () =>
      Effect.gen(function*() {
        const metrics = yield* MetricsRepo
        const { workspaceId } = yield* seedWorkspace
        const results = yield* Effect.all(
          Array.from({ length: 6 }, (_, n) => metrics.create(workspaceId, metric(n % 2 === 0 ? "Signups" : "signups"))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter(Option.isSome).length, 1)
      }))

    it.effect("renaming onto a taken name says so; finding and updating are scoped to the workspace", () =>
      Effect.gen(function*() {
        const metrics = yield* MetricsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const revenue = Option.getOrThrow(yield* metrics.create(a.workspaceId, metric("Revenue")))
        yield* metrics.create(a.workspaceId, metric("Churn"))
        yield* metrics.create(b.workspaceId, metric("Retention"))
        assert.strictEqual((yield* metrics.update(a.workspaceId, revenue.id, { name: "churn" }))._tag, "NameTaken")
        const renamed = yield* metrics.update(a.workspaceId, revenue.id, { name: "Retention", description: "d" })
        assert.strictEqual(renamed._tag, "Changed", "Retention is only taken in b")
        assert.isTrue(Option.isNone(yield* metrics.find(b.workspaceId, revenue.id)))
        assert.strictEqual((yield* metrics.update(b.workspaceId, revenue.id, { name: "Stolen" }))._tag, "NotFound")
        assert.strictEqual((yield* metrics.update(a.workspaceId, unknownMetric(), { name: "X" }))._tag, "NotFound")
        const stored = Option.getOrThrow(yield* metrics.find(a.workspaceId, revenue.id))
        assert.strictEqual(stored.name, "Retention")
        assert.strictEqual(stored.unit, "integer", "left out of the patch, kept")
        assert.strictEqual(stored.description, "d")
      }))

    it.effect("lists a workspace's metrics by name, with the provider's mapping of each", () =>
      Effect.gen(function*() {
        const metrics = yield* MetricsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const zeta = Option.getOrThrow(yield* metrics.create(a.workspaceId, metric("zeta")))
        yield* metrics.create(a.workspaceId, metric("Alpha"))
        yield* metrics.create(a.workspaceId, metric("beta"))
        const foreign = Option.getOrThrow(yield* metrics.create(b.workspaceId, metric("Aardvark")))
        yield* metrics.saveMapping(a.workspaceId, zeta.id, PROVIDER, { kind: "template", template: "new_users" })
        yield* metrics.saveMapping(b.workspaceId, foreign.id, PROVIDER, { kind: "template", template: "active_users" })
        const listed = yield* metrics.list(a.workspaceId, PROVIDER)
        assert.deepStrictEqual(listed.map((entry) => entry.metric.name), ["Alpha", "beta", "zeta"])
        assert.deepStrictEqual(listed.map((entry) => entry.mapping?.kind ?? null), [null, null, "template"])
        assert.isTrue((yield* metrics.list(a.workspaceId, "other-provider")).every((entry) => entry.mapping === null))
      }))

    it.effect("saving a mapping again replaces it in place and clears the review flag of that workspace only", () =>
      Effect.gen(function*() {
        const metrics = yield* MetricsRepo
        const a = yield* seedWorkspace
        const b = yield* seedWorkspace
        const mine = Option.getOrThrow(yield* metrics.create(a.workspaceId, metric("Mine")))
        const theirs = Option.getOrThrow(yield* metrics.create(b.workspaceId, metric("Theirs")))
        const first = yield* metrics.saveMapping(a.workspaceId, mine.id, PROVIDER, {
          kind: "template",
          template: "new_users"
        })
        yield* metrics.saveMapping(b.workspaceId, theirs.id, PROVIDER, { kind: "template", template: "new_users" })
        assert.strictEqual(yield* metrics.flagForReview(a.workspaceId, PROVIDER), 1)
        assert.strictEqual(yield* metrics.flagForReview(a.workspaceId, PROVIDER), 0, "already flagged")
        assert.isTrue(Option.getOrThrow(yield* metrics.findMapping(a.workspaceId, mine.id, PROVIDER)).needsReview)
        assert.isFalse(Option.getOrThrow(yield* metrics.findMapping(b.workspaceId, theirs.id, PROVIDER)).needsReview)
        const second = yield* metrics.saveMapping(a.workspaceId, mine.id, PROVIDER, {
          kind: "template",
          template: "average_session_length"
        })
        assert.strictEqual(second.id, first.id)
        assert.isFalse(second.needsReview)
        assert.deepStrictEqual(second.kind === "template" ? second.template : null, "average_session_length")
        assert.isTrue(Option.isNone(yield* metrics.findMapping(b.workspaceId, mine.id, PROVIDER)))
        assert.isFalse(yield* metrics.deleteMapping(b.workspaceId, mine.id, PROVIDER), "not b's mapping")
        assert.isTrue(yield* metrics.deleteMapping(a.workspaceId, mine.id, PROVIDER))
        assert.isFalse(yield* metrics.deleteMapping(a.workspaceId, mine.id, PROVIDER))
        assert.isTrue(Option.isSome(yield* metrics.findMapping(b.workspaceId, theirs.id, PROVIDER)))
      }))
  })
})
