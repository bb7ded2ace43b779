import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { AnnotationListReply, CategoryListReply, toAnnotation, toCategories } from "../src/Annotations.js"
import { CohortListReply, toCohort } from "../src/Cohorts.js"
import { EventListReply, toEventSummaries } from "../src/Events.js"
import { ExperimentPageReply, toExperimentPage } from "../src/Experiments.js"
import { FunnelReply, toFunnelResult } from "../src/Funnel.js"
import { fromCsv, fromQueryAnswer } from "../src/SavedChart.js"
import { SeriesReply, toSeriesResult } from "../src/Series.js"

const decode = <A, I>(schema: Schema.Schema<A, I>, json: string) => Schema.decodeUnknown(schema)(JSON.parse(json))

const counts = { missing: 0, collapsedIsTotal: true } as const

describe("tolerant parsers (documented and observed variants)", () => {
  describe("series", () => {
    it.effect("points as numbers, collapsed as [{setId, value}], diagnostic keys ignored", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          SeriesReply,
          `{"data":{"series":[[1302,1418,1275]],"seriesLabels":[0],"seriesCollapsed":[[{"setId":"","value":3995}]],
           "xValues":["2026-07-01","2026-07-02","2026-07-03"]},"timeComputed":1783123200000,"wasCached":false,
           "novaCost":3,"perQueryMetadata":[{"queryId":"Tm2kQ9vB4z","queryType":"MULTI_SEGMENTATION","cached":false}]}`
        )
        assert.deepStrictEqual(toSeriesResult(reply.data, counts), {
          days: [
            { date: "2026-07-01", value: 1302 },
            { date: "2026-07-02", value: 1418 },
            { date: "2026-07-03", value: 1275 }
          ],
          total: 3995,
          series: [{
            label: null,
            days: [
              { date: "2026-07-01", value: 1302 },
              { date: "2026-07-02", value: 1418 },
              { date: "2026-07-03", value: 1275 }
            ],
            total: 3995
          }]
        })
      }))

    it.effect("points as {setId, value} and collapsed as [[N]]; xValues with T00:00:00", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          SeriesReply,
          `{"data":{"series":[[{"setId":"","value":412},{"setId":"","value":398}]],"seriesCollapsed":[[1050]],
           "seriesMeta":[{"segmentIndex":0,"eventIndex":0}],"xValues":["2026-07-01T00:00:00","2026-07-02T00:00:00"]}}`
        )
        const result = toSeriesResult(reply.data, counts)
        assert.deepStrictEqual(result.days, [{ date: "2026-07-01", value: 412 }, { date: "2026-07-02", value: 398 }])
        assert.strictEqual(result.total, 1050)
      }))

    it.effect("group labels: strings, [index, label] pairs, or seriesMeta strings", () =>
      Effect.gen(function*() {
        const labels = yield* decode(
          SeriesReply,
          `{"data":{"series":[[1],[2],[3]],"seriesLabels":["United States",[0,"Canada"],0],
           "seriesMeta":[{"segmentIndex":0},{"segmentIndex":0},"Mexico"],"xValues":["2026-07-01"]}}`
        )
        assert.deepStrictEqual(
          toSeriesResult(labels.data, counts).series.map((s) => s.label),
          ["United States", "Canada", "Mexico"]
        )
      }))

    it.effect("empty series with xValues: 0 for counts, null for averages; a short row is padded", () =>
      Effect.gen(function*() {
        const empty = yield* decode(
          SeriesReply,
          `{"data":{"series":[],"seriesCollapsed":[],"seriesLabels":[],"xValues":["2026-09-20","2026-09-21"]}}`
        )
        assert.deepStrictEqual(toSeriesResult(empty.data, counts), {
          days: [{ date: "2026-09-20", value: 0 }, { date: "2026-09-21", value: 0 }],
          total: 0,
          series: []
        })
        assert.deepStrictEqual(toSeriesResult(empty.data, { missing: null, collapsedIsTotal: true }).total, null)
        const short = yield* decode(SeriesReply, `{"data":{"series":[[5, null]],"xValues":["a","b","c"]}}`)
        assert.deepStrictEqual(
          toSeriesResult(short.data, { missing: null, collapsedIsTotal: true }).days.map((d) => d.value),
          [
            5,
            null,
            null
          ]
        )
      }))

    it.effect("a body without data is rejected", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(decode(SeriesReply, `{"error":"nope"}`))
        assert.strictEqual(error._tag, "ParseError")
      }))
  })

  describe("funnels", () => {
    it.effect("conversion from cumulativeRaw; index 0 of transition times and -1 ignored", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          FunnelReply,
          `{"data":[{"meta":{"segmentIndex":0},"groupValue":"","events":["Sign Up","Purchase (card)"],
            "cumulativeRaw":[1200,310],"cumulative":[1.0,0.2583],"medianTransTimes":[5400000,5400000],
            "avgTransTimes":[9120000,-1],"dayFunnels":{"xValues":["2026-07-01"],"series":[[410,121]]},
            "dropoffCounts":{"0":0,"1":890}}],"numSeries":1,"novaCost":12}`
        )
        const result = toFunnelResult(reply.data, ["Sign Up", "Purchase"])
        assert.deepStrictEqual(
          { entered: result.entered, converted: result.converted, group: result.group },
          { entered: 1200, converted: 310, group: null }
        )
        assert.closeTo(result.conversion!, 310 / 1200, 1e-12)
        assert.deepStrictEqual(result.steps[1], {
          label: "Purchase (card)",
          count: 310,
          conversionFromStart: 310 / 1200,
          conversionFromPrevious: 310 / 1200,
          medianTimeFromPreviousMs: 5400000,
          averageTimeFromPreviousMs: null
        })
        assert.strictEqual(result.steps[0]!.medianTimeFromPreviousMs, null)
      }))

    it.effect("no matching users: data [] gives zeros and named steps", () =>
      Effect.gen(function*() {
        const reply = yield* decode(FunnelReply, `{"data":[],"numSeries":0}`)
        const result = toFunnelResult(reply.data, ["A", "B"])
        assert.deepStrictEqual(
          [result.entered, result.converted, result.conversion, result.steps.map((s) => s.label)],
          [0, 0, null, ["A", "B"]]
        )
      }))
  })

  describe("annotations", () => {
    it.effect("categories keyed `category` (observed) or `name` (docs)", () =>
      Effect.gen(function*() {
        const observed = yield* decode(
          CategoryListReply,
          `{"data":[{"id":1,"category":"Uncategorized"},{"id":1247,"category":"TestCategory2026"}]}`
        )
        const docs = yield* decode(CategoryListReply, `{"data":[{"id":45678,"name":"Releases"}]}`)
        assert.deepStrictEqual(toCategories(observed), [
          { id: 1, name: "Uncategorized" },
          { id: 1247, name: "TestCategory2026" }
        ])
        assert.deepStrictEqual(toCategories(docs), [{ id: 45678, name: "Releases" }])
      }))

    it.effect("the observed create answer, with a null end and chart id", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          AnnotationListReply,
          `{"data":[{"id":939891,"start":"2026-06-15T00:00:00+00:00","label":"Test Annotation","details":null,
            "category":{"id":1,"category":"Uncategorized"},"end":null,"chart_id":null},
            {"id":"5","start":"2026-06-16T07:00:00Z","label":"docs","category":{"id":2,"name":"Releases"},
             "chart_id":12345}]}`
        )
        const [observed, docs] = reply.data.map(toAnnotation)
        assert.strictEqual(observed!.start.toISOString(), "2026-06-15T00:00:00.000Z")
        assert.deepStrictEqual(observed!.category, { id: 1, name: "Uncategorized" })
        assert.strictEqual(observed!.end, null)
        assert.strictEqual(docs!.id, 5)
        assert.strictEqual(docs!.chartId, "12345")
        assert.strictEqual(docs!.details, null)
      }))
  })

  describe("cohorts, events and experiments", () => {
    it.effect("a nullable field takes its type, null or nothing, and refuses any other type", () =>
      Effect.gen(function*() {
        const cohort = (fields: string) => decode(CohortListReply, `{"cohorts":[{"id":"c1","name":"C"${fields}}]}`)
        for (const fields of [`,"description":"d","size":3,"archived":true`, `,"description":null,"size":null`, ``]) {
          yield* cohort(fields)
        }
        for (const wrong of [`,"description":5`, `,"size":"3"`, `,"archived":"yes"`, `,"description":{}`]) {
          const result = yield* Effect.either(cohort(wrong))
          assert.isTrue(result._tag === "Left", `${wrong} was accepted`)
        }
      }))

    it.effect("cohort ids as numbers become strings; extra fields are ignored", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          CohortListReply,
          `{"cohorts":[{"appId":829528,"archived":false,"id":1234,"name":"Buyers","size":12,"lastComputed":1781610980,
            "per_app_metadata":null,"owners":["amp"],"definition":{"version":3}},{"id":"9apg8e8f","name":"Bare"}]}`
        )
        const [numeric, bare] = reply.cohorts.map(toCohort)
        assert.strictEqual(numeric!.id, "1234")
        assert.strictEqual(numeric!.lastComputedAt!.getTime(), 1781610980 * 1000)
        assert.deepStrictEqual(bare, {
          id: "9apg8e8f",
          name: "Bare",
          description: null,
          size: null,
          archived: false,
          lastComputedAt: null,
          appId: null
        })
      }))

    it.effect("event list entries use `value` (docs) or `name`", () =>
      Effect.gen(function*() {
        const reply = yield* decode(
          EventListReply,
          `{"data":[{"non_active":false,"value":"Add Content to Cart","totals":1505645,"deleted":false,"flow_hidden":false,
            "hidden":false,"display":"Add Content to Cart"},{"id":2,"name":"Only Name"},{"id":3}]}`
        )
        assert.deepStrictEqual(toEventSummaries(reply).map((e) => [e.name, e.totals]), [
          ["Add Content to Cart", 1505645],
          ["Only Name", null]
        ])
      }))

    it.effect("experiment pages: numeric ids, nextCursor top-level, absent, null or inside the array (docs)", () =>
      Effect.gen(function*() {
        const top = toExperimentPage(
          yield* decode(
            ExperimentPageReply,
            `{"experiments":[{"id":183980,"projectId":289220,"key":"checkout-cta","name":"Checkout CTA","state":"running",
              "variants":[{"key":"control"},{"key":"treatment","payload":{"a":1}}],"deployments":["14"]}],"nextCursor":"abc"}`
          )
        )
        assert.deepStrictEqual(
          [top.experiments[0]!.id, top.experiments[0]!.projectId, top.nextCursor],
          ["183980", "289220", "abc"]
        )
        assert.deepStrictEqual(top.experiments[0]!.variants, [
          { key: "control", name: null },
          { key: "treatment", name: null }
        ])
        const absent = toExperimentPage(yield* decode(ExperimentPageReply, `{"experiments":[]}`))
        assert.strictEqual(absent.nextCursor, null)
        const nulled = toExperimentPage(yield* decode(ExperimentPageReply, `{"experiments":[],"nextCursor":null}`))
        assert.strictEqual(nulled.nextCursor, null)
        const inside = toExperimentPage(
          yield* decode(
            ExperimentPageReply,
            `{"experiments":[{"id":"1","key":"k"},{"nextCursor":"xyz"}]}`
          )
        )
        assert.deepStrictEqual([inside.experiments.length, inside.nextCursor], [1, "xyz"])
        const broken = yield* Effect.flip(decode(ExperimentPageReply, `{"experiments":[{"id":"1"}]}`))
        assert.strictEqual(broken._tag, "ParseError")
      }))
  })

  describe("saved charts", () => {
    it.effect("the /csv time-series layout becomes a series (recorded sample)", () =>
      Effect.sync(() => {
        const csv =
          "\"\tDaily buyers\"\r\n\"\tSaved chart\"\r\n\r\n\"\tUniques\"\r\n\"\tPurchase\"\r\n\r\n\"\tSegment\",\"\t2026-07-01\",\"\t2026-07-02\",\"\t2026-07-03\"\r\n\"\tAll Users\",\"412\",\"398\",\"431\"\r\n"
        const result = fromCsv(csv)
        assert.strictEqual(result._tag, "Series")
        if (result._tag !== "Series") return
        assert.strictEqual(result.source, "csv")
        assert.deepStrictEqual(result.days, [
          { date: "2026-07-01", value: 412 },
          { date: "2026-07-02", value: 398 },
          { date: "2026-07-03", value: 431 }
        ])
        assert.strictEqual(result.series[0]!.label, "All Users")
      }))

    it.effect("other CSV layouts come back as a table; /query tables and funnels are recognised", () =>
      Effect.sync(() => {
        const table = fromCsv("\"\tStep\",\"\tUsers\"\r\n\"\tTotal\",\"1,200\"\r\n")
        assert.deepStrictEqual(table, { _tag: "Table", source: "csv", rows: [["Step", "Users"], ["Total", "1,200"]] })
        const fromJson = fromQueryAnswer({ data: { labels: ["a", "b"], values: [[1, "x"]] } })
        assert.deepStrictEqual(fromJson, { _tag: "Table", source: "query", rows: [["a", "b"], ["1", "x"]] })
        const funnel = fromQueryAnswer({ data: [{ cumulativeRaw: [10, 4], events: ["A", "B"] }] })
        assert.strictEqual(funnel?._tag, "Funnel")
        assert.isUndefined(fromQueryAnswer({ data: { something: 1 } }))
      }))
  })
})
