import { assert, layer } from "@effect/vitest"
import { AmplitudeEmulator, type Project } from "@findry/amplitude-emulator"
import { Duration, Effect, Fiber } from "effect"
import {
  AmplitudeClient,
  CallPolicy,
  funnelCost,
  type FunnelQuery,
  Segment,
  segmentationCost,
  type SegmentationQuery,
  sessionLengthCost,
  usersCost,
  type UsersQuery
} from "../src/index.js"
import { adapterLayer, freshProject, storedConnection, TestLive, withClient, withFaults } from "./helpers.js"

const connect = (project: Project, policy: CallPolicy = CallPolicy.interactive) =>
  Effect.gen(function*() {
    const client = yield* AmplitudeClient
    return client.connection(yield* storedConnection(project), { policy })
  })

/** Waits (on the live clock) until the emulator has seen `count` matching requests. */
const awaitRequests = (project: Project, endpoint: string, count: number) =>
  Effect.flatMap(
    AmplitudeEmulator,
    (emulator) =>
      emulator.awaitRequests((r) => r.projectId === project.id && r.endpoint === endpoint, count).pipe(
        Effect.timeout(Duration.seconds(5))
      )
  )

layer(TestLive, { excludeTestServices: true })("governor over HTTP", (it) => {
  it.effect("50 parallel calls for one project: never more than 5 in flight at Amplitude, all succeed", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* freshProject()
      yield* emulator.injectFault({ kind: "latency", ms: 25, project: project.id })
      const interactive = yield* connect(project, CallPolicy.interactive)
      const background = yield* connect(project, CallPolicy.background)
      const results = yield* Effect.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? Effect.map(interactive.listEvents(), (events) => events.length)
            : Effect.map(background.listCohorts(), (cohorts) => cohorts.length)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.length, 50)
      assert.isTrue(results.every((n) => n > 0))
      const peak = yield* emulator.maxConcurrency(project.id)
      assert.isAtMost(peak, 5)
      assert.isAtLeast(peak, 4, "the calls did overlap")
      const statuses = (yield* emulator.requests({ project: project.id })).map((r) => r.status)
      assert.strictEqual(statuses.length, 50)
      assert.isTrue(statuses.every((s) => s === 200))
    }).pipe(withFaults))

  it.effect("without the governor's limit, Amplitude's own limit answers 429 (contrast)", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* freshProject()
      const stored = yield* storedConnection(project)
      yield* emulator.injectFault({ kind: "latency", ms: 25, project: project.id })
      const outcomes = yield* withClient(adapterLayer({ limits: { concurrentRequests: 20 } }), (client) =>
        Effect.all(
          Array.from({ length: 20 }, () => Effect.either(client.connection(stored).listEvents())),
          { concurrency: "unbounded" }
        ))
      const limited = outcomes.filter((o) => o._tag === "Left" && o.left._tag === "RateLimited")
      assert.isAbove(limited.length, 0)
      assert.isAbove(yield* emulator.maxConcurrency(project.id), 5)
    }).pipe(withFaults))

  it.effect("a person's call does not queue behind background work: one slot is kept for interactive calls", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* freshProject()
      yield* emulator.injectFault({ kind: "latency", ms: 1000, project: project.id, endpoint: "events.list" })
      const stored = yield* storedConnection(project)
      yield* withClient(adapterLayer({ timeout: "10 seconds" }), (client) =>
        Effect.gen(function*() {
          const background = client.connection(stored, { policy: CallPolicy.background })
          const interactive = client.connection(stored, { policy: CallPolicy.interactive })
          const sweep = yield* Effect.fork(
            Effect.all(Array.from({ length: 8 }, () => background.listEvents()), { concurrency: "unbounded" })
          )
          yield* awaitRequests(project, "events.list", 4)
          yield* interactive.listCohorts()
          const answered = yield* emulator.requests({ project: project.id, endpoint: "events.list" })
          assert.deepStrictEqual(
            answered.map((r) => r.outcome),
            ["pending", "pending", "pending", "pending"],
            "the interactive call did not wait for a background request to finish"
          )
          yield* Fiber.join(sweep)
        }))
      assert.isAtMost(yield* emulator.maxConcurrency(project.id), 5)
    }).pipe(withFaults))

  it.effect("interactive calls fail with RateLimited once this process's hourly query budget is spent", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* freshProject()
      const stored = yield* storedConnection(project)
      const days = project.data.days.slice(-7)
      const query: SegmentationQuery = { event: { eventType: "Search" }, start: days[0]!, end: days[6]! }
      assert.strictEqual(segmentationCost(query), 7)
      const error = yield* withClient(adapterLayer({ limits: { queryBudget: 20 } }), (client) => {
        const amplitude = client.connection(stored)
        return Effect.zipRight(
          Effect.all([amplitude.segmentation(query), amplitude.segmentation(query)]),
          Effect.flip(amplitude.segmentation(query))
        )
      })
      assert.strictEqual(error._tag, "RateLimited")
      if (error._tag !== "RateLimited") return
      assert.isAtLeast(error.retryAfterSeconds, 3590)
      assert.isAtMost(error.retryAfterSeconds, 3600)
      assert.match(error.message, /hourly Amplitude query budget/)
      assert.strictEqual((yield* emulator.requests({ project: project.id, endpoint: "events.segmentation" })).length, 2)
    }))

  it.effect("the adapter's cost formula agrees with Amplitude's (emulated) charge", () =>
    Effect.gen(function*() {
      const emulator = yield* AmplitudeEmulator
      const project = yield* freshProject()
      const amplitude = yield* connect(project)
      const days = project.data.days.slice(-10)
      const range = { start: days[0]!, end: days[9]! }
      const cohort = project.data.cohorts[0]!.id
      const charged = <A, E>(call: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const before = (yield* emulator.usage(project.id)).costUsed
          yield* call
          return (yield* emulator.usage(project.id)).costUsed - before
        })
      const segmentations: ReadonlyArray<SegmentationQuery> = [
        { event: { eventType: "Purchase" }, ...range },
        { event: { eventType: "Purchase" }, metric: "totals", segment: [Segment.cohort(cohort)], ...range },
        {
          event: { eventType: "Purchase" },
          metric: "sums",
          property: { type: "event", key: "revenue" },
          segment: [Segment.where("country", "is", ["Germany"]), Segment.where("platform", "is", ["iOS"])],
          ...range
        },
        { event: { eventType: "View Item", groupBy: [{ type: "event", key: "category" }] }, ...range }
      ]
      for (const query of segmentations) {
        assert.strictEqual(yield* charged(amplitude.segmentation(query)), segmentationCost(query))
      }
      const funnel: FunnelQuery = {
        steps: [{ eventType: "View Item" }, { eventType: "Add to Cart" }, { eventType: "Purchase" }],
        segment: [Segment.cohort(cohort)],
        ...range
      }
      assert.strictEqual(yield* charged(amplitude.funnel(funnel)), funnelCost(funnel))
      const users: UsersQuery = { groupBy: "country", ...range }
      assert.strictEqual(yield* charged(amplitude.users(users)), usersCost(users))
      assert.strictEqual(yield* charged(amplitude.averageSessionLength(range)), sessionLengthCost(range))
      assert.strictEqual(yield* charged(amplitude.listEvents()), 1)
    }))
})
