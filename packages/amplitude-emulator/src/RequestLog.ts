import type { HostKind } from "./Faults.js"

/** `held`: waiting at a hold fault (a gate), pending again once it is removed. */
export type RequestOutcome = "pending" | "held" | "answered" | "reset" | "hung" | "aborted"

/** One request as seen by the emulator. Never holds the Authorization header or any secret. */
export interface RecordedRequest {
  readonly seq: number
  /** Epoch milliseconds of arrival. */
  readonly at: number
  readonly host: HostKind
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** Route name, e.g. `annotations.create`; null for unknown paths. */
  readonly endpoint: string | null
  /** Project the credentials resolved to; null when they did not. */
  readonly projectId: string | null
  /** Status sent; null while pending, after a reset or for a hang. */
  readonly status: number | null
  readonly outcome: RequestOutcome
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] }

export const queryObject = (params: URLSearchParams): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key)
    out[key] = values.length === 1 ? values[0]! : values
  }
  return out
}

/** Oldest records are dropped beyond this, so a long-running demo does not grow without bound. */
const MAX_RECORDS = 10_000

export class RequestLog {
  private records: Array<MutableRecord> = []
  private nextSeq = 1
  private readonly listeners = new Set<() => void>()

  record(entry: Omit<RecordedRequest, "seq" | "status" | "outcome">): MutableRecord {
    const record: MutableRecord = { ...entry, seq: this.nextSeq++, status: null, outcome: "pending" }
    this.records.push(record)
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS)
    this.notify()
    return record
  }

  update(record: MutableRecord, patch: Partial<Pick<RecordedRequest, "projectId" | "status" | "outcome">>): void {
    Object.assign(record, patch)
    this.notify()
  }

  list(): Array<RecordedRequest> {
    return this.records.map((r) => ({ ...r }))
  }

  clear(): void {
    this.records = []
    this.notify()
  }

  /** Calls `listener` after every change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}
