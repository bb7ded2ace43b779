import { AmplitudeRejected, InvalidCredentials } from "@findry/domain"
import { Effect, Schema } from "effect"
import { FunnelReply, type FunnelResult, toFunnelResult } from "./Funnel.js"
import { defineCall, spannedCall } from "./internal/Call.js"
import { type Credentials, scrub } from "./internal/Credentials.js"
import { decodeBody, errorText, isSuccess, type Reply } from "./internal/Replies.js"
import { type DailyValue, type Series, SeriesData, type SeriesResult, toSeriesResult } from "./Series.js"

/**
 * A saved chart's data. Amplitude's answer carries no chart type, so the kind is inferred from its shape:
 * a time series (segmentation-like charts), a funnel, or anything else as a table of text cells.
 * `source` tells which endpoint answered: `/query` (JSON) or its `/csv` twin.
 */
export type SavedChartResult =
  | (SeriesResult & { readonly _tag: "Series"; readonly source: "query" | "csv" })
  | (FunnelResult & { readonly _tag: "Funnel"; readonly source: "query" })
  | {
    readonly _tag: "Table"
    readonly source: "query" | "csv"
    readonly rows: ReadonlyArray<ReadonlyArray<string>>
  }

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const SeriesChart = Schema.Struct({ data: SeriesData.pipe(Schema.filter((d) => d.xValues.length > 0)) })
const TableChart = Schema.Struct({
  data: Schema.Struct({ labels: Schema.Array(Schema.Unknown), values: Schema.Array(Schema.Array(Schema.Unknown)) })
})
const CsvChart = Schema.Struct({ data: Schema.String })

/** Any JSON object; the shape is decided by `fromQueryAnswer`. */
export const ChartQueryReply = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export const ChartCsvReply = CsvChart

const cell = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)

/** `undefined` when the body has none of the known shapes. */
export const fromQueryAnswer = (body: unknown): SavedChartResult | undefined => {
  if (!isRecord(body)) return undefined
  const series = Schema.decodeUnknownOption(SeriesChart)(body)
  if (series._tag === "Some") {
    return {
      _tag: "Series",
      source: "query",
      ...toSeriesResult(series.value.data, { missing: null, collapsedIsTotal: true })
    }
  }
  if (Array.isArray(body["data"])) {
    const funnel = Schema.decodeUnknownOption(FunnelReply)(body)
    if (funnel._tag === "Some") return { _tag: "Funnel", source: "query", ...toFunnelResult(funnel.value.data, []) }
  }
  const table = Schema.decodeUnknownOption(TableChart)(body)
  if (table._tag === "Some") {
    return {
      _tag: "Table",
      source: "query",
      rows: [table.value.data.labels.map(cell), ...table.value.data.values.map((row) => row.map(cell))]
    }
  }
  return undefined
}

/** Splits Amplitude's chart CSV: `\r\n` lines, double-quoted cells, text cells starting with a tab. */
export const parseCsv = (text: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let value = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (quoted) {
      if (char === "\"" && text[i + 1] === "\"") {
        value += "\""
        i++
      } else if (char === "\"") quoted = false
      else value += char
    } else if (char === "\"") quoted = true
    else if (char === ",") {
      row.push(value)
      value = ""
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++
      row.push(value)
      rows.push(row)
      row = []
      value = ""
    } else value += char
  }
  if (value !== "" || row.length > 0) {
    row.push(value)
    rows.push(row)
  }
  return rows.map((cells) => cells.map((c) => c.replace(/^\t/, "").trim()))
}

const DATE_CELL = /^\d{4}-\d{2}-\d{2}/

const numberOrNull = (text: string): number | null => {
  const cleaned = text.replace(/[,%\s]/g, "")
  if (cleaned === "") return null
  const n = Number(cleaned)
  return Number.isFinite(n) ? n : null
}

/**
 * The time-series layout (title, description, metric, event, then a `Segment` header of dates and one row
 * per segment) becomes a series result; any other layout a table.
 */
export const fromCsv = (text: string): SavedChartResult => {
  const rows = parseCsv(text).filter((r) => r.some((c) => c !== ""))
  const headerIndex = rows.findIndex((r) => r.length > 1 && r.slice(1).every((c) => DATE_CELL.test(c)))
  if (headerIndex < 0) return { _tag: "Table", source: "csv", rows }
  const dates = rows[headerIndex]!.slice(1).map((c) => c.slice(0, 10))
  const series: Array<Series> = rows.slice(headerIndex + 1).map((r) => ({
    label: r[0] === undefined || r[0] === "" ? null : r[0],
    days: dates.map((date, j): DailyValue => ({ date, value: numberOrNull(r[j + 1] ?? "") })),
    total: null
  }))
  const first = series[0]
  return {
    _tag: "Series",
    source: "csv",
    days: first?.days ?? dates.map((date) => ({ date, value: null })),
    total: null,
    series
  }
}

const chartUnavailable = (chartId: string, reply: Reply, credentials: Credentials) => {
  const detail = errorText(reply)
  return new AmplitudeRejected({
    status: reply.status,
    message: `Amplitude chart ${chartId} was not found or is not accessible` +
      (detail === undefined ? "" : ` (${scrub(credentials, detail).slice(0, 200)})`)
  })
}

/**
 * A saved chart: `GET /api/3/chart/:id/query`, then `/csv` on a 4xx other than 429. A chart that neither serves
 * is `AmplitudeRejected` with the last status ("chart not found or not accessible").
 */
export const savedChart = defineCall(
  "analytics",
  (sender, name) =>
    spannedCall(sender, name, (chartId: string) =>
      Effect.gen(function*() {
        const path = `/api/3/chart/${encodeURIComponent(chartId)}`
        const query = yield* sender.send({ endpoint: "/api/3/chart/:id/query", path: `${path}/query`, cost: 1 })
        if (query.reply.status === 401) return yield* new InvalidCredentials({})
        if (isSuccess(query.reply)) {
          const body = yield* decodeBody(ChartQueryReply, query.reply, "/api/3/chart/:id/query")
          const result = fromQueryAnswer(body)
          if (result !== undefined) return result
        }
        const csv = yield* sender.send({ endpoint: "/api/3/chart/:id/csv", path: `${path}/csv`, cost: 1 })
        if (csv.reply.status === 401) return yield* new InvalidCredentials({})
        if (!isSuccess(csv.reply)) return yield* chartUnavailable(chartId, csv.reply, csv.credentials)
        const body = yield* decodeBody(ChartCsvReply, csv.reply, "/api/3/chart/:id/csv")
        return fromCsv(body.data)
      }))
)
