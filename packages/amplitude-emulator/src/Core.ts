import type { IncomingMessage, ServerResponse } from "node:http"
import { analyticsRoutes } from "./Analytics.js"
import { handleControl } from "./Control.js"
import { experimentError, experimentRoutes } from "./Experiment.js"
import { type Fault, FaultRegistry, type FaultSpec, type FaultSubject, type HostKind } from "./Faults.js"
import { dashboardError, type HttpResult, notFound, type RequestContext, Router, sleep, text } from "./Http.js"
import {
  accrueBusyTime,
  chargeCost,
  costUsed,
  DEFAULT_LIMITS,
  enterConcurrency,
  hitExperimentRate,
  type Limits
} from "./Limits.js"
import {
  type AnnotationView,
  annotationView,
  makeProject,
  makeProjectState,
  type ProjectSpec,
  type ProjectState,
  type Region
} from "./Project.js"
import { queryObject, type RecordedRequest, RequestLog } from "./RequestLog.js"
import type { SeedOptions } from "./Seed.js"
import { DEFAULT_SWITCHES, type Switches } from "./Switches.js"

export interface EmulatorUrls {
  readonly us: string
  readonly eu: string
  readonly experimentUs: string
  readonly experimentEu: string
}

export interface ProjectUsage {
  readonly projectId: string
  readonly inFlight: number
  /** Highest number of analytics requests in flight at once, rejected ones included. */
  readonly maxInFlight: number
  /** Dashboard REST cost charged within the current cost window. */
  readonly costUsed: number
  /**
   * Milliseconds of analytics requests in flight, summed over requests, since the last reset: divided by the
   * concurrency limit and the time passed, how busy the project's request slots were.
   */
  readonly busyMillis: number
}

export interface RequestFilter {
  readonly project?: string
  readonly endpoint?: string
  readonly host?: HostKind
}

const MAX_BODY_BYTES = 1_048_576

const regionOf = (host: HostKind): Region => host === "us" || host === "experimentUs" ? "us" : "eu"

const isAnalytics = (host: HostKind) => host === "us" || host === "eu"

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) reject(new Error("body too large"))
      else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const decodeBasic = (header: string | undefined): { apiKey: string; secretKey: string } | undefined => {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : { apiKey: decoded.slice(0, colon), secretKey: decoded.slice(colon + 1) }
}

const decodeBearer = (header: string | undefined): string | undefined => /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1]

const BAD_GATEWAY_PAGES: Record<number, string> = {
  502:
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
  503:
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
}

/** Settles with `hold`, or rejects when the request is aborted first. */
const untilReleased = (hold: Promise<void>, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    hold.then(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    })
  })

/** Mutable state of one emulator and the request pipeline shared by its four servers. */
export class EmulatorCore {
  readonly projects = new Map<string, ProjectState>()
  /** Projects by API key and by management key: credentials are looked up per request, among thousands of projects. */
  private readonly byApiKey = new Map<string, ProjectState>()
  private readonly byManagementKey = new Map<string, ProjectState>()
  readonly faults = new FaultRegistry()
  readonly log = new RequestLog()
  readonly closing = new AbortController()
  switches: Switches
  limits: Limits
  urls: EmulatorUrls = { us: "", eu: "", experimentUs: "", experimentEu: "" }
  private readonly analyticsRouter = new Router(analyticsRoutes)
  private readonly experimentRouter = new Router(experimentRoutes)
  private projectCounter = 0

  constructor(
    readonly dataDefaults: Partial<SeedOptions>,
    switches: Partial<Switches>,
    limits: Partial<Limits>
  ) {
    this.switches = { ...DEFAULT_SWITCHES, ...switches }
    this.limits = { ...DEFAULT_LIMITS, ...limits }
  }

  /** Throws when the id, API key or a management key is already taken. */
  addProject(spec: ProjectSpec): ProjectState {
    const project = makeProject(spec, `project-${++this.projectCounter}`, this.dataDefaults)
    if (this.projects.has(project.id)) throw new Error(`Project id ${project.id} is already taken`)
    if (this.byApiKey.has(project.apiKey)) throw new Error(`API key of project ${project.id} is already taken`)
    const managementKeys = new Set(project.managementKeys.map((k) => k.key))
    if ([...managementKeys].some((key) => this.byManagementKey.has(key))) {
      throw new Error(`A management key of project ${project.id} is already taken`)
    }
    const state = makeProjectState(project, spec.taxonomy ?? true)
    this.projects.set(project.id, state)
    this.byApiKey.set(project.apiKey, state)
    for (const key of managementKeys) this.byManagementKey.set(key, state)
    return state
  }

