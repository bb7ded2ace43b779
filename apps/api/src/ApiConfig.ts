import { Config, Context, Layer, type Redacted } from "effect"

export class ApiConfig extends Context.Tag("@findry/api/ApiConfig")<ApiConfig, {
  readonly port: number
  readonly appUrl: string
  readonly authSecret: Redacted.Redacted
  readonly encryptionKeys: Redacted.Redacted
  readonly fingerprintKey: Redacted.Redacted
}>() {}

const authSecret = Config.redacted(
  Config.string("FINDRY_AUTH_SECRET").pipe(
    Config.validate({ message: "must be at least 32 characters", validation: (secret) => secret.length >= 32 })
  )
)

/** Every variable is read in one pass so that start-up reports all problems at once. */
export const ApiConfigLive = Layer.effect(
  ApiConfig,
  Config.all({
    port: Config.port("PORT").pipe(Config.withDefault(3000)),
    appUrl: Config.url("FINDRY_APP_URL").pipe(
      Config.map((url) => url.toString().replace(/\/$/, "")),
      Config.withDefault("http://localhost:3000")
    ),
    authSecret,
    encryptionKeys: Config.redacted("FINDRY_ENCRYPTION_KEYS"),
    fingerprintKey: Config.redacted("FINDRY_FINGERPRINT_KEY")
  })
)
