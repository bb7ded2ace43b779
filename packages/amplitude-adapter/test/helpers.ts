import { AmplitudeEmulator, type Project, type ProjectSpec, type Switches } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { SecretOpener } from "@findry/crypto/opener"
import { Duration, Effect, type Exit, Layer, Logger, Redacted, Tracer } from "effect"
import { randomUUID } from "node:crypto"
import { type AddressInfo, createServer } from "node:net"
import { AmplitudeClient, type StoredConnection } from "../src/index.js"
import { amplitudeTestClient, type AmplitudeTestClientOptions, KeyringTest } from "../src/Testing.js"

/** Per-attempt timeout of the adapter in tests: short, so a hang fails fast. */
export const TEST_TIMEOUT = Duration.millis(800)

export const CryptoTest = Layer.mergeAll(
  SecretOpener.DefaultWithoutDependencies,
  SecretSealer.DefaultWithoutDependencies
)
  .pipe(Layer.provideMerge(KeyringTest))

export const EmulatorTest = AmplitudeEmulator.layer({ demoProjects: true })

/** The adapter as an app wires it, over real HTTP (undici), aimed at an emulator from the context. */
export const adapterLayer = (options: AmplitudeTestClientOptions = {}) =>
  amplitudeTestClient(AmplitudeEmulator, { timeout: TEST_TIMEOUT, ...options }).pipe(Layer.provideMerge(CryptoTest))

/** Runs `f` with a client of its own, built from `client` and released afterwards. */
export const withClient = <RIn, A, E, R>(
  client: Layer.Layer<AmplitudeClient, never, RIn>,
  f: (client: AmplitudeClient) => Effect.Effect<A, E, R>
) => Effect.flatMap(AmplitudeClient, f).pipe(Effect.provide(Layer.fresh(client)))

/** A client aimed at fixed base URLs, e.g. a closed port. */
export const clientAt = (url: string) =>
  amplitudeTestClient({ us: url, eu: url, experimentUs: url, experimentEu: url }, { timeout: TEST_TIMEOUT }).pipe(
    Layer.provide(CryptoTest)
  )

/** A local port nothing listens on. */
export const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

export const Quiet = Logger.replace(Logger.defaultLogger, Logger.none)

export const TestLive = adapterLayer().pipe(Layer.provideMerge(EmulatorTest), Layer.provide(Quiet))

let projectCounter = 0

/** A project of its own (own keys, own limits) with a small seeded data set. */
export const freshProject = (spec: Partial<ProjectSpec> = {}) =>
  Effect.flatMap(AmplitudeEmulator, (emulator) =>
    emulator.createProject({
      id: `adapter-${++projectCounter}`,
      ...spec,
      data: { users: 40, days: 30, experiments: 5, ...spec.data }
    }))

export const keysOf = (project: Project) => ({
  region: project.region,
  apiKey: Redacted.make(project.apiKey),
  secretKey: Redacted.make(project.secretKey)
})

/** Seals the project's keys as the API stores them: slots 1–3 of the workspace's `amplitude` row. */
export const storedConnection = (project: Project, options: { readonly managementKey?: string | null } = {}) =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const workspaceId = randomUUID()
    const seal = (value: string, slot: number) =>
      Effect.map(
        sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot }),
        (sealed) => sealed.sealed
      )
    const management = options.managementKey === undefined
      ? project.managementKeys[0]?.key ?? null
      : options.managementKey
    const stored: StoredConnection = {
      workspaceId,
      region: project.region,
      apiKey: yield* seal(project.apiKey, 1),
      secretKey: yield* seal(project.secretKey, 2),
      managementKey: management === null ? null : yield* seal(management, 3)
    }
    return stored
  })

/** Runs `effect` with emulator switches changed, restoring the previous ones afterwards. */
export const withSwitches = (patch: Partial<Switches>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(AmplitudeEmulator, (emulator) =>
    Effect.acquireUseRelease(
      Effect.flatMap(emulator.switches, (before) => Effect.as(emulator.setSwitches(patch), before)),
      () => effect,
      (before) => emulator.setSwitches(before)
    ))

/** Clears the faults injected during `effect`, however it ends. */
export const withFaults = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(AmplitudeEmulator, (emulator) => Effect.ensuring(effect, emulator.clearFaults))

/** Elapsed wall-clock milliseconds of an effect. */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const result = yield* effect
    return { result, ms: performance.now() - start }
  })

export interface RecordedSpan {
  readonly name: string
  /** The parent span's name; null for a root or an external parent. */
  readonly parent: string | null
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> | undefined }>
  exit?: Exit.Exit<unknown, unknown>
}

/** A tracer that records every span it starts (name, parent, attributes, events, exit) in `spans`. */
export const spanRecorder = () => {
  const spans: Array<RecordedSpan> = []
  let counter = 0
  const tracer = Tracer.make({
    context: (f) => f(),
    span: (name, parent, context, links, startTime, kind, options) => {
      const record: RecordedSpan = {
        name,
        parent: parent._tag === "Some" && parent.value._tag === "Span" ? parent.value.name : null,
        attributes: new Map(Object.entries(options?.attributes ?? {})),
        events: []
      }
      spans.push(record)
      return {
        _tag: "Span",
        name,
        spanId: String(++counter),
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: record.attributes,
        links,
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          record.exit = exit
        },
        attribute: (key, value) => {
          record.attributes.set(key, value)
        },
        event: (eventName, _time, attributes) => {
          record.events.push({ name: eventName, attributes })
        },
        addLinks: () => {}
      } satisfies Tracer.Span
    }
  })
  return { tracer, spans }
}
