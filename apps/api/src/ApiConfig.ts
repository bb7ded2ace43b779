import { AmplitudeConfig } from "@findry/amplitude-adapter"
import { fingerprintKeyConfig, keyringConfig } from "@findry/crypto"
import { Config, Context, Layer, type Redacted } from "effect"
import { connectionViewTtlConfig } from "./ConnectionViewCache.js"
import { webDirConfig } from "./WebApp.js"

export class ApiConfig extends Context.Tag("@findry/api/ApiConfig")<ApiConfig, {
  readonly port: number
  readonly appUrl: string
  readonly authSecret: Redacted.Redacted
}>() {}

const authSecret = Config.redacted(
  Config.string("FINDRY_AUTH_SECRET").pipe(
    Config.validate({ message: "must be at least 32 characters", validation: (secret) => secret.length >= 32 })
  )
)

/** The API's own variables, read together so that their problems are reported together. */
const apiConfig = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(3000)),
  appUrl: Config.url("FINDRY_APP_URL").pipe(
    Config.map((url) => url.toString().replace(/\/$/, "")),
    Config.withDefault("http://localhost:3000")
  ),
  authSecret
})

export const ApiConfigLive = Layer.effect(ApiConfig, apiConfig)

/**
 * Reads every variable of every package in one pass before anything starts, so that start-up reports all
 * configuration problems at once instead of the first layer's.
 */
export const StartupConfigCheck = Layer.effectDiscard(
  Config.all([
    apiConfig,
    keyringConfig,
    fingerprintKeyConfig,
    AmplitudeConfig.config,
    Config.option(Config.redacted("DATABASE_URL")),
    Config.option(Config.integer("DATABASE_POOL_SIZE")),
    connectionViewTtlConfig,
    webDirConfig
  ])
)
