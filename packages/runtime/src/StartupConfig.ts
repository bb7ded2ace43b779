import { AmplitudeConfig } from "@findry/amplitude-adapter"
import { AnnotationsConfig } from "@findry/annotations"
import { keyringConfig } from "@findry/crypto"
import { ExperimentSyncSettings } from "@findry/experiment-sync"
import { sessionTimeoutsConfig } from "@findry/persistence"
import { Config } from "effect"
import { roleConfig } from "./Role.js"

/**
 * Every variable the runtime's layers read (role and runner address, database, keys, Amplitude, the jobs'
 * settings), as one `Config` so that a process's start-up check reports all their problems at once.
 */
export const runtimeConfig = Config.all([
  roleConfig,
  Config.option(Config.integer("DATABASE_POOL_SIZE")),
  sessionTimeoutsConfig,
  Config.option(Config.string("FINDRY_DATA_DIR")),
  keyringConfig,
  AmplitudeConfig.config,
  AnnotationsConfig.config,
  ExperimentSyncSettings.config
])
