import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS, type Project } from "@findry/amplitude-emulator"
import { Chunk, Effect, Option, Stream } from "effect"
import { AmplitudeClient, type EventSpec, Segment } from "../src/index.js"
import {
  adapterLayer,
  freshProject,
  spanRecorder,
  storedConnection,
  TestLive,
  withClient,
  withSwitches
} from "./helpers.js"

const DAYS = 30

/** The last `n` days of the project's seeded data. */
const lastDays = (project: Project, n: number) => project.data.days.slice(-n)

const occurrencesOf = (project: Project, event: string) =>
  project.data.events.find((e) => e.name === event)!.occurrences

const perDay = <A>(days: ReadonlyArray<string>, f: (day: string) => A) => days.map((date) => ({ date, value: f(date) }))

const connect = (project: Project) =>
  Effect.gen(function*() {
    const client = yield* AmplitudeClient
    return client.connection(yield* storedConnection(project))
  })

/** Runs `effect` with a tracer that records every span. */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const { spans, tracer } = spanRecorder()
  return Effect.map(Effect.withTracer(effect, tracer), (value) => ({ value, spans }))
}

layer(TestLive, { excludeTestServices: true })("ConnectedProject", (it) => {
  describe("events", () => {
    it.effect("lists the visible events with this week's totals", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const events = yield* amplitude.listEvents()
        const visible = project.data.events.filter((e) => !e.hidden)
        assert.deepStrictEqual(events.map((e) => e.name), visible.map((e) => e.name))
        const week = new Set(lastDays(project, 7))
        const purchase = events.find((e) => e.name === "Purchase")!
        assert.strictEqual(purchase.totals, occurrencesOf(project, "Purchase").filter((o) => week.has(o.day)).length)
        assert.strictEqual(purchase.displayName, "Purchase")
      }))

    it.effect("lists Taxonomy events and categories when the plan has the Taxonomy API", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const events = yield* amplitude.listTaxonomyEvents()
        const signUp = events.find((e) => e.eventType === "Sign Up")!
        assert.deepStrictEqual(signUp, {
          eventType: "Sign Up",
          displayName: "Sign Up",
          description: "A visitor created an account.",
          category: "Attribution",
          active: true
        })
        assert.strictEqual(events.find((e) => e.eventType === "Share")!.category, null)
        const categories = yield* amplitude.listEventCategories()
        assert.deepStrictEqual(categories.map((c) => c.name), ["Attribution", "Conversion", "Engagement"])
      }))

    it.effect("reports the Taxonomy API as unavailable on plans without it", () =>
      Effect.gen(function*() {
        const project = yield* freshProject({ taxonomy: false })
        const amplitude = yield* connect(project)
        const error = yield* Effect.flip(amplitude.listTaxonomyEvents())
        assert.strictEqual(error._tag, "AmplitudeRejected")
        if (error._tag === "AmplitudeRejected") {
          assert.strictEqual(error.status, 400)
          assert.match(error.message, /Taxonomy API is not available/)
        }
      }))
  })

  describe("cohorts", () => {
    it.effect("lists cohorts and reads one; an unknown id is None", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const cohorts = yield* amplitude.listCohorts()
        assert.deepStrictEqual(
          cohorts.map((c) => ({ id: c.id, name: c.name, size: c.size, archived: c.archived, appId: c.appId })),
          project.data.cohorts.map((c) => ({
            id: c.id,
            name: c.name,
            size: c.userIds.length,
            archived: c.archived,
            appId: project.appId
          }))
        )
        const first = project.data.cohorts[0]!
        assert.strictEqual(cohorts[0]!.lastComputedAt?.getTime(), first.lastComputed * 1000)
        const one = yield* amplitude.getCohort(first.id)
        assert.strictEqual(Option.getOrThrow(one).name, first.name)
        assert.isTrue(Option.isNone(yield* amplitude.getCohort("nosuchcohort")))
      }))
  })

  describe("annotations", () => {
    it.effect("creates, reads, lists, updates (partial PUT) and deletes an annotation", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const category = yield* amplitude.ensureAnnotationCategory("Findry")
        const start = new Date("2026-11-02T09:30:00Z")
        const created = yield* amplitude.createAnnotation({
          label: "▲ Faster checkout",
          start,
          details: "https://findry.example/bets/1 findry:bet-1:promoted",
          category: "Findry"
        })
        assert.strictEqual(created.label, "▲ Faster checkout")
        assert.strictEqual(created.start.getTime(), start.getTime())
        assert.deepStrictEqual(created.category, category)
        assert.strictEqual(created.chartId, null)
        assert.strictEqual(created.end, null)

        assert.deepStrictEqual(Option.getOrThrow(yield* amplitude.getAnnotation(created.id)), created)

        const inWindow = yield* amplitude.listAnnotations({
          category: "Findry",
          start: new Date("2026-11-01T00:00:00Z"),
          end: new Date("2026-11-03T00:00:00Z")
        })
        assert.deepStrictEqual(inWindow.map((a) => a.id), [created.id])
        const outside = yield* amplitude.listAnnotations({
          category: "Findry",
          start: new Date("2026-11-05T00:00:00Z"),
          end: new Date("2026-11-06T00:00:00Z")
        })
        assert.deepStrictEqual(outside, [])

        const updated = yield* amplitude.updateAnnotation(created.id, { label: "▲ Shipped: Faster checkout" })
        assert.strictEqual(updated.label, "▲ Shipped: Faster checkout")
        assert.strictEqual(updated.details, created.details)
        assert.strictEqual(updated.start.getTime(), start.getTime())
        const moved = yield* amplitude.updateAnnotation(created.id, {
          start: new Date("2026-11-04T00:00:00Z"),
          details: null
        })
        assert.strictEqual(moved.start.toISOString(), "2026-11-04T00:00:00.000Z")
        assert.strictEqual(moved.details, null)

        yield* amplitude.deleteAnnotation(created.id)
        yield* amplitude.deleteAnnotation(created.id)
        assert.isTrue(Option.isNone(yield* amplitude.getAnnotation(created.id)))
        const error = yield* Effect.flip(amplitude.updateAnnotation(created.id, { label: "gone" }))
        assert.strictEqual(error._tag, "AmplitudeRejected")
        if (error._tag === "AmplitudeRejected") assert.strictEqual(error.status, 404)
      }))

    it.effect("an unknown category is the caller's fault: AmplitudeRejected 404 with Amplitude's message", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const error = yield* Effect.flip(amplitude.createAnnotation({
          label: "x",
          start: new Date("2026-11-02T00:00:00Z"),
          category: "Nope"
        }))
        assert.strictEqual(error._tag, "AmplitudeRejected")
        if (error._tag !== "AmplitudeRejected") return
        assert.strictEqual(error.status, 404)
        assert.match(error.message, /Category Nope not found/)
      }))

    it.effect("ensureAnnotationCategory finds or creates once, also when two callers race (409)", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const amplitude = yield* connect(project)
        const [a, b, c] = yield* Effect.all([
          amplitude.ensureAnnotationCategory("Findry"),
          amplitude.ensureAnnotationCategory("Findry"),
          amplitude.ensureAnnotationCategory("Findry")
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(a, b)
        assert.deepStrictEqual(b, c)
        const categories = yield* amplitude.listAnnotationCategories()
        assert.deepStrictEqual(categories.filter((x) => x.name === "Findry"), [a])
        const creates = yield* emulator.requests({ project: project.id, endpoint: "annotationCategories.create" })
        assert.isAbove(creates.length, 1, "the race did happen")
        assert.strictEqual(creates.filter((r) => r.status === 200).length, 1)
      }))

    it.effect("reads categories named `name` (docs) as well as `category` (observed)", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const created = yield* amplitude.ensureAnnotationCategory("Releases")
        const all = yield* amplitude.listAnnotationCategories()
        assert.deepStrictEqual(all.map((c) => c.name), ["Uncategorized", "Releases"])
        const annotation = yield* amplitude.createAnnotation({ label: "v2", start: new Date(), category: "Releases" })
        assert.deepStrictEqual(annotation.category, created)
      }).pipe(withSwitches({ annotationCategoryKey: "name" })))
  })

  describe("metrics", () => {
    it.effect("segmentation totals and uniques per day match the project's events", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const days = lastDays(project, 7)
        const purchases = occurrencesOf(project, "Purchase")
        const totals = yield* amplitude.segmentation({
          event: { eventType: "Purchase" },
          metric: "totals",
          start: days[0]!,
          end: days[days.length - 1]!
        })
        assert.deepStrictEqual(totals.days, perDay(days, (d) => purchases.filter((o) => o.day === d).length))
        assert.strictEqual(totals.total, purchases.filter((o) => days.includes(o.day)).length)
        assert.strictEqual(totals.series.length, 1)
        assert.strictEqual(totals.series[0]!.label, null)

        const uniques = yield* amplitude.segmentation({
          event: { eventType: "Purchase" },
          start: new Date(`${days[0]}T00:00:00Z`),
          end: new Date(`${days[6]}T00:00:00Z`)
        })
        assert.deepStrictEqual(
          uniques.days,
          perDay(days, (d) => new Set(purchases.filter((o) => o.day === d).map((o) => o.userId)).size)
        )
        assert.strictEqual(
          uniques.total,
          new Set(purchases.filter((o) => days.includes(o.day)).map((o) => o.userId)).size
        )
      }))

    it.effect("segmentation with a cohort segment and an event filter", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const amplitude = yield* connect(project)
        const days = lastDays(project, 14)
        const cohort = project.data.cohorts.find((c) => c.name === "US customers")!
        const members = new Set(cohort.userIds)
        const views = occurrencesOf(project, "View Item")
        const result = yield* amplitude.segmentation({
          event: { eventType: "View Item", filters: [{ type: "event", key: "category", op: "is", values: ["books"] }] },
          metric: "totals",
          start: days[0]!,
          end: days[13]!,
          segment: [Segment.cohort(cohort.id)]
        })
        assert.deepStrictEqual(
          result.days,
          perDay(days, (d) =>
            views.filter((o) =>
              o.day === d && members.has(o.userId) && o.properties["category"] === "books"
            ).length)
        )
        assert.isAbove(result.days.reduce((sum, p) => sum + p.value!, 0), 0)
        const [request] = yield* emulator.requests({ project: project.id, endpoint: "events.segmentation" })
        assert.deepStrictEqual(JSON.parse(request!.query["s"] as string), [
          { prop: "userdata_cohort", op: "is", values: [cohort.id] }
        ])
        assert.strictEqual(request!.query["start"], days[0]!.replaceAll("-", ""))
      }))

    it.effect("segmentation sums a numeric property; an empty answer means 0 for counts, null for averages", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const days = lastDays(project, 5)
        const purchases = occurrencesOf(project, "Purchase")
        const revenue = yield* amplitude.segmentation({
          event: { eventType: "Purchase" },
          metric: "sums",
          property: { type: "event", key: "revenue" },
          start: days[0]!,
          end: days[4]!
        })
        const sum = (d: string) =>
          purchases.filter((o) => o.day === d).reduce((s, o) => s + Number(o.properties["revenue"]), 0)
        revenue.days.forEach((point, i) => assert.closeTo(point.value!, sum(days[i]!), 1e-6))

        const nothing: EventSpec = {
          eventType: "Purchase",
          filters: [{ type: "event", key: "revenue", op: "is", values: ["-1"] }]
        }
        const empty = yield* amplitude.segmentation({
          event: nothing,
          metric: "totals",
          start: days[0]!,
          end: days[4]!
        })
        assert.deepStrictEqual(empty, { days: perDay(days, () => 0), total: 0, series: [] })
        const emptyAverage = yield* amplitude.segmentation({
          event: nothing,
          metric: "average",
          start: days[0]!,
          end: days[4]!
        })
        assert.deepStrictEqual(emptyAverage, { days: perDay(days, () => null), total: null, series: [] })
      }))

    it.effect("an invalid query is AmplitudeRejected 400 with Amplitude's reason", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const error = yield* Effect.flip(amplitude.segmentation({
          event: { eventType: "Purchase" },
          start: "2026-11-01",
          end: "2026-11-02",
          segment: [Segment.where("no_such_property", "is", ["x"])]
        }))
        assert.strictEqual(error._tag, "AmplitudeRejected")
        if (error._tag !== "AmplitudeRejected") return
        assert.strictEqual(error.status, 400)
        assert.match(error.message, /Invalid user property no_such_property/)
      }))

    it.effect("funnel: repeated e, conversion window in seconds, conversion from cumulativeRaw", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const amplitude = yield* connect(project)
        const days = lastDays(project, DAYS)
        const funnel = yield* amplitude.funnel({
          steps: [{ eventType: "View Item" }, { eventType: "Add to Cart" }, { eventType: "Purchase" }],
          start: days[0]!,
          end: days[DAYS - 1]!,
          conversionWindow: "1 day"
        })
        assert.isAbove(funnel.entered, 0)
        assert.isAtMost(funnel.converted, funnel.entered)
        assert.closeTo(funnel.conversion!, funnel.converted / funnel.entered, 1e-12)
        assert.deepStrictEqual(funnel.steps.map((s) => s.label), ["View Item", "Add to Cart", "Purchase"])
        assert.strictEqual(funnel.steps[0]!.count, funnel.entered)
        assert.strictEqual(funnel.steps[2]!.count, funnel.converted)
        assert.strictEqual(funnel.steps[0]!.medianTimeFromPreviousMs, null)
        assert.strictEqual(funnel.groups.length, 1)
        const [request] = yield* emulator.requests({ project: project.id, endpoint: "funnels" })
        assert.deepStrictEqual(
          (request!.query["e"] as ReadonlyArray<string>).map((e) => JSON.parse(e).event_type),
          ["View Item", "Add to Cart", "Purchase"]
        )
        assert.strictEqual(request!.query["cs"], "86400")
      }))

    it.effect("a funnel nobody entered has zero counts and no conversion", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const days = lastDays(project, 3)
        const funnel = yield* amplitude.funnel({
          steps: [
            { eventType: "Purchase", filters: [{ type: "event", key: "revenue", op: "is", values: ["-1"] }] },
            { eventType: "Share" }
          ],
          start: days[0]!,
          end: days[2]!
        })
        assert.deepStrictEqual(
          { entered: funnel.entered, converted: funnel.converted, conversion: funnel.conversion },
          { entered: 0, converted: 0, conversion: null }
        )
        assert.deepStrictEqual(funnel.steps.map((s) => s.count), [0, 0])
      }))

    it.effect("active users per day, and grouped labels from seriesLabels or seriesMeta", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const days = lastDays(project, 7)
        const active = (d: string) =>
          new Set(project.data.events.flatMap((e) => e.occurrences.filter((o) => o.day === d).map((o) => o.userId)))
            .size
        const users = yield* amplitude.users({ start: days[0]!, end: days[6]! })
        assert.deepStrictEqual(users.days, perDay(days, active))
        assert.strictEqual(users.total, null)

        const countries = new Set(project.data.users.map((u) => String(u.properties["country"])))
        const grouped = yield* amplitude.users({ start: days[0]!, end: days[6]!, groupBy: "country" })
        const labels = new Set(grouped.series.map((s) => s.label))
        assert.isTrue([...labels].every((label) => label !== null && countries.has(label)))
        const fromMeta = yield* withSwitches({ usersGroupLabels: "seriesMeta" })(
          amplitude.users({ start: days[0]!, end: days[6]!, groupBy: "country" })
        )
        assert.deepStrictEqual(fromMeta.series, grouped.series)
      }))

    it.effect("average session length per day (xValues with T00:00:00)", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const amplitude = yield* connect(project)
        const days = lastDays(project, 4)
        const result = yield* amplitude.averageSessionLength({ start: days[0]!, end: days[3]! })
        const average = (d: string) => {
          const lengths = project.data.sessions.filter((s) => s.day === d).map((s) => s.lengthSeconds)
          return lengths.length === 0 ? 0 : lengths.reduce((a, b) => a + b, 0) / lengths.length
        }
        assert.deepStrictEqual(result.days.map((p) => p.date), days)
        result.days.forEach((point, i) => assert.closeTo(point.value!, average(days[i]!), 1e-9))
      }))
  })

  describe("saved charts", () => {
    it.effect("reads a chart through /query (points as {setId, value})", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const amplitude = yield* connect(project)
        const chart = project.data.charts.find((c) => c.name === "Searches")!
        const result = yield* amplitude.savedChart(chart.id)
        assert.strictEqual(result._tag, "Series")
        if (result._tag !== "Series") return
        assert.strictEqual(result.source, "query")
        const searches = occurrencesOf(project, "Search")
        assert.strictEqual(result.days[0]!.date, chart.definition.start)
        assert.deepStrictEqual(
          result.days,
          result.days.map(({ date }) => ({ date, value: searches.filter((o) => o.day === date).length }))
        )
        assert.strictEqual(result.total, searches.filter((o) => o.day >= chart.definition.start).length)
        const endpoints = (yield* emulator.requests({ project: project.id })).map((r) => r.endpoint)
        assert.deepStrictEqual(endpoints, ["chart.query"])
      }))

    it.effect("falls back to /csv when /query answers a 4xx (the path Amplitude's docs retired)", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const stored = yield* storedConnection(project)
        const chart = project.data.charts.find((c) => c.name === "Searches")!
        // The emulator serves both paths; sending /query elsewhere makes it answer 404 as a retired path would.
        const retireQuery = (url: string) => url.replace(/\/query(\?|$)/, "/query-retired$1")
        const result = yield* withClient(
          adapterLayer({ rewriteUrl: retireQuery }),
          (client) => client.connection(stored).savedChart(chart.id)
        )
        assert.strictEqual(result._tag, "Series")
        if (result._tag !== "Series") return
        assert.strictEqual(result.source, "csv")
        assert.strictEqual(result.total, null)
        assert.strictEqual(result.series[0]!.label, "All Users")
        const searches = occurrencesOf(project, "Search")
        assert.strictEqual(result.days[0]!.date, chart.definition.start)
        assert.deepStrictEqual(
          result.days,
          result.days.map(({ date }) => ({ date, value: searches.filter((o) => o.day === date).length }))
        )
        const requests = (yield* emulator.requests({ host: "us" })).filter((r) => r.path.startsWith("/api/3/chart/"))
        assert.deepStrictEqual(requests.slice(-2).map((r) => `${r.endpoint} ${r.status}`), [
          "null 404",
          "chart.csv 200"
        ])
      }))

    for (const chartNotFoundStatus of [400, 403, 404] as const) {
      it.effect(`an unknown chart (${chartNotFoundStatus}) tries /query then /csv, then is AmplitudeRejected`, () =>
        Effect.gen(function*() {
          const project = yield* freshProject()
          const emulator = yield* AmplitudeEmulator
          const amplitude = yield* connect(project)
          const error = yield* Effect.flip(amplitude.savedChart("nochart"))
          assert.strictEqual(error._tag, "AmplitudeRejected")
          if (error._tag !== "AmplitudeRejected") return
          assert.strictEqual(error.status, chartNotFoundStatus)
          assert.match(error.message, /^Amplitude chart nochart was not found or is not accessible/)
          const endpoints = (yield* emulator.requests({ project: project.id })).map((r) => r.endpoint)
          assert.deepStrictEqual(endpoints, ["chart.query", "chart.csv"])
        }).pipe(withSwitches({ chartNotFoundStatus })))
    }
  })

  describe("experiments", () => {
    it.effect("pages through more than 1,000 experiments with the cursor", () =>
      Effect.gen(function*() {
        const emulator = yield* AmplitudeEmulator
        const project = yield* emulator.project(DEMO_PROJECTS.us.id)
        const amplitude = yield* connect(project)
        const experiments = Option.getOrThrow(amplitude.experiments)
        yield* emulator.resetInspection
        const active = yield* Stream.runCollect(experiments.list())
        const expected = project.data.experiments.filter((e) => !e.archived)
        assert.isAbove(expected.length, 1000)
        assert.deepStrictEqual(Chunk.toReadonlyArray(active).map((e) => e.id), expected.map((e) => e.id))
        const pages = yield* emulator.requests({ endpoint: "experiments.list" })
        assert.strictEqual(pages.length, 2)
        assert.strictEqual(pages[0]!.query["cursor"], undefined)
        assert.isString(pages[1]!.query["cursor"])

        const all = yield* Stream.runCount(experiments.list({ includeArchived: true }))
        assert.strictEqual(all, project.data.experiments.length)
      }))

    it.effect("reads the list one page at a time, each page giving the cursor of the next", () =>
      Effect.gen(function*() {
        const project = yield* freshProject({
          managementKeys: [`ampex_${crypto.randomUUID()}`],
          data: { experiments: 5 }
        })
        const experiments = Option.getOrThrow((yield* connect(project)).experiments)
        const first = yield* experiments.listPage({ pageSize: 3, includeArchived: true })
        assert.isString(first.nextCursor)
        const second = yield* experiments.listPage({ pageSize: 3, includeArchived: true }, first.nextCursor!)
        assert.isNull(second.nextCursor)
        assert.deepStrictEqual(
          [...first.experiments, ...second.experiments].map((e) => e.id),
          project.data.experiments.map((e) => e.id)
        )
      }))

    for (const experimentsLastPageCursor of ["null", "absent"] as const) {
      it.effect(`stops when the last page's nextCursor is ${experimentsLastPageCursor}`, () =>
        Effect.gen(function*() {
          const project = yield* freshProject({
            managementKeys: [`ampex_${crypto.randomUUID()}`],
            data: { experiments: 7 }
          })
          const amplitude = yield* connect(project)
          const experiments = Option.getOrThrow(amplitude.experiments)
          const listed = yield* Stream.runCollect(experiments.list({ pageSize: 2, includeArchived: true }))
          assert.deepStrictEqual(
            Chunk.toReadonlyArray(listed).map((e) => e.id),
            project.data.experiments.map((e) => e.id)
          )
          const first = Chunk.unsafeHead(listed)
          const source = project.data.experiments[0]!
          assert.deepStrictEqual(
            { key: first.key, state: first.state, variants: first.variants.map((v) => v.key) },
            { key: source.key, state: source.state, variants: source.variants.map((v) => v.key) }
          )
        }).pipe(withSwitches({ experimentsLastPageCursor })))
    }

    it.effect("gets one experiment by id; an unknown id is None", () =>
      Effect.gen(function*() {
        const project = yield* freshProject({ managementKeys: [`ampex_${crypto.randomUUID()}`] })
        const amplitude = yield* connect(project)
        const experiments = Option.getOrThrow(amplitude.experiments)
        const source = project.data.experiments[2]!
        const found = Option.getOrThrow(yield* experiments.get(source.id))
        assert.strictEqual(found.id, source.id)
        assert.strictEqual(found.projectId, source.projectId)
        assert.strictEqual(found.name, source.name)
        assert.isTrue(Option.isNone(yield* experiments.get("999999999")))
      }))

    it.effect("a connection without a management key has no experiments", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const client = yield* AmplitudeClient
        const amplitude = client.connection(yield* storedConnection(project, { managementKey: null }))
        assert.isTrue(Option.isNone(amplitude.experiments))
      }))

    it.effect("a revoked management key is InvalidCredentials; one without access is NoExperimentAccess", () =>
      Effect.gen(function*() {
        const revoked = `ampex_${crypto.randomUUID()}`
        const noAccess = `ampex_${crypto.randomUUID()}`
        const project = yield* freshProject({
          managementKeys: [{ key: revoked, revoked: true }, { key: noAccess, access: "none" }]
        })
        const client = yield* AmplitudeClient
        const withKey = (managementKey: string) =>
          Effect.map(
            storedConnection(project, { managementKey }),
            (stored) => Option.getOrThrow(client.connection(stored).experiments)
          )
        const invalid = yield* Effect.flip(Stream.runCollect((yield* withKey(revoked)).list()))
        assert.strictEqual(invalid._tag, "InvalidCredentials")
        assert.match(invalid.message, /Management API key/)
        const denied = yield* Effect.flip((yield* withKey(noAccess)).get("1"))
        assert.strictEqual(denied._tag, "NoExperimentAccess")
      }))
  })

  describe("spans", () => {
    it.effect("each call runs in a span named after the handle and the call, with its region and route template", () =>
      Effect.gen(function*() {
        const project = yield* freshProject({ managementKeys: [`ampex_${crypto.randomUUID()}`] })
        const amplitude = yield* connect(project)
        const experiments = Option.getOrThrow(amplitude.experiments)
        const { spans } = yield* traced(Effect.all([
          amplitude.listEvents(),
          amplitude.getCohort("unknown-cohort"),
          amplitude.ensureAnnotationCategory(`Spans ${crypto.randomUUID()}`),
          experiments.get("999999999"),
          Stream.runCollect(experiments.list({ pageSize: 2 }).pipe(Stream.take(1)))
        ]))
        const calls = spans
          .filter((span) => /^(ConnectedProject|AmplitudeExperiments)\./.test(span.name))
          .map((span) => ({
            name: span.name,
            parent: span.parent,
            region: span.attributes.get("amplitude.region"),
            endpoint: span.attributes.get("amplitude.endpoint"),
            status: span.attributes.get("http.response.status_code")
          }))
        const region = project.region
        assert.deepStrictEqual(calls, [
          { name: "ConnectedProject.listEvents", parent: null, region, endpoint: "/api/2/events/list", status: 200 },
          { name: "ConnectedProject.getCohort", parent: null, region, endpoint: "/api/3/cohorts/:id", status: 404 },
          {
            name: "ConnectedProject.ensureAnnotationCategory",
            parent: null,
            region: undefined,
            endpoint: undefined,
            status: undefined
          },
          {
            name: "ConnectedProject.listAnnotationCategories",
            parent: "ConnectedProject.ensureAnnotationCategory",
            region,
            endpoint: "/api/3/annotation-categories",
            status: 200
          },
          {
            name: "ConnectedProject.createAnnotationCategory",
            parent: "ConnectedProject.ensureAnnotationCategory",
            region,
            endpoint: "/api/3/annotation-categories",
            status: 200
          },
          { name: "AmplitudeExperiments.get", parent: null, region, endpoint: "/api/1/experiments/:id", status: 404 },
          { name: "AmplitudeExperiments.list", parent: null, region, endpoint: undefined, status: undefined },
          {
            name: "AmplitudeExperiments.listPage",
            parent: "AmplitudeExperiments.list",
            region,
            endpoint: "/api/1/experiments",
            status: 200
          }
        ])
      }))
  })

  describe("stored credentials", () => {
    it.effect("credentials sealed for another workspace are CredentialsUnreadable, and nothing is sent", () =>
      Effect.gen(function*() {
        const project = yield* freshProject()
        const emulator = yield* AmplitudeEmulator
        const client = yield* AmplitudeClient
        const stored = yield* storedConnection(project)
        const other = yield* storedConnection(project)
        const amplitude = client.connection({ ...stored, secretKey: other.secretKey })
        const error = yield* Effect.flip(amplitude.listEvents())
        assert.strictEqual(error._tag, "CredentialsUnreadable")
        if (error._tag !== "CredentialsUnreadable") return
        assert.strictEqual(error.slot, "secretKey")
        assert.strictEqual(error.reason, "AuthenticationFailed")
        assert.match(error.message, /^The stored Amplitude credentials can't be read/)
        assert.deepStrictEqual(yield* emulator.requests({ project: project.id }), [])
      }))
  })
})
