import { Context, Data, Effect, Layer, type Scope } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { EmulatorCore, type EmulatorUrls, type ProjectUsage, type RequestFilter } from "./Core.js"
import type { Fault, FaultSpec, HostKind } from "./Faults.js"
import type { Limits } from "./Limits.js"
import { type AnnotationView, DEMO_PROJECTS, type Project, type ProjectSpec, type ProjectState } from "./Project.js"
import type { RecordedRequest } from "./RequestLog.js"
import type { SeedOptions } from "./Seed.js"
import type { Switches } from "./Switches.js"

export interface EmulatorOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string
  /** Port per logical host; 0 or omitted = a random free port. */
  readonly ports?: Partial<Record<HostKind, number>>
  /** Start the three demo projects of `DEMO_PROJECTS`. Default true. */
  readonly demoProjects?: boolean
  readonly projects?: ReadonlyArray<ProjectSpec>
  readonly switches?: Partial<Switches>
  readonly limits?: Partial<Limits>
  /** Defaults for every project's seeded data, e.g. `{ endDate: "2026-07-31" }`. */
  readonly data?: Partial<Omit<SeedOptions, "seed" | "appId">>
}

export class UnknownProject extends Data.TaggedError("UnknownProject")<{ readonly ref: string }> {}

/** Handle of a running emulator. Project references (`ref`) are a project id or an API key. */
export interface Emulator {
  readonly urls: EmulatorUrls
  readonly projects: Effect.Effect<ReadonlyArray<Project>>
  readonly project: (ref: string) => Effect.Effect<Project, UnknownProject>
  /** Dies when the id, API key or a management key is already taken. */
  readonly createProject: (spec: ProjectSpec) => Effect.Effect<Project>
  /** Turns the Taxonomy API (plan flag) on or off for a project. */
  readonly setTaxonomy: (ref: string, enabled: boolean) => Effect.Effect<void, UnknownProject>
  readonly switches: Effect.Effect<Switches>
  readonly setSwitches: (patch: Partial<Switches>) => Effect.Effect<Switches>
  readonly limits: Effect.Effect<Limits>
  readonly setLimits: (patch: Partial<Limits>) => Effect.Effect<Limits>
  readonly injectFault: (spec: FaultSpec) => Effect.Effect<Fault, UnknownProject>
  readonly removeFault: (id: string) => Effect.Effect<boolean>
  readonly clearFaults: Effect.Effect<void>
  readonly faults: Effect.Effect<ReadonlyArray<Fault>>
  readonly requests: (filter?: RequestFilter) => Effect.Effect<ReadonlyArray<RecordedRequest>>
  /**
   * Waits until at least `count` recorded requests satisfy `predicate` and returns them. It has no
   * deadline of its own: add one with `Effect.timeout` (on a live clock).
   */
  readonly awaitRequests: (
    predicate: (request: RecordedRequest) => boolean,
    count?: number
  ) => Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly annotations: (ref: string) => Effect.Effect<ReadonlyArray<AnnotationView>, UnknownProject>
  readonly usage: (ref: string) => Effect.Effect<ProjectUsage, UnknownProject>
  /** Highest number of analytics requests in flight at once for the project (rejected ones included). */
  readonly maxConcurrency: (ref: string) => Effect.Effect<number, UnknownProject>
  /** Clears the request log, concurrency peaks and cost/rate windows. */
  readonly resetInspection: Effect.Effect<void>
}

const listen = (
  core: EmulatorCore,
  kind: HostKind,
  host: string,
  port: number
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; sockets: Set<Socket> }, Error>((resume) => {
      const sockets = new Set<Socket>()
      const server = createServer((req, res) => core.handle(kind, req, res))
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(port, host, () => resume(Effect.succeed({ server, sockets })))
    }).pipe(Effect.orDie),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        core.closing.abort(new Error("emulator closed"))
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ server }) => `http://${host}:${(server.address() as AddressInfo).port}`))

