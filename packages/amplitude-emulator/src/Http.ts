import type { HostKind } from "./Faults.js"
import type { ProjectState } from "./Project.js"
import type { Switches } from "./Switches.js"

export interface HttpResult {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body: string
}

/** Amplitude's success content type (Observed). */
export const JSON_OK = "application/json; charset=UTF-8"
/** Amplitude's error content type (Observed). */
export const JSON_ERROR = "application/json; charset=utf-8"

export const json = (value: unknown, status = 200, headers: Readonly<Record<string, string>> = {}): HttpResult => ({
  status,
  headers: { "content-type": status < 400 ? JSON_OK : JSON_ERROR, ...headers },
  body: JSON.stringify(value)
})

export const text = (body: string, status: number, contentType = "text/plain; charset=utf-8"): HttpResult => ({
  status,
  headers: { "content-type": contentType },
  body
})

/** Amplitude's `{"error":{http_code,type,message,metadata}}` error shape (docs/amplitude-api.md#error-answers). */
export const dashboardError = (
  status: number,
  type: string,
  message: string,
  details?: string,
  headers: Readonly<Record<string, string>> = {}
): HttpResult =>
  json(
    { error: { http_code: status, type, message, metadata: details === undefined ? {} : { details } } },
    status,
    headers
  )

export const invalidRequest = (details: string): HttpResult =>
  dashboardError(400, "invalid", "Invalid chart definition", details)

/** The Taxonomy API error shape `{"success":false,"errors":[{"message":…}]}`. */
export const taxonomyError = (status: number, message: string): HttpResult =>
  json({ success: false, errors: [{ message }] }, status)

export const notFound = (): HttpResult => dashboardError(404, "not_found", "Not Found", "No such endpoint")

export interface RequestContext {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly params: Readonly<Record<string, string>>
  readonly body: string
  readonly contentType: string
  readonly host: HostKind
  readonly project: ProjectState
  readonly switches: Switches
  /** Aborted when the client goes away or the emulator shuts down. */
  readonly signal: AbortSignal
  /** Consumes a matching `delayAfterCreate` fault: milliseconds to hold the answer, if any. */
  readonly holdAfterCreate: () => number | undefined
  readonly now: number
}

export interface Route {
  readonly method: string
  readonly pattern: string
  readonly name: string
  /** Dashboard REST query cost (docs/amplitude-api.md#limits-and-query-cost); routes without it are not charged. */
  readonly cost?: (ctx: RequestContext) => number
  readonly handle: (ctx: RequestContext) => HttpResult | Promise<HttpResult>
}

interface CompiledRoute {
  readonly route: Route
  readonly regex: RegExp
  readonly names: ReadonlyArray<string>
}

export class Router {
  private readonly compiled: ReadonlyArray<CompiledRoute>

  constructor(routes: ReadonlyArray<Route>) {
    this.compiled = routes.map((route) => {
      const names: Array<string> = []
      const source = route.pattern.split("/").map((segment) => {
        if (!segment.startsWith(":")) return segment.replace(/[.+?^${}()|[\]\\*]/g, "\\$&")
        names.push(segment.slice(1))
        return "([^/]+)"
      }).join("/")
      return { route, regex: new RegExp(`^${source}/?$`), names }
    })
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const { names, regex, route } of this.compiled) {
      if (route.method !== method) continue
      const match = regex.exec(path)
      if (match === null) continue
      const params: Record<string, string> = {}
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1]!)
      })
      return { route, params }
    }
    return undefined
  }
}

export const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener("abort", onAbort, { once: true })
  })
