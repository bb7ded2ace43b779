import type { EmulatorCore } from "./Core.js"
import { HOST_KINDS, type HostKind, parseFaultSpec } from "./Faults.js"
import { type HttpResult, isRecord, json, parseJson } from "./Http.js"
import { type Limits, validateLimits } from "./Limits.js"
import { projectInfo, type ProjectSpec, type ProjectState } from "./Project.js"
import { type Switches, validateSwitches } from "./Switches.js"

const problem = (status: number, message: string): HttpResult => json({ error: message }, status)

const STRING_FIELDS = ["id", "name", "apiKey", "secretKey"] as const
const DATA_FIELDS = ["users", "days", "experiments", "appId"] as const

/** Validates a project spec received as JSON. */
export const parseProjectSpec = (input: unknown): ProjectSpec | string => {
  if (!isRecord(input)) return "project must be a JSON object"
  for (const key of STRING_FIELDS) {
    if (input[key] !== undefined && (typeof input[key] !== "string" || input[key] === "")) {
      return `${key} must be a non-empty string`
    }
  }
  if (input["region"] !== undefined && input["region"] !== "us" && input["region"] !== "eu") {
    return "region must be us or eu"
  }
  if (input["taxonomy"] !== undefined && typeof input["taxonomy"] !== "boolean") return "taxonomy must be a boolean"
  const keys = input["managementKeys"]
  if (keys !== undefined) {
    const valid = Array.isArray(keys) && keys.every((k) =>
      typeof k === "string" ||
      (isRecord(k) && typeof k["key"] === "string" &&
        (k["access"] === undefined || k["access"] === "full" || k["access"] === "none") &&
        (k["revoked"] === undefined || typeof k["revoked"] === "boolean"))
    )
    if (!valid) return "managementKeys must be strings or {key, access?: full|none, revoked?: boolean}"
  }
  const data = input["data"]
  if (data !== undefined) {
    if (!isRecord(data)) return "data must be an object"
    for (const key of DATA_FIELDS) {
      const value = data[key]
      if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value > 0)) {
        return `data.${key} must be a positive integer`
      }
    }
    if (data["seed"] !== undefined && typeof data["seed"] !== "string" && typeof data["seed"] !== "number") {
      return "data.seed must be a string or a number"
    }
    if (
      data["endDate"] !== undefined &&
      !(typeof data["endDate"] === "string" && /^\d{4}-\d{2}-\d{2}$/.test(data["endDate"]))
    ) {
      return "data.endDate must be YYYY-MM-DD"
    }
  }
  return input as ProjectSpec
}

const withProject = (core: EmulatorCore, ref: string, f: (state: ProjectState) => HttpResult): HttpResult => {
  const state = core.findProject(ref)
  return state === undefined ? problem(404, `Unknown project ${ref}`) : f(state)
}

const readObject = (body: string): Record<string, unknown> | undefined => {
  const value = parseJson(body === "" ? "{}" : body)
  return isRecord(value) ? value : undefined
}

/**
 * The control API under `/__emulator` (served on all four ports). It never returns secret keys,
 * management keys or Authorization headers.
 */
export const handleControl = (core: EmulatorCore, method: string, url: URL, body: string): HttpResult => {
  const segments = url.pathname.split("/").filter((s) => s !== "").slice(1).map(decodeURIComponent)
  const route = `${method} /${segments.map((s, i) => (i === 1 && segments[0] !== "faults" ? ":ref" : s)).join("/")}`
  const ref = segments[1] ?? ""
  switch (route) {
    case "GET /":
      return json({ urls: core.urls, projects: [...core.projects.values()].map(projectInfo) })
    case "GET /urls":
      return json(core.urls)
    case "GET /projects":
      return json({ projects: [...core.projects.values()].map(projectInfo) })
    case "POST /projects": {
      const spec = parseProjectSpec(parseJson(body))
      if (typeof spec === "string") return problem(400, spec)
      try {
        return json(projectInfo(core.addProject(spec)), 201)
      } catch (error) {
        return problem(409, error instanceof Error ? error.message : String(error))
      }
    }
    case "GET /projects/:ref":
      return withProject(core, ref, (state) => json(projectInfo(state)))
    case "PATCH /projects/:ref":
      return withProject(core, ref, (state) => {
        const patch = readObject(body)
        if (patch === undefined || (patch["taxonomy"] !== undefined && typeof patch["taxonomy"] !== "boolean")) {
          return problem(400, "expected {\"taxonomy\": boolean}")
        }
        if (typeof patch["taxonomy"] === "boolean") state.taxonomy = patch["taxonomy"]
        return json(projectInfo(state))
      })
    case "GET /projects/:ref/annotations":
      return withProject(core, ref, (state) => json({ annotations: core.annotations(state) }))
    case "GET /projects/:ref/usage":
      return withProject(core, ref, (state) => json(core.usage(state)))
    case "GET /usage":
      return json({ usage: [...core.projects.values()].map((state) => core.usage(state)) })
    case "GET /switches":
      return json(core.switches)
    case "PATCH /switches": {
      const patch = readObject(body)
      if (patch === undefined) return problem(400, "expected a JSON object")
      const problems = validateSwitches(patch)
      if (problems.length > 0) return problem(400, problems.join("; "))
      core.switches = { ...core.switches, ...(patch as Partial<Switches>) }
      return json(core.switches)
    }
    case "GET /limits":
      return json(core.limits)
    case "PATCH /limits": {
      const patch = readObject(body)
      if (patch === undefined) return problem(400, "expected a JSON object")
      const problems = validateLimits(patch)
      if (problems.length > 0) return problem(400, problems.join("; "))
      core.limits = { ...core.limits, ...(patch as Partial<Limits>) }
      return json(core.limits)
    }
    case "GET /faults":
      return json({ faults: core.faults.list() })
    case "POST /faults": {
      const spec = parseFaultSpec(parseJson(body))
      if (typeof spec === "string") return problem(400, spec)
      const fault = core.injectFault(spec)
      return fault === undefined ? problem(404, `Unknown project ${spec.project}`) : json(fault, 201)
    }
    case "DELETE /faults":
      core.faults.clear()
      return json({ success: true })
    case `DELETE /faults/${ref}`:
      return core.faults.remove(ref) ? json({ success: true }) : problem(404, `Unknown fault ${ref}`)
    case "GET /requests": {
      const host = url.searchParams.get("host")
      if (host !== null && !HOST_KINDS.includes(host as HostKind)) return problem(400, `Unknown host ${host}`)
      const project = url.searchParams.get("project")
      const endpoint = url.searchParams.get("endpoint")
      return json({
        requests: core.requests({
          ...(project === null ? {} : { project }),
          ...(endpoint === null ? {} : { endpoint }),
          ...(host === null ? {} : { host: host as HostKind })
        })
      })
    }
    case "DELETE /requests":
    case "POST /reset":
      core.resetInspection()
      return json({ success: true })
    default:
      return problem(404, `Unknown control route ${method} ${url.pathname}`)
  }
}
