import { fingerprintKeyConfig } from "@findry/crypto"
import { telemetryConfig } from "@findry/observability"
import { runtimeConfig } from "@findry/runtime"
import { Config, Context, Effect, Layer, Option, type Redacted } from "effect"
import { connectionViewTtlConfig } from "./amplitude-connection/ConnectionViewCache.js"
import { pickerAnswerTtlConfig } from "./amplitude-connection/SharedPickers.js"
import type { TokenPolicy } from "./auth/Jwt.js"
import { usageLimitsConfig } from "./limits/UsageLimits.js"
import { webDirConfig } from "./server/WebApp.js"

export class ApiConfig extends Context.Tag("@findry/api/ApiConfig")<ApiConfig, {
  readonly port: number
  readonly appUrl: string
  readonly authSecret: Redacted.Redacted
  /** The longest a request may take before it is interrupted and answered 503. */
  readonly requestTimeoutMillis: number
  /** What bearer tokens must say besides a valid signature and expiry. */
  readonly tokenPolicy?: TokenPolicy
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
  authSecret,
  requestTimeoutMillis: Config.integer("FINDRY_REQUEST_TIMEOUT_MS").pipe(
    Config.validate({ message: "must be at least 1000", validation: (ms) => ms >= 1000 }),
    Config.withDefault(60_000)
  ),
  tokenPolicy: Config.all({
    issuer: Config.option(Config.string("FINDRY_AUTH_ISSUER")).pipe(Config.map(Option.getOrUndefined)),
    audience: Config.option(Config.string("FINDRY_AUTH_AUDIENCE")).pipe(Config.map(Option.getOrUndefined)),
    maxLifetimeSeconds: Config.option(
      Config.integer("FINDRY_AUTH_MAX_TOKEN_LIFETIME_SECONDS").pipe(
        Config.validate({ message: "must be at least 60", validation: (seconds) => seconds >= 60 })
      )
    ).pipe(Config.map(Option.getOrUndefined))
  })
})

export const ApiConfigLive = Layer.effect(ApiConfig, apiConfig)

/** A `worker`'s own variables: the port of its `/healthz` and `/readyz` listener. */
export const workerPortConfig = Config.port("PORT").pipe(Config.withDefault(3000))

/** The variables of the HTTP API's own concerns, read by the roles that serve it (`all`, `api`). */
const apiVariables = Config.all([
  apiConfig,
  fingerprintKeyConfig,
  connectionViewTtlConfig,
  usageLimitsConfig,
  pickerAnswerTtlConfig,
  webDirConfig
])

/**
 * Reads every variable this process's role uses, of every package, in one pass before anything starts, so that
 * start-up reports all configuration problems at once instead of the first layer's. (A malformed `FINDRY_ROLE`
 * is checked with the API's variables, and named by `roleConfig`.)
 */
export const StartupConfigCheck = Layer.effectDiscard(Effect.gen(function*() {
  const role = yield* Config.string("FINDRY_ROLE").pipe(Config.withDefault("all"))
  yield* Config.all([runtimeConfig, telemetryConfig, role === "worker" ? workerPortConfig : apiVariables])
}))
