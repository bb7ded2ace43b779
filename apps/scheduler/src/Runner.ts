import { RunnerAddress } from "@effect/cluster"
import { ClusterWorkflowEngine } from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { clusterSharding, singleRunner } from "@findry/annotations"
import { Config, Effect, Layer, Option } from "effect"

/**
 * `FINDRY_RUNNER_MODE`:
 * - `socket` (default): one of N replicas. Runners find each other through the database and talk over
 *   TCP on `FINDRY_RUNNER_HOST`:`FINDRY_RUNNER_PORT` (default `localhost:34431`; each replica needs its own
 *   reachable address), listening on `FINDRY_RUNNER_LISTEN_HOST` (default: the runner's own host, so the
 *   cluster's unauthenticated traffic is not offered on every interface; `0.0.0.0` only where a private
 *   network or firewall keeps outsiders off the port).
 * - `single`: the only runner (`SingleRunner`, no socket). Never start two of these on one database.
 */
export const RunnerConfig = Config.all({
  mode: Config.literal("socket", "single")("FINDRY_RUNNER_MODE").pipe(Config.withDefault("socket" as const)),
  host: Config.string("FINDRY_RUNNER_HOST").pipe(Config.withDefault("localhost")),
  port: Config.port("FINDRY_RUNNER_PORT").pipe(Config.withDefault(34431)),
  listenHost: Config.option(Config.string("FINDRY_RUNNER_LISTEN_HOST"))
}).pipe(
  Config.map(({ listenHost, ...config }) => ({
    ...config,
    listenHost: Option.getOrElse(listenHost, () => config.host)
  }))
)

/** The cluster this process joins, with the workflow engine on top. Needs the `SqlClient`. */
export const RunnerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* RunnerConfig
  yield* Effect.logInfo("Scheduler runner starting").pipe(
    Effect.annotateLogs({
      mode: config.mode,
      ...(config.mode === "socket" ? { address: `${config.host}:${config.port}` } : {})
    })
  )
  if (config.mode === "single") return singleRunner({ runnerStorage: "sql" })
  return ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(NodeClusterSocket.layer({
      storage: "sql",
      shardingConfig: {
        ...clusterSharding,
        runnerAddress: Option.some(RunnerAddress.make(config.host, config.port)),
        runnerListenAddress: Option.some(RunnerAddress.make(config.listenHost, config.port))
      }
    }))
  )
}))
