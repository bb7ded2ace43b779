import { HttpApiBuilder } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { AnnotationsConfig } from "@findry/annotations"
import { Fingerprinter } from "@findry/crypto"
import { LoggingLive, reportStartupFailure, TelemetryLive } from "@findry/observability"
import { AmplitudeLive, CryptoLive, roleConfig, SchedulerLive, SqlLive } from "@findry/runtime"
import { Config, Effect, Layer } from "effect"
import { ApiConfig, ApiConfigLive, StartupConfigCheck, workerPortConfig } from "./ApiConfig.js"
import { WorkerHealthHttpLive } from "./health/HealthHttp.js"
import { createApiServer } from "./server/BodyLimit.js"
import { HttpApiLive } from "./server/HttpServerLive.js"

const NodeServerLive = Layer.unwrapEffect(
  Effect.map(ApiConfig, ({ port }) => NodeHttpServer.layer(createApiServer, { port, host: "0.0.0.0" }))
)

const WebAppAddressLive = Layer.effectDiscard(
  Effect.flatMap(ApiConfig, ({ port }) => Effect.log(`Web app: http://localhost:${port}/app/`))
)

/** Roles `all` and `api`: the HTTP API and the web app on `PORT`. */
const ApiServerLive = Layer.merge(HttpApiLive, WebAppAddressLive).pipe(
  Layer.provide(NodeServerLive),
  Layer.provide([ApiConfigLive, Fingerprinter.Default])
)

/** Role `worker`: `/healthz` and `/readyz` on `PORT`, for the orchestrator. */
const WorkerServerLive = Layer.unwrapEffect(Effect.map(workerPortConfig, (port) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(WorkerHealthHttpLive),
    Layer.provide(NodeHttpServer.layer(createApiServer, { port, host: "0.0.0.0" }))
  )))

const ServerLive = Layer.unwrapEffect(
  Effect.map(roleConfig, ({ role }) => role === "worker" ? WorkerServerLive : ApiServerLive)
)

/** Traces and metrics as `findry-worker` from a worker, `findry-api` from the roles that serve the API. */
const TelemetryOfRoleLive = Layer.unwrapEffect(
  Effect.map(
    Config.string("FINDRY_ROLE").pipe(Config.withDefault("all")),
    (role) =>
      TelemetryLive(role === "worker" ? "findry-worker" : "findry-api").pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
)

const ProcessLive = ServerLive.pipe(
  Layer.provide(SchedulerLive),
  Layer.provide([SqlLive, CryptoLive, AmplitudeLive, AnnotationsConfig.layerConfig]),
  Layer.provide(TelemetryOfRoleLive),
  Layer.provide(StartupConfigCheck),
  Layer.provide(LoggingLive)
)

Layer.launch(ProcessLive).pipe(
  Effect.tapErrorCause(reportStartupFailure("service")),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
