import {
  dashboardError,
  type HttpResult,
  isRecord,
  json,
  parseJson,
  type RequestContext,
  type Route,
  sleep
} from "./Http.js"
import type { Annotation, AnnotationCategory, ProjectState } from "./Project.js"

const categoryJson = (ctx: RequestContext, category: AnnotationCategory) =>
  ctx.switches.annotationCategoryKey === "name"
    ? { id: category.id, name: category.name }
    : { id: category.id, category: category.name }

const categoryOf = (state: ProjectState, id: number): AnnotationCategory =>
  state.annotationCategories.find((c) => c.id === id) ?? state.annotationCategories[0]!

/** Key order follows the Observed create response. */
const annotationJson = (ctx: RequestContext, annotation: Annotation) => ({
  id: annotation.id,
  start: annotation.start,
  label: annotation.label,
  details: annotation.details,
  category: categoryJson(ctx, categoryOf(ctx.project, annotation.categoryId)),
  end: annotation.end,
  chart_id: annotation.chartId
})

const badRequest = (details: string) => dashboardError(400, "invalid", "Invalid request", details)
const notFound = (details: string) => dashboardError(404, "not_found", "Not found", details)
const conflict = (details: string) => dashboardError(409, "conflict", "Conflict", details)

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

const isIsoTimestamp = (value: unknown): value is string =>
  typeof value === "string" && ISO_8601.test(value) && !Number.isNaN(Date.parse(value))

const findCategoryByName = (state: ProjectState, name: string) =>
  state.annotationCategories.find((c) => c.name === name)

const parseId = (raw: string | undefined): number | undefined =>
  raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined

type Fields = Partial<Omit<Annotation, "id">>

/** Validates create/update fields; `partial` allows missing required fields (PUT). */
const readFields = (state: ProjectState, body: Record<string, unknown>, partial: boolean): Fields | HttpResult => {
  const fields: { -readonly [K in keyof Fields]: Fields[K] } = {}
  if (body["label"] !== undefined || !partial) {
    if (typeof body["label"] !== "string" || body["label"].trim() === "") return badRequest("label is required")
    fields.label = body["label"]
  }
  if (body["start"] !== undefined || !partial) {
    if (!isIsoTimestamp(body["start"])) return badRequest("start must be an ISO 8601 timestamp")
    fields.start = body["start"]
  }
  if (body["end"] !== undefined) {
    if (body["end"] !== null && !isIsoTimestamp(body["end"])) return badRequest("end must be an ISO 8601 timestamp")
    fields.end = body["end"]
  }
  if (body["details"] !== undefined) {
    if (body["details"] !== null && typeof body["details"] !== "string") return badRequest("details must be a string")
    fields.details = body["details"]
  }
  if (body["chart_id"] !== undefined) {
    const chartId = body["chart_id"]
    if (chartId !== null && typeof chartId !== "string" && typeof chartId !== "number") {
      return badRequest("chart_id must be a string")
    }
    fields.chartId = chartId === null ? null : String(chartId)
  }
  if (body["category"] !== undefined && body["category"] !== null) {
    if (typeof body["category"] !== "string") return badRequest("category must be a category name")
    const category = findCategoryByName(state, body["category"])
    if (category === undefined) return notFound(`Category ${body["category"]} not found`)
    fields.categoryId = category.id
  }
  return fields
}

const readBody = (ctx: RequestContext): Record<string, unknown> | HttpResult => {
  const body = parseJson(ctx.body)
  return isRecord(body) ? body : badRequest("Request body must be a JSON object")
}

const isResult = (value: unknown): value is HttpResult => isRecord(value) && typeof value["status"] === "number"

const createAnnotation = async (ctx: RequestContext): Promise<HttpResult> => {
  const body = readBody(ctx)
  if (isResult(body)) return body
  const fields = readFields(ctx.project, body, false)
  if (isResult(fields)) return fields
  const annotation: Annotation = {
    id: ctx.project.nextAnnotationId++,
    label: fields.label!,
    start: fields.start!,
    end: fields.end ?? null,
    details: fields.details ?? null,
    categoryId: fields.categoryId ?? 1,
    chartId: fields.chartId ?? null
  }
  ctx.project.annotations.set(annotation.id, annotation)
  const hold = ctx.holdAfterCreate()
  if (hold !== undefined) await sleep(hold, ctx.signal)
  return json({ data: annotationJson(ctx, annotation) })
}

