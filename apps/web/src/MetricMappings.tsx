import type { EventAggregation, Mapping, MappingParams, MappingTemplate, MetricId, MetricUnit } from "@findry/domain"
import { NUMERIC_AGGREGATIONS, type SavedMapping } from "@findry/domain"
import type { Effect } from "effect"
import { useId, useState } from "react"
import { FailureNotice } from "./FailureNotice.js"
import { type Failure, run } from "./FindryClient.js"
import { useLoad } from "./useLoad.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

type Kind = MappingParams["kind"]

const KINDS: ReadonlyArray<readonly [Kind, string]> = [
  ["event", "Event"],
  ["chart", "Saved chart"],
  ["funnel", "Funnel"],
  ["cohort_size", "Cohort size"],
  ["template", "Built-in template"]
]
const AGGREGATIONS: ReadonlyArray<readonly [EventAggregation, string]> = [
  ["count", "Count of events"],
  ["uniques", "Unique users"],
  ["sum", "Sum of a property"],
  ["average", "Average of a property"],
  ["average_per_user", "Property total per user"]
]
const TEMPLATES: ReadonlyArray<readonly [MappingTemplate, string]> = [
  ["active_users", "Daily active users"],
  ["new_users", "New users"],
  ["average_session_length", "Average session length"]
]
const UNITS: ReadonlyArray<MetricUnit> = ["integer", "decimal", "percent", "currency"]

const describeMapping = (mapping: Mapping): string => {
  switch (mapping.kind) {
    case "event":
      return `event "${mapping.event}", ${mapping.aggregation}${mapping.property ? ` of ${mapping.property}` : ""}`
    case "chart":
      return `chart ${mapping.chartId}`
    case "funnel":
      return `funnel ${mapping.events.join(" → ")} within ${mapping.conversionWindowDays} days`
    case "cohort_size":
      return `size of cohort ${mapping.cohortId}`
    case "template":
      return mapping.template.replaceAll("_", " ")
  }
}

type PutMapping = (request: {
  readonly path: { readonly workspaceId: WorkspaceContext["workspaceId"]; readonly metricId: MetricId }
  readonly payload: MappingParams
}) => Effect.Effect<typeof SavedMapping.Type, unknown>

// The derived client types this endpoint as one function per mapping kind; a form holds any of the five.
const putMapping = (context: WorkspaceContext) => context.client.metrics.putMapping as PutMapping

/** Reads the mapping form into the contract's params; the server checks the rest. */
const paramsFrom = (kind: Kind, form: FormData): MappingParams => {
  const text = (name: string) => String(form.get(name) ?? "").trim()
  switch (kind) {
    case "event": {
      const aggregation = text("aggregation") as EventAggregation
      const property = text("property")
      return {
        kind,
        event: text("event"),
        aggregation,
        ...(NUMERIC_AGGREGATIONS.includes(aggregation) && property !== "" ? { property } : {})
      }
    }
    case "chart":
      return { kind, chartId: text("chartId") }
    case "funnel":
      return {
        kind,
        events: text("funnelEvents").split("\n").map((line) => line.trim()).filter((line) => line !== ""),
        conversionWindowDays: Number(text("conversionWindowDays"))
      }
    case "cohort_size":
      return { kind, cohortId: text("cohortId") }
    case "template":
      return { kind, template: text("template") as MappingTemplate }
  }
}

const NewMetric = ({ context, onCreated }: {
  readonly context: WorkspaceContext
  readonly onCreated: (id: MetricId) => void
}) => {
  const [failure, setFailure] = useState<Failure | null>(null)
  const id = useId()
  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const answer = await run(context.client.metrics.create({
      path: { workspaceId: context.workspaceId },
      payload: { name: String(data.get("name") ?? ""), unit: String(data.get("unit")) as MetricUnit }
    }))
    if (answer._tag === "Left") return setFailure(answer.left)
    setFailure(null)
    form.reset()
    onCreated(answer.right.id)
  }
  return (
    <form className="inline" onSubmit={submit} aria-label="New metric">
      <label htmlFor={`${id}-name`}>Metric name</label>
      <input id={`${id}-name`} name="name" required maxLength={80} />
      <label htmlFor={`${id}-unit`}>Unit</label>
      <select id={`${id}-unit`} name="unit">
        {UNITS.map((unit) => <option key={unit} value={unit}>{unit}</option>)}
      </select>
      <button type="submit">Add metric</button>
      {failure && <FailureNotice failure={failure} />}
    </form>
  )
}

