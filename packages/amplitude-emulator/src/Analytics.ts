import { annotationRoutes } from "./Annotations.js"
import { dashboardRoutes } from "./Dashboard.js"
import { dashboardError, type HttpResult, json, type RequestContext, type Route, taxonomyError } from "./Http.js"
import type { Cohort, EventType } from "./Seed.js"

const taxonomyGated = (handle: (ctx: RequestContext) => HttpResult) => (ctx: RequestContext): HttpResult =>
  ctx.project.taxonomy
    ? handle(ctx)
    : taxonomyError(ctx.switches.taxonomyGatedStatus, "Taxonomy feature is not enabled.")

const formField = (ctx: RequestContext, name: string): string | undefined => {
  const value = new URLSearchParams(ctx.body).get(name) ?? ctx.query.get(name)
  return value === null || value.trim() === "" ? undefined : value
}

const missingCategory = (id: string) =>
  taxonomyError(409, `Attempted to operate on entity event_category, id "${id}", that does not exist.`)

const taxonomyCategoryRoutes: ReadonlyArray<Route> = [
  {
    method: "GET",
    pattern: "/api/2/taxonomy/category",
    name: "taxonomy.category.list",
    handle: taxonomyGated((ctx) => json({ success: true, data: ctx.project.taxonomyCategories }))
  },
  {
    method: "POST",
    pattern: "/api/2/taxonomy/category",
    name: "taxonomy.category.create",
    handle: taxonomyGated((ctx) => {
      const name = formField(ctx, "category_name")
      if (name === undefined) return taxonomyError(400, "category_name is required")
      if (ctx.project.taxonomyCategories.some((c) => c.name === name)) {
        return taxonomyError(409, `Category ${name} already exists.`)
      }
      ctx.project.taxonomyCategories.push({ id: ctx.project.nextTaxonomyCategoryId++, name })
      return json({ success: true })
    })
  },
  {
    method: "GET",
    pattern: "/api/2/taxonomy/category/:name",
    name: "taxonomy.category.get",
    handle: taxonomyGated((ctx) => {
      const category = ctx.project.taxonomyCategories.find((c) => c.name === ctx.params["name"])
      return category === undefined ? taxonomyError(400, "Not found") : json({ success: true, data: category })
    })
  },
  {
    method: "PUT",
    pattern: "/api/2/taxonomy/category/:id",
    name: "taxonomy.category.update",
    handle: taxonomyGated((ctx) => {
      const id = ctx.params["id"]!
      const category = ctx.project.taxonomyCategories.find((c) => String(c.id) === id)
      if (category === undefined) return missingCategory(id)
      const name = formField(ctx, "category_name")
      if (name === undefined) return taxonomyError(400, "category_name is required")
      category.name = name
      return json({ success: true })
    })
  },
  {
    method: "DELETE",
    pattern: "/api/2/taxonomy/category/:id",
    name: "taxonomy.category.delete",
    handle: taxonomyGated((ctx) => {
      const id = ctx.params["id"]!
      const index = ctx.project.taxonomyCategories.findIndex((c) => String(c.id) === id)
      if (index < 0) return missingCategory(id)
      ctx.project.taxonomyCategories.splice(index, 1)
      return json({ success: true })
    })
  }
]

/** Taxonomy EVENT object in its Observed form (`category: null`, `deleted: null`). */
const taxonomyEventJson = (event: EventType) => ({
  event_type: event.name,
  description: event.description,
  display_name: event.displayName,
  category: event.category === null ? null : { name: event.category },
  deleted: null,
  tags: [],
  is_active: true,
  owner: null,
  is_hidden_from_dropdowns: false,
  is_hidden_from_persona_results: false,
  is_hidden_from_pathfinder: false,
  is_hidden_from_timeline: false
})