const overlaps = (annotation: Annotation, from: number | undefined, to: number | undefined) => {
  const start = Date.parse(annotation.start)
  const end = annotation.end === null ? start : Date.parse(annotation.end)
  return (from === undefined || end >= from) && (to === undefined || start <= to)
}

const listAnnotations = (ctx: RequestContext): HttpResult => {
  const category = ctx.query.get("category")
  const chartId = ctx.query.get("chart_id")
  if (category !== null && chartId !== null) return badRequest("category and chart_id cannot be combined")
  const bounds: Array<number | undefined> = []
  for (const key of ["start", "end"]) {
    const value = ctx.query.get(key)
    if (value !== null && !isIsoTimestamp(value)) return badRequest(`${key} must be an ISO 8601 timestamp`)
    bounds.push(value === null ? undefined : Date.parse(value))
  }
  const categoryId = category === null ? undefined : findCategoryByName(ctx.project, category)?.id ?? -1
  const data = [...ctx.project.annotations.values()]
    .filter((a) => categoryId === undefined || a.categoryId === categoryId)
    .filter((a) => chartId === null || a.chartId === chartId)
    .filter((a) => overlaps(a, bounds[0], bounds[1]))
    .map((a) => annotationJson(ctx, a))
  return json({ data })
}

const withAnnotation = (ctx: RequestContext, f: (annotation: Annotation) => HttpResult): HttpResult => {
  const id = parseId(ctx.params["id"])
  if (id === undefined) return badRequest("annotation_id must be an integer")
  const annotation = ctx.project.annotations.get(id)
  return annotation === undefined ? notFound(`Annotation ${id} not found`) : f(annotation)
}

const updateAnnotation = (ctx: RequestContext): HttpResult =>
  withAnnotation(ctx, (annotation) => {
    const body = readBody(ctx)
    if (isResult(body)) return body
    const fields = readFields(ctx.project, body, true)
    if (isResult(fields)) return fields
    const updated: Annotation = { ...annotation, ...fields }
    ctx.project.annotations.set(updated.id, updated)
    return json({ data: annotationJson(ctx, updated) })
  })

/** Observed: `{"success":true}` with `content-length: 17`, i.e. a trailing newline. */
const deleted = (): HttpResult => ({ ...json({ success: true }), body: "{\"success\":true}\n" })

const deleteAnnotation = (ctx: RequestContext): HttpResult =>
  withAnnotation(ctx, (annotation) => {
    ctx.project.annotations.delete(annotation.id)
    return deleted()
  })

const categoryName = (body: Record<string, unknown>): string | undefined => {
  const value = body["category"] ?? body["name"]
  return typeof value === "string" && value.trim() !== "" ? value : undefined
}

const listCategories = (ctx: RequestContext): HttpResult => {
  const name = ctx.query.get("category")
  const categories = ctx.project.annotationCategories.filter((c) => name === null || c.name === name)
  if (name !== null && categories.length === 0) return notFound(`Category ${name} not found`)
  return json({ data: categories.map((c) => categoryJson(ctx, c)) })
}

const createCategory = (ctx: RequestContext): HttpResult => {
  const body = readBody(ctx)
  if (isResult(body)) return body
  const name = categoryName(body)
  if (name === undefined) return badRequest("category is required")
  if (findCategoryByName(ctx.project, name) !== undefined) return conflict(`Category ${name} already exists`)
  const category = { id: ctx.project.nextCategoryId++, name }
  ctx.project.annotationCategories.push(category)
  return json({ data: categoryJson(ctx, category) })
}

const withCategory = (ctx: RequestContext, f: (category: AnnotationCategory, index: number) => HttpResult) => {
  const id = parseId(ctx.params["id"])
  if (id === undefined) return badRequest("category_id must be an integer")
  const index = ctx.project.annotationCategories.findIndex((c) => c.id === id)
  return index < 0 ? notFound(`Category ${id} not found`) : f(ctx.project.annotationCategories[index]!, index)
}

const renameCategory = (ctx: RequestContext): HttpResult =>
  withCategory(ctx, (category, index) => {
    const body = readBody(ctx)
    if (isResult(body)) return body
    const name = categoryName(body)
    if (name === undefined) return badRequest("category is required")
    const existing = findCategoryByName(ctx.project, name)
    if (existing !== undefined && existing.id !== category.id) return conflict(`Category ${name} already exists`)
    const renamed = { id: category.id, name }
    ctx.project.annotationCategories[index] = renamed
    return json({ data: categoryJson(ctx, renamed) })
  })