/** Settings → Metrics: each metric's Amplitude mapping, in one of the five kinds. */
export const MetricMappings = ({ context }: { readonly context: WorkspaceContext }) => {
  const path = { workspaceId: context.workspaceId }
  const metrics = useLoad(() => run(context.client.metrics.list({ path })), [context.client, context.workspaceId])
  const events = useLoad(() => run(context.client.amplitudeConnection.events({ path })), [context.revision])
  const cohorts = useLoad(() => run(context.client.amplitudeConnection.cohorts({ path })), [context.revision])
  const [metricId, setMetricId] = useState("")
  const [kind, setKind] = useState<Kind>("event")
  const [aggregation, setAggregation] = useState<EventAggregation>("count")
  const [failure, setFailure] = useState<Failure | null>(null)
  const [warnings, setWarnings] = useState<ReadonlyArray<string> | null>(null)
  const id = useId()

  const list = metrics.value?.metrics ?? []
  const selected = list.find((metric) => metric.id === metricId) ?? list[0]

  const save = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (selected === undefined) return
    setFailure(null)
    setWarnings(null)
    const answer = await run(
      putMapping(context)({
        path: { workspaceId: context.workspaceId, metricId: selected.id },
        payload: paramsFrom(kind, new FormData(event.currentTarget))
      })
    )
    if (answer._tag === "Left") return setFailure(answer.left)
    setWarnings(answer.right.warnings)
    metrics.reload()
  }

  return (
    <section className="card" aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metric mappings</h2>
      {metrics.failure && <FailureNotice failure={metrics.failure} />}
      {list.length === 0 ? <p>No metrics yet.</p> : (
        <ul className="rows">
          {list.map((metric) => (
            <li key={metric.id}>
              <strong>{metric.name}</strong> ({metric.unit}):{" "}
              {metric.amplitudeMapping === null ? "not mapped" : describeMapping(metric.amplitudeMapping)}
              {metric.amplitudeMapping?.needsReview && <span className="badge warn">needs review</span>}
            </li>
          ))}
        </ul>
      )}
      <NewMetric
        context={context}
        onCreated={(created) => {
          setMetricId(created)
          metrics.reload()
        }}
      />
      {selected !== undefined && (
        <form onSubmit={save} aria-labelledby={`${id}-title`}>
          <h3 id={`${id}-title`}>Add metric mapping</h3>
          <label htmlFor={`${id}-metric`}>Metric</label>
          <select id={`${id}-metric`} value={selected.id} onChange={(event) => setMetricId(event.target.value)}>
            {list.map((metric) => <option key={metric.id} value={metric.id}>{metric.name}</option>)}
          </select>
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={kind} onChange={(event) => setKind(event.target.value as Kind)}>
            {KINDS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>

          {(kind === "event" || kind === "funnel") && (
            <datalist id={`${id}-events`}>
              {(events.value?.events ?? []).map((known) => <option key={known.name} value={known.name} />)}
            </datalist>
          )}
          {events.value?.available === false && (kind === "event" || kind === "funnel") && (
            <p className="help">Event names can't be suggested: {events.value.reason}.</p>
          )}

          {kind === "event" && (
            <>
              <label htmlFor={`${id}-event`}>Event name</label>
              <input id={`${id}-event`} name="event" list={`${id}-events`} required autoComplete="off" />
              <label htmlFor={`${id}-aggregation`}>Aggregation</label>
              <select
                id={`${id}-aggregation`}
                name="aggregation"
                value={aggregation}
                onChange={(event) => setAggregation(event.target.value as EventAggregation)}
              >
                {AGGREGATIONS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
              {NUMERIC_AGGREGATIONS.includes(aggregation) && (
                <>
                  <label htmlFor={`${id}-property`}>Numeric event property</label>
                  <input id={`${id}-property`} name="property" required autoComplete="off" />
                </>
              )}
            </>
          )}
          {kind === "chart" && (
            <>
              <label htmlFor={`${id}-chart`}>Chart id (from the chart's URL)</label>
              <input id={`${id}-chart`} name="chartId" required autoComplete="off" />
            </>
          )}
          {kind === "funnel" && (
            <>
              <label htmlFor={`${id}-funnel`}>Funnel events, in order, one per line</label>
              <textarea id={`${id}-funnel`} name="funnelEvents" rows={3} required />
              <label htmlFor={`${id}-window`}>Conversion window (days)</label>
              <input id={`${id}-window`} name="conversionWindowDays" type="number" min={1} max={366} defaultValue={7} />
            </>
          )}
          {kind === "cohort_size" && (
            <>
              <label htmlFor={`${id}-cohort`}>Cohort</label>
              <select id={`${id}-cohort`} name="cohortId" required>
                {(cohorts.value?.cohorts ?? []).map((cohort) => (
                  <option key={cohort.id} value={cohort.id}>{cohort.name}</option>
                ))}
              </select>
              {cohorts.value?.available === false && (
                <p className="help">No cohorts to pick from: {cohorts.value.reason}.</p>
              )}
            </>
          )}
          {kind === "template" && (
            <>
              <label htmlFor={`${id}-template`}>Template</label>
              <select id={`${id}-template`} name="template">
                {TEMPLATES.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
            </>
          )}
          <div className="actions">
            <button type="submit">Save mapping</button>
          </div>
          {failure && <FailureNotice failure={failure} />}
          {warnings !== null && (
            <div role="status" className={warnings.length > 0 ? "warning" : "saved"}>
              {warnings.length === 0 ? "Mapping saved." : (
                <>
                  <p>Mapping saved, with warnings:</p>
                  <ul>{warnings.map((warning) => <li key={warning}>{warning}</li>)}</ul>
                </>
              )}
            </div>
          )}
        </form>
      )}
    </section>
  )
}
