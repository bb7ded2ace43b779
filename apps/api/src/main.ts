import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { AnnotationsConfig } from "@findry/annotations"
import { Fingerprinter, Keyring, SecretSealer } from "@findry/crypto"
import { LoggingLive, reportStartupFailure, TelemetryLive } from "@findry/observability"
import { DatabaseLive, MigrationsLive } from "@findry/persistence"
import { AmplitudeLive } from "@findry/runtime"
import { Effect, Layer } from "effect"
import { ApiConfig, ApiConfigLive, StartupConfigCheck } from "./ApiConfig.js"
import { createApiServer } from "./BodyLimit.js"
import { HttpApiLive } from "./HttpServerLive.js"
import { SchedulerLive } from "./Scheduler.js"

const SqlLive = MigrationsLive.pipe(Layer.provideMerge(DatabaseLive))

const CryptoLive = Layer.mergeAll(SecretSealer.Default, Fingerprinter.Default).pipe(Layer.provide(Keyring.Default))

const NodeServerLive = Layer.unwrapEffect(
  Effect.map(ApiConfig, ({ port }) => NodeHttpServer.layer(createApiServer, { port, host: "0.0.0.0" }))
)

const WebAppAddressLive = Layer.effectDiscard(
  Effect.flatMap(ApiConfig, ({ port }) => Effect.log(`Web app: http://localhost:${port}/app/`))
)

const ServerLive = Layer.merge(HttpApiLive, WebAppAddressLive).pipe(
  Layer.provide(NodeServerLive),
  Layer.provide(SchedulerLive),
  Layer.provide([SqlLive, CryptoLive, AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(ApiConfigLive),
  Layer.provide(TelemetryLive("findry-api").pipe(Layer.provide(NodeHttpClient.layerUndici))),
  Layer.provide(StartupConfigCheck),
  Layer.provide(LoggingLive)
)

Layer.launch(ServerLive).pipe(
  Effect.tapErrorCause(reportStartupFailure("API")),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