  /** By project id or API key. */
  findProject(ref: string): ProjectState | undefined {
    return this.projects.get(ref) ?? this.byApiKey.get(ref)
  }

  injectFault(spec: FaultSpec): Fault | undefined {
    if (spec.project === undefined) return this.faults.add(spec, undefined)
    const project = this.findProject(spec.project)
    return project === undefined ? undefined : this.faults.add(spec, project.project.id)
  }

  requests(filter: RequestFilter = {}): Array<RecordedRequest> {
    const projectId = filter.project === undefined ? undefined : this.findProject(filter.project)?.project.id ?? "?"
    return this.log.list().filter((r) =>
      (projectId === undefined || r.projectId === projectId) &&
      (filter.endpoint === undefined || r.endpoint === filter.endpoint) &&
      (filter.host === undefined || r.host === filter.host)
    )
  }

  annotations(state: ProjectState): Array<AnnotationView> {
    return [...state.annotations.values()].map((a) => annotationView(state, a))
  }

  usage(state: ProjectState): ProjectUsage {
    accrueBusyTime(state)
    return {
      projectId: state.project.id,
      inFlight: state.inFlight,
      maxInFlight: state.maxInFlight,
      costUsed: costUsed(state, this.limits, Date.now()),
      busyMillis: Math.round(state.busyMillis)
    }
  }

  /** Clears the request log, the concurrency peaks and the cost and rate windows. */
  resetInspection(): void {
    this.log.clear()
    for (const state of this.projects.values()) {
      state.maxInFlight = state.inFlight
      accrueBusyTime(state)
      state.busyMillis = 0
      state.costLog.length = 0
      state.experimentHits.length = 0
    }
  }

  handle(host: HostKind, req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(host, req, res).catch((error: unknown) => {
      if (this.closing.signal.aborted || res.destroyed) return
      this.send(res, undefined, dashboardError(500, "unspecified", "Unspecified Error", String(error)))
    })
  }

  private send(res: ServerResponse, record: ReturnType<RequestLog["record"]> | undefined, result: HttpResult) {
    if (res.destroyed || res.writableEnded) return
    res.writeHead(result.status, { ...result.headers, "content-length": Buffer.byteLength(result.body) })
    res.end(result.body)
    if (record !== undefined) this.log.update(record, { status: result.status, outcome: "answered" })
  }

  private async dispatch(host: HostKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator")
    const method = (req.method ?? "GET").toUpperCase()
    const body = await readBody(req)
    if (url.pathname === "/__emulator" || url.pathname.startsWith("/__emulator/")) {
      return this.send(res, undefined, handleControl(this, method, url, body))
    }

    const match = (isAnalytics(host) ? this.analyticsRouter : this.experimentRouter).match(method, url.pathname)
    const record = this.log.record({
      at: Date.now(),
      host,
      method,
      path: url.pathname,
      query: queryObject(url.searchParams),
      endpoint: match?.route.name ?? null,
      projectId: null
    })
    const requestAbort = new AbortController()
    res.on("close", () => {
      if (!res.writableFinished) requestAbort.abort(new Error("client closed the connection"))
      if (record.outcome === "pending" || record.outcome === "held") {
        this.log.update(record, { outcome: "aborted" })
      }
    })
    const signal = AbortSignal.any([this.closing.signal, requestAbort.signal])

    if (match === undefined) return this.send(res, record, notFound())

    const authenticated = isAnalytics(host)
      ? this.authenticateAnalytics(host, req.headers.authorization)
      : this.authenticateExperiment(host, req.headers.authorization)
    const subject = (projectId: string): FaultSubject => ({
      projectId,
      endpoint: match.route.name,
      path: url.pathname,
      method,
      host
    })
    if ("failure" in authenticated) {
      const claimed = this.claimedProject(host, req.headers.authorization)
      if (await this.applyFaults(subject(claimed ?? ""), record, req, res, signal)) return
      return this.send(res, record, authenticated.failure)
    }
    const project = authenticated.project
    this.log.update(record, { projectId: project.project.id })

    if (isAnalytics(host)) {
      const release = enterConcurrency(project, this.limits)
      if (release === undefined) {
        return this.send(
          res,
          record,
          this.rateLimited(`Exceeded the limit of ${this.limits.analyticsConcurrency} concurrent requests`)
        )
      }
      res.on("close", release)
    } else if (!hitExperimentRate(project, this.limits, Date.now())) {
      return this.send(res, record, experimentError(429, "Too many requests", this.retryAfterHeader()))
    }

    if (await this.applyFaults(subject(project.project.id), record, req, res, signal)) return

    const ctx: RequestContext = {
      method,
      path: url.pathname,
      query: url.searchParams,
      params: match.params,
      body,
      contentType: req.headers["content-type"] ?? "",
      host,
      project,
      switches: this.switches,
      signal,
      holdAfterCreate: () => this.faults.takeDelayAfterCreate(subject(project.project.id)),
      now: Date.now()
    }
    if (match.route.cost !== undefined) {
      const cost = match.route.cost(ctx)
      if (!chargeCost(project, this.limits, cost, ctx.now)) {
        return this.send(
          res,
          record,
          this.rateLimited(
            `Exceeded the cost limit of ${this.limits.costBudget} per ${this.limits.costWindowMs / 1000} s`
          )
        )
      }
    }
    let result: HttpResult
    try {
      result = await match.route.handle(ctx)
    } catch (error) {
      if (signal.aborted) return
      throw error
    }
    this.send(res, record, result)
  }

