import { type HttpResult, json, type RequestContext, type Route } from "./Http.js"
import type { Experiment } from "./Seed.js"

/** Experiment Management API error body: `{"error":{"code":N,"message":"…"}}` (shape undocumented). */
export const experimentError = (status: number, message: string, headers: Readonly<Record<string, string>> = {}) =>
  json({ error: { code: status, message } }, status, headers)

const MAX_LIMIT = 1000

const encodeCursor = (experiment: Experiment) => Buffer.from(`exp:${experiment.id}`).toString("base64url")

const decodeCursor = (cursor: string): string | undefined => {
  const decoded = Buffer.from(cursor, "base64url").toString("utf8")
  return decoded.startsWith("exp:") ? decoded.slice(4) : undefined
}

/**
 * `GET /api/1/experiments`: most recently created first; archived ones only with
 * `includeArchived=true`; `limit` defaults to and is capped at 1000.
 */
const listExperiments = (ctx: RequestContext): HttpResult => {
  const rawLimit = ctx.query.get("limit")
  const limit = rawLimit === null ? MAX_LIMIT : Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1) return experimentError(400, "limit must be a positive integer")
  const includeArchived = ctx.query.get("includeArchived") === "true"
  const key = ctx.query.get("key")
  const projectId = ctx.query.get("projectId")
  const visible = ctx.project.project.data.experiments.filter((e) =>
    (includeArchived || !e.archived) && (key === null || e.key === key) &&
    (projectId === null || e.projectId === projectId)
  )
  let from = 0
  const cursor = ctx.query.get("cursor")
  if (cursor !== null && cursor !== "") {
    const id = decodeCursor(cursor)
    from = visible.findIndex((e) => e.id === id)
    if (from < 0) return experimentError(400, "Invalid cursor")
  }
  const page = visible.slice(from, from + Math.min(limit, MAX_LIMIT))
  const next = visible[from + page.length]
  if (next !== undefined) return json({ experiments: page, nextCursor: encodeCursor(next) })
  return json(
    ctx.switches.experimentsLastPageCursor === "null" ? { experiments: page, nextCursor: null } : { experiments: page }
  )
}

const getExperiment = (ctx: RequestContext): HttpResult => {
  const experiment = ctx.project.project.data.experiments.find((e) => e.id === ctx.params["id"])
  return experiment === undefined
    ? experimentError(404, `Experiment ${ctx.params["id"]} not found`)
    : json(experiment)
}

export const experimentRoutes: ReadonlyArray<Route> = [
  { method: "GET", pattern: "/api/1/experiments", name: "experiments.list", handle: listExperiments },
  { method: "GET", pattern: "/api/1/experiments/:id", name: "experiments.get", handle: getExperiment }
]
