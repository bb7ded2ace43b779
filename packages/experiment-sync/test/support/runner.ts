/**
 * A scheduler runner for the crash test, in its own process: `SingleRunner` with SQL message storage and
 * advisory shard locks on `SYNC_DATABASE_URL`, the experiment-sync workflows, and the Amplitude adapter aimed at
 * the test's emulator. It starts `NightlySync` for `SYNC_DATE` (a no-op when that night already exists) and runs
 * until it is killed.
 */
import { ClusterWorkflowEngine, SingleRunner } from "@effect/cluster"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { AmplitudeClient, AmplitudeConfig, AmplitudeGovernor } from "@findry/amplitude-adapter"
import { Keyring } from "@findry/crypto"
import { SecretOpener } from "@findry/crypto/opener"
import { PgLive } from "@findry/persistence"
import { Config, Duration, Effect, Layer } from "effect"
import { ExperimentSyncSettings } from "../../src/ExperimentSync.js"
import { ExperimentSyncWorkflowsLive, NightlySync } from "../../src/Workflows.js"
import { FAST_POLICY } from "./Policy.js"

const Sql = Layer.unwrapEffect(
  Effect.map(Config.redacted("SYNC_DATABASE_URL"), (url) => PgLive(url, { maxConnections: 8 }))
)

const Engine = ClusterWorkflowEngine.layer.pipe(
  Layer.provideMerge(SingleRunner.layer({
    runnerStorage: "sql",
    shardingConfig: {
      shardsPerGroup: 30,
      entityMessagePollInterval: Duration.millis(300),
      entityReplyPollInterval: Duration.millis(200),
      refreshAssignmentsInterval: Duration.seconds(1),
      shardLockRefreshInterval: Duration.seconds(2),
      shardLockExpiration: Duration.seconds(6)
    }
  }))
)

const Amplitude = Layer.unwrapEffect(Effect.gen(function*() {
  const experimentUrl = yield* Config.string("SYNC_EXPERIMENT_URL")
  return AmplitudeClient.DefaultWithoutDependencies.pipe(
    Layer.provide([
      AmplitudeGovernor.Default,
      SecretOpener.DefaultWithoutDependencies.pipe(Layer.provide(Keyring.Default)),
      AmplitudeConfig.layer({
        usUrl: experimentUrl,
        euUrl: experimentUrl,
        experimentUsUrl: experimentUrl,
        experimentEuUrl: experimentUrl,
        timeout: "5 seconds"
      }),
      NodeHttpClient.layerUndici
    ])
  )
}))

const Settings = Layer.unwrapEffect(
  Effect.map(
    Config.integer("SYNC_WAVE_SIZE"),
    (waveSize) => ExperimentSyncSettings.layer({ waveSize, policy: FAST_POLICY })
  )
)

const App = ExperimentSyncWorkflowsLive.pipe(
  Layer.provide([Settings, Amplitude]),
  Layer.provideMerge(Engine),
  Layer.provideMerge(Sql)
)

Effect.gen(function*() {
  const date = yield* Config.string("SYNC_DATE")
  yield* NightlySync.execute({ date }, { discard: true })
  yield* Effect.logInfo("runner ready")
  return yield* Effect.never
}).pipe(Effect.provide(App), NodeRuntime.runMain)
