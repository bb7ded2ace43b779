export type HostKind = "us" | "eu" | "experimentUs" | "experimentEu"

export const HOST_KINDS: ReadonlyArray<HostKind> = ["us", "eu", "experimentUs", "experimentEu"]

export type ForcedStatus = 429 | 500 | 502 | 503

export interface FaultTarget {
  /** Project id or API key; omitted = every project. */
  readonly project?: string
  /**
   * Route name (`annotations.create`, `events.segmentation`, …) or, when it starts with `/`, a
   * request path; `*` matches anything in either. Omitted = every endpoint.
   */
  readonly endpoint?: string
  readonly method?: string
  readonly host?: HostKind
  /** How many matching requests the fault applies to. Default: unlimited for latency and hold, 1 otherwise. */
  readonly times?: number
}

export type FaultSpec =
  & FaultTarget
  & (
    | { readonly kind: "latency"; readonly ms: number }
    /** A gate: every matching request waits until the fault is removed, then goes on normally. */
    | { readonly kind: "hold" }
    | { readonly kind: "hang" }
    | { readonly kind: "reset" }
    | { readonly kind: "status"; readonly status: ForcedStatus; readonly retryAfterSeconds?: number }
    | { readonly kind: "delayAfterCreate"; readonly ms: number }
  )

export type Fault = FaultSpec & {
  readonly id: string
  /** Applications left; null = unlimited. */
  readonly remaining: number | null
  readonly applied: number
}

type ActiveFault = FaultSpec & {
  id: string
  remaining: number | null
  applied: number
  projectId?: string
  /** Hold faults: settles when the fault is removed. */
  released?: Promise<void>
  release?: () => void
}

export interface FaultSubject {
  readonly projectId: string
  readonly endpoint: string
  readonly path: string
  readonly method: string
  readonly host: HostKind
}

export type TerminalFault =
  | { readonly kind: "hang" }
  | { readonly kind: "reset" }
  | { readonly kind: "status"; readonly status: ForcedStatus; readonly retryAfterSeconds?: number }

const globToRegExp = (pattern: string) =>
  new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)

const matches = (fault: ActiveFault, subject: FaultSubject): boolean => {
  if (fault.remaining !== null && fault.remaining <= 0) return false
  if (fault.projectId !== undefined && fault.projectId !== subject.projectId) return false
  if (fault.method !== undefined && fault.method.toUpperCase() !== subject.method) return false
  if (fault.host !== undefined && fault.host !== subject.host) return false
  if (fault.endpoint !== undefined) {
    const target = fault.endpoint.startsWith("/") ? subject.path : subject.endpoint
    if (!globToRegExp(fault.endpoint).test(target)) return false
  }
  return true
}

const consume = (fault: ActiveFault) => {
  fault.applied++
  if (fault.remaining !== null) fault.remaining--
}

export class FaultRegistry {
  private faults: Array<ActiveFault> = []
  private nextId = 1

  add(spec: FaultSpec, projectId: string | undefined): Fault {
    const times = spec.times ?? (spec.kind === "latency" || spec.kind === "hold" ? undefined : 1)
    const fault: ActiveFault = {
      ...spec,
      ...(spec.kind === "delayAfterCreate" && spec.endpoint === undefined ? { endpoint: "annotations.create" } : {}),
      id: `fault-${this.nextId++}`,
      remaining: times ?? null,
      applied: 0,
      ...(projectId === undefined ? {} : { projectId })
    }
    if (spec.kind === "hold") fault.released = new Promise((resolve) => (fault.release = resolve))
    this.faults.push(fault)
    return this.view(fault)
  }

  /** Removes the fault; requests a hold fault keeps go on. */
  remove(id: string): boolean {
    const removed = this.faults.filter((f) => f.id === id)
    this.faults = this.faults.filter((f) => f.id !== id)
    removed.forEach((f) => f.release?.())
    return removed.length > 0
  }

  clear(): void {
    this.faults.forEach((f) => f.release?.())
    this.faults = []
  }

  list(): Array<Fault> {
    return this.faults.map((f) => this.view(f))
  }

  /** Total added latency of every matching latency fault (each one consumed once). */
  takeLatency(subject: FaultSubject): number {
    let total = 0
    for (const fault of this.faults) {
      if (fault.kind === "latency" && matches(fault, subject)) {
        consume(fault)
        total += fault.ms
      }
    }
    return total
  }

  /** Settles when every matching hold fault (each one consumed) has been removed; undefined when none matches. */
  takeHold(subject: FaultSubject): Promise<void> | undefined {
    const holds: Array<Promise<void>> = []
    for (const fault of this.faults) {
      if (fault.kind === "hold" && fault.released !== undefined && matches(fault, subject)) {
        consume(fault)
        holds.push(fault.released)
      }
    }
    return holds.length === 0 ? undefined : Promise.all(holds).then(() => undefined)
  }

  /** The first matching hang/reset/status fault, consumed. */
  takeTerminal(subject: FaultSubject): TerminalFault | undefined {
    for (const fault of this.faults) {
      if ((fault.kind === "hang" || fault.kind === "reset" || fault.kind === "status") && matches(fault, subject)) {
        consume(fault)
        if (fault.kind === "status") {
          return fault.retryAfterSeconds === undefined
            ? { kind: "status", status: fault.status }
            : { kind: "status", status: fault.status, retryAfterSeconds: fault.retryAfterSeconds }
        }
        return { kind: fault.kind }
      }
    }
    return undefined
  }

  /** Milliseconds to hold the answer after an annotation was created, if a fault asks for it. */
  takeDelayAfterCreate(subject: FaultSubject): number | undefined {
    for (const fault of this.faults) {
      if (fault.kind === "delayAfterCreate" && matches(fault, subject)) {
        consume(fault)
        return fault.ms
      }
    }
    return undefined
  }

  private view(fault: ActiveFault): Fault {
    const { projectId: _projectId, release: _release, released: _released, ...rest } = fault
    return { ...rest }
  }
}

const FORCED_STATUSES: ReadonlyArray<number> = [429, 500, 502, 503]

const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0

/** Validates a fault received as JSON by the control API. */
export const parseFaultSpec = (input: unknown): FaultSpec | string => {
  if (typeof input !== "object" || input === null) return "fault must be a JSON object"
  const raw = input as Record<string, unknown>
  for (const key of ["project", "endpoint", "method"] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== "string") return `${key} must be a string`
  }
  if (
    raw["host"] !== undefined &&
    !(["us", "eu", "experimentUs", "experimentEu"] as const).includes(raw["host"] as HostKind)
  ) {
    return "host must be one of us, eu, experimentUs, experimentEu"
  }
  if (raw["times"] !== undefined && !(isNonNegativeInteger(raw["times"]) && raw["times"] > 0)) {
    return "times must be a positive integer"
  }
  const kind = raw["kind"]
  switch (kind) {
    case "latency":
    case "delayAfterCreate":
      if (!isNonNegativeInteger(raw["ms"])) return "ms must be a non-negative integer"
      break
    case "status":
      if (!FORCED_STATUSES.includes(raw["status"] as number)) return "status must be one of 429, 500, 502, 503"
      if (raw["retryAfterSeconds"] !== undefined && !isNonNegativeInteger(raw["retryAfterSeconds"])) {
        return "retryAfterSeconds must be a non-negative integer"
      }
      break
    case "hang":
    case "reset":
    case "hold":
      break
    default:
      return "kind must be one of latency, hold, hang, reset, status, delayAfterCreate"
  }
  return raw as unknown as FaultSpec
}