  /**
   * Applies matching latency and holds, then a hang, reset or forced status; true when the request is dealt
   * with.
   */
  private async applyFaults(
    subject: FaultSubject,
    record: ReturnType<RequestLog["record"]>,
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal
  ): Promise<boolean> {
    const latency = this.faults.takeLatency(subject)
    try {
      if (latency > 0) await sleep(latency, signal)
      const hold = this.faults.takeHold(subject)
      if (hold !== undefined) {
        this.log.update(record, { outcome: "held" })
        await untilReleased(hold, signal)
        this.log.update(record, { outcome: "pending" })
      }
    } catch {
      return true
    }
    const terminal = this.faults.takeTerminal(subject)
    if (terminal === undefined) return false
    if (terminal.kind === "hang") {
      this.log.update(record, { outcome: "hung" })
    } else if (terminal.kind === "reset") {
      this.log.update(record, { outcome: "reset" })
      req.socket.destroy()
    } else {
      const headers: Record<string, string> = terminal.retryAfterSeconds === undefined
        ? {}
        : { "retry-after": String(terminal.retryAfterSeconds) }
      this.send(res, record, this.forcedStatus(terminal.status, isAnalytics(subject.host), headers))
    }
    return true
  }

  /** The project the credentials name (API key or management key), whether or not they are valid. */
  private claimedProject(host: HostKind, header: string | undefined): string | undefined {
    const key = isAnalytics(host) ? decodeBasic(header)?.apiKey : decodeBearer(header)
    if (key === undefined) return undefined
    return (isAnalytics(host) ? this.byApiKey : this.byManagementKey).get(key)?.project.id
  }

  private retryAfterHeader(): Record<string, string> {
    const seconds = this.switches.rateLimitRetryAfterSeconds
    return seconds === null ? {} : { "retry-after": String(seconds) }
  }

  private rateLimited(details: string): HttpResult {
    return dashboardError(429, "rate_limit", "Too many requests", details, this.retryAfterHeader())
  }

  private forcedStatus(status: number, analytics: boolean, headers: Record<string, string>): HttpResult {
    const page = BAD_GATEWAY_PAGES[status]
    if (page !== undefined) {
      return { ...text(page, status, "text/html"), headers: { "content-type": "text/html", ...headers } }
    }
    if (!analytics) {
      return experimentError(status, status === 429 ? "Too many requests" : "Internal server error", headers)
    }
    return status === 429
      ? dashboardError(429, "rate_limit", "Too many requests", "Rate limit exceeded", headers)
      : dashboardError(status, "unspecified", "Unspecified Error", undefined, headers)
  }

  private authenticateAnalytics(
    host: HostKind,
    header: string | undefined
  ): { project: ProjectState } | { failure: HttpResult } {
    const credentials = decodeBasic(header)
    const region = regionOf(host)
    const project = credentials === undefined ? undefined : this.byApiKey.get(credentials.apiKey)
    if (
      project !== undefined && project.project.region === region && project.project.secretKey === credentials?.secretKey
    ) return { project }
    const status = this.switches.authFailureStatus
    return {
      failure: this.switches.authFailureBody === "text"
        ? text("Invalid API Key", status)
        : dashboardError(status, status === 401 ? "unauthorized" : "forbidden", "Invalid API Key")
    }
  }

  private authenticateExperiment(
    host: HostKind,
    header: string | undefined
  ): { project: ProjectState } | { failure: HttpResult } {
    const token = decodeBearer(header)
    const region = regionOf(host)
    const project = token === undefined ? undefined : this.byManagementKey.get(token)
    const key = project?.project.managementKeys.find((k) => k.key === token)
    if (project === undefined || key === undefined || key.revoked || project.project.region !== region) {
      return { failure: experimentError(401, "Invalid or revoked API key") }
    }
    if (key.access === "none") {
      return { failure: experimentError(403, "API key does not have access to the specified environment") }
    }
    return { project }
  }
}