const deleteCategory = (ctx: RequestContext): HttpResult =>
  withCategory(ctx, (category, index) => {
    if (category.id === 1) return badRequest("The default category cannot be deleted")
    ctx.project.annotationCategories.splice(index, 1)
    for (const annotation of ctx.project.annotations.values()) {
      if (annotation.categoryId === category.id) {
        ctx.project.annotations.set(annotation.id, { ...annotation, categoryId: 1 })
      }
    }
    return deleted()
  })

const bulkAssign = (ctx: RequestContext): HttpResult =>
  withCategory(ctx, (category) => {
    const body = readBody(ctx)
    if (isResult(body)) return body
    const ids = body["annotation_ids"]
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "number")) {
      return badRequest("annotation_ids must be an array of integers")
    }
    const missing = ids.find((id) => !ctx.project.annotations.has(id))
    if (missing !== undefined) return notFound(`Annotation ${missing} not found`)
    const updated = ids.map((id) => {
      const annotation = { ...ctx.project.annotations.get(id)!, categoryId: category.id }
      ctx.project.annotations.set(id, annotation)
      return annotationJson(ctx, annotation)
    })
    return json({ data: updated })
  })

const v2Json = (annotation: Annotation) => ({
  id: annotation.id,
  date: annotation.start.slice(0, 10),
  label: annotation.label,
  details: annotation.details ?? ""
})

const listV2 = (ctx: RequestContext): HttpResult => {
  const id = ctx.query.get("id")
  const data = [...ctx.project.annotations.values()]
    .filter((a) => id === null || String(a.id) === id)
    .map(v2Json)
  return json({ data })
}

const createV2 = (ctx: RequestContext): HttpResult => {
  const appId = ctx.query.get("app_id")
  const date = ctx.query.get("date")
  const label = ctx.query.get("label")
  if (appId === null || date === null || label === null) return badRequest("app_id, date and label are required")
  if (appId !== String(ctx.project.project.appId)) return badRequest(`Invalid app_id ${appId}`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) return badRequest("Invalid date")
  const annotation: Annotation = {
    id: ctx.project.nextAnnotationId++,
    label,
    start: `${date}T00:00:00+00:00`,
    end: null,
    details: ctx.query.get("details"),
    categoryId: 1,
    chartId: ctx.query.get("chart_id")
  }
  ctx.project.annotations.set(annotation.id, annotation)
  return json({ annotation: v2Json(annotation), success: true })
}

export const annotationRoutes: ReadonlyArray<Route> = [
  { method: "POST", pattern: "/api/3/annotations", name: "annotations.create", handle: createAnnotation },
  { method: "GET", pattern: "/api/3/annotations", name: "annotations.list", handle: listAnnotations },
  {
    method: "GET",
    pattern: "/api/3/annotations/:id",
    name: "annotations.get",
    handle: (ctx) => withAnnotation(ctx, (a) => json({ data: annotationJson(ctx, a) }))
  },
  { method: "PUT", pattern: "/api/3/annotations/:id", name: "annotations.update", handle: updateAnnotation },
  { method: "DELETE", pattern: "/api/3/annotations/:id", name: "annotations.delete", handle: deleteAnnotation },
  { method: "GET", pattern: "/api/3/annotation-categories", name: "annotationCategories.list", handle: listCategories },
  {
    method: "POST",
    pattern: "/api/3/annotation-categories",
    name: "annotationCategories.create",
    handle: createCategory
  },
  {
    method: "PUT",
    pattern: "/api/3/annotation-categories/bulk/:id",
    name: "annotationCategories.bulk",
    handle: bulkAssign
  },
  {
    method: "GET",
    pattern: "/api/3/annotation-categories/:id",
    name: "annotationCategories.get",
    handle: (ctx) => withCategory(ctx, (c) => json({ data: categoryJson(ctx, c) }))
  },
  {
    method: "PUT",
    pattern: "/api/3/annotation-categories/:id",
    name: "annotationCategories.update",
    handle: renameCategory
  },
  {
    method: "DELETE",
    pattern: "/api/3/annotation-categories/:id",
    name: "annotationCategories.delete",
    handle: deleteCategory
  },
  { method: "GET", pattern: "/api/2/annotations", name: "annotationsV2.list", handle: listV2 },
  { method: "POST", pattern: "/api/2/annotations", name: "annotationsV2.create", handle: createV2 }
]