const taxonomyEventRoutes: ReadonlyArray<Route> = [
  {
    method: "GET",
    pattern: "/api/2/taxonomy/event",
    name: "taxonomy.event.list",
    handle: taxonomyGated((ctx) =>
      json({ success: true, data: ctx.project.project.data.events.filter((e) => !e.hidden).map(taxonomyEventJson) })
    )
  },
  {
    method: "GET",
    pattern: "/api/2/taxonomy/event/:eventType",
    name: "taxonomy.event.get",
    handle: taxonomyGated((ctx) => {
      const event = ctx.project.project.data.events.find((e) => !e.hidden && e.name === ctx.params["eventType"])
      return event === undefined
        ? taxonomyError(400, "Not found")
        : json({ success: true, data: taxonomyEventJson(event) })
    })
  }
]

/**
 * `GET /api/2/events/list`: visible events with `totals` over the last 7 days of data and
 * `totals_delta` against the 7 days before.
 */
const eventsList = (ctx: RequestContext): HttpResult => {
  const { days, events } = ctx.project.project.data
  const week = new Set(days.slice(-7))
  const previous = new Set(days.slice(-14, -7))
  const data = events
    .map((event, index) => ({ event, index }))
    .filter(({ event }) => !event.hidden)
    .map(({ event, index }) => {
      const totals = event.occurrences.filter((o) => week.has(o.day)).length
      const before = event.occurrences.filter((o) => previous.has(o.day)).length
      return {
        id: index + 1,
        name: event.name,
        value: event.name,
        display: event.displayName ?? event.name,
        totals,
        totals_delta: totals - before,
        non_active: false,
        deleted: false,
        hidden: false,
        flow_hidden: false,
        autohidden: false,
        clusters_hidden: false,
        in_waitroom: false,
        timeline_hidden: false
      }
    })
  return json({ data })
}

export const cohortJson = (appId: number, cohort: Cohort, includeSyncInfo = false) => ({
  appId,
  archived: cohort.archived,
  definition: {
    version: 3,
    countGroup: { name: "User", is_computed: false },
    cohortType: "UNIQUES",
    andClauses: [],
    referenceFrameTimeParams: {}
  },
  description: cohort.description,
  finished: true,
  id: cohort.id,
  name: cohort.name,
  published: true,
  type: "redshift",
  lastMod: cohort.createdAt,
  createdAt: cohort.createdAt,
  lastComputed: cohort.lastComputed,
  hidden: false,
  metadata: null,
  view_count: null,
  popularity: null,
  last_viewed: null,
  chart_id: null,
  edit_id: null,
  is_predictive: false,
  is_official_content: false,
  location_id: null,
  shortcut_ids: [],
  per_app_metadata: null,
  cohort_definition_type: null,
  cohort_output_type: "UNIQUES",
  is_generated_content: false,
  owners: ["amp"],
  viewers: [],
  size: cohort.userIds.length,
  ...(includeSyncInfo ? { syncMetadata: [] } : {})
})

const cohortRoutes: ReadonlyArray<Route> = [
  {
    method: "GET",
    pattern: "/api/3/cohorts",
    name: "cohorts.list",
    handle: (ctx) => {
      const { appId, cohorts } = ctx.project.project.data
      const sync = ctx.query.get("includeSyncInfo") === "true"
      return json({ cohorts: cohorts.map((c) => cohortJson(appId, c, sync)) })
    }
  },
  {
    method: "GET",
    pattern: "/api/3/cohorts/:id",
    name: "cohorts.get",
    handle: (ctx) => {
      const { appId, cohorts } = ctx.project.project.data
      const cohort = cohorts.find((c) => c.id === ctx.params["id"])
      if (cohort === undefined) {
        return dashboardError(404, "not_found", "Cohort not found", `Cohort ${ctx.params["id"]} does not exist`)
      }
      return json({ cohort: cohortJson(appId, cohort), amplitude_ids: [], user_ids: cohort.userIds })
    }
  }
]

export const analyticsRoutes: ReadonlyArray<Route> = [
  ...taxonomyCategoryRoutes,
  ...taxonomyEventRoutes,
  { method: "GET", pattern: "/api/2/events/list", name: "events.list", cost: () => 1, handle: eventsList },
  ...annotationRoutes,
  ...cohortRoutes,
  ...dashboardRoutes
]