const resolve = (core: EmulatorCore, ref: string): Effect.Effect<ProjectState, UnknownProject> =>
  Effect.suspend(() => {
    const state = core.findProject(ref)
    return state === undefined ? Effect.fail(new UnknownProject({ ref })) : Effect.succeed(state)
  })

/** Starts the four servers; they stop, dropping every open connection, when the scope closes. */
export const make = (options: EmulatorOptions = {}): Effect.Effect<Emulator, never, Scope.Scope> =>
  Effect.gen(function*() {
    const core = new EmulatorCore(options.data ?? {}, options.switches ?? {}, options.limits ?? {})
    const specs = [...(options.demoProjects === false ? [] : Object.values(DEMO_PROJECTS)), ...(options.projects ?? [])]
    yield* Effect.try(() => specs.forEach((spec) => core.addProject(spec))).pipe(Effect.orDie)
    const host = options.host ?? "127.0.0.1"
    const [us, eu, experimentUs, experimentEu] = yield* Effect.all(
      (["us", "eu", "experimentUs", "experimentEu"] as const).map((kind) =>
        listen(core, kind, host, options.ports?.[kind] ?? 0)
      )
    )
    core.urls = { us: us!, eu: eu!, experimentUs: experimentUs!, experimentEu: experimentEu! }

    const awaitRequests = (predicate: (request: RecordedRequest) => boolean, count = 1) =>
      Effect.async<ReadonlyArray<RecordedRequest>>((resume) => {
        const check = () => {
          const found = core.log.list().filter(predicate)
          if (found.length < count) return false
          unsubscribe()
          resume(Effect.succeed(found))
          return true
        }
        const unsubscribe = core.log.subscribe(check)
        check()
        return Effect.sync(unsubscribe)
      })

    const emulator: Emulator = {
      urls: core.urls,
      projects: Effect.sync(() => [...core.projects.values()].map((state) => state.project)),
      project: (ref) => Effect.map(resolve(core, ref), (state) => state.project),
      createProject: (spec) => Effect.sync(() => core.addProject(spec).project),
      setTaxonomy: (ref, enabled) =>
        Effect.map(resolve(core, ref), (state) => {
          state.taxonomy = enabled
        }),
      switches: Effect.sync(() => core.switches),
      setSwitches: (patch) => Effect.sync(() => (core.switches = { ...core.switches, ...patch })),
      limits: Effect.sync(() => core.limits),
      setLimits: (patch) => Effect.sync(() => (core.limits = { ...core.limits, ...patch })),
      injectFault: (spec) =>
        Effect.suspend(() => {
          const fault = core.injectFault(spec)
          return fault === undefined
            ? Effect.fail(new UnknownProject({ ref: spec.project ?? "" }))
            : Effect.succeed(fault)
        }),
      removeFault: (id) => Effect.sync(() => core.faults.remove(id)),
      clearFaults: Effect.sync(() => core.faults.clear()),
      faults: Effect.sync(() => core.faults.list()),
      requests: (filter) => Effect.sync(() => core.requests(filter)),
      awaitRequests,
      annotations: (ref) => Effect.map(resolve(core, ref), (state) => core.annotations(state)),
      usage: (ref) => Effect.map(resolve(core, ref), (state) => core.usage(state)),
      maxConcurrency: (ref) => Effect.map(resolve(core, ref), (state) => state.maxInFlight),
      resetInspection: Effect.sync(() => core.resetInspection())
    }
    return emulator
  })

export class AmplitudeEmulator extends Context.Tag("@findry/amplitude-emulator/AmplitudeEmulator")<
  AmplitudeEmulator,
  Emulator
>() {
  static readonly make = make

  static readonly layer = (options: EmulatorOptions = {}): Layer.Layer<AmplitudeEmulator> =>
    Layer.scoped(AmplitudeEmulator, make(options))
}
