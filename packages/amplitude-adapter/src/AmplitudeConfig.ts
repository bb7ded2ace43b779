import type { AmplitudeRegion } from "@findry/domain"
import { Config, ConfigError, Context, Duration, Either, Layer } from "effect"

/** Where the adapter sends requests and how long it waits for each answer. */
export interface AmplitudeSettings {
  /** Analytics REST hosts (Basic auth: API key + secret key), without a trailing slash. */
  readonly analyticsUrl: Readonly<Record<AmplitudeRegion, string>>
  /** Experiment Management API hosts (Bearer management key), without a trailing slash. */
  readonly experimentUrl: Readonly<Record<AmplitudeRegion, string>>
  /** Deadline of one HTTP attempt, answer body included. */
  readonly timeout: Duration.Duration
}

/** Plain values for tests and tools; anything left out takes Amplitude's real hosts and a 10 s timeout. */
export interface AmplitudeConfigValues {
  readonly usUrl?: string
  readonly euUrl?: string
  readonly experimentUsUrl?: string
  readonly experimentEuUrl?: string
  readonly timeout?: Duration.DurationInput
}

export const DEFAULT_AMPLITUDE_URLS = {
  us: "https://amplitude.com",
  eu: "https://analytics.eu.amplitude.com",
  experimentUs: "https://experiment.amplitude.com",
  experimentEu: "https://experiment.eu.amplitude.com"
} as const

export const DEFAULT_AMPLITUDE_TIMEOUT = Duration.seconds(10)

const baseUrl = (raw: string): Either.Either<string, string> => {
  try {
    const url = new URL(raw.trim())
    if (url.protocol !== "https:" && url.protocol !== "http:") return Either.left("must be an http(s) URL")
    if (url.search !== "" || url.hash !== "") return Either.left("must not carry a query or fragment")
    return Either.right(url.toString().replace(/\/+$/, ""))
  } catch {
    return Either.left("is not a valid URL")
  }
}

const urlConfig = (name: string, fallback: string): Config.Config<string> =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((raw) => Either.mapLeft(baseUrl(raw), (problem) => ConfigError.InvalidData([name], problem)))
  )

const settingsOrDie = (values: AmplitudeConfigValues): AmplitudeSettings => {
  const url = (name: string, raw: string | undefined, fallback: string) =>
    Either.getOrThrowWith(baseUrl(raw ?? fallback), (problem) => new Error(`${name} ${problem}`))
  return {
    analyticsUrl: {
      us: url("usUrl", values.usUrl, DEFAULT_AMPLITUDE_URLS.us),
      eu: url("euUrl", values.euUrl, DEFAULT_AMPLITUDE_URLS.eu)
    },
    experimentUrl: {
      us: url("experimentUsUrl", values.experimentUsUrl, DEFAULT_AMPLITUDE_URLS.experimentUs),
      eu: url("experimentEuUrl", values.experimentEuUrl, DEFAULT_AMPLITUDE_URLS.experimentEu)
    },
    timeout: values.timeout === undefined ? DEFAULT_AMPLITUDE_TIMEOUT : Duration.decode(values.timeout)
  }
}

export class AmplitudeConfig extends Context.Tag("@findry/amplitude-adapter/AmplitudeConfig")<
  AmplitudeConfig,
  AmplitudeSettings
>() {
  /**
   * `AMPLITUDE_US_URL`, `AMPLITUDE_EU_URL`, `AMPLITUDE_EXPERIMENT_US_URL`, `AMPLITUDE_EXPERIMENT_EU_URL`
   * (operators only; default: Amplitude's real hosts) and `AMPLITUDE_TIMEOUT_MS` (default 10000).
   */
  static readonly config: Config.Config<AmplitudeSettings> = Config.all({
    us: urlConfig("AMPLITUDE_US_URL", DEFAULT_AMPLITUDE_URLS.us),
    eu: urlConfig("AMPLITUDE_EU_URL", DEFAULT_AMPLITUDE_URLS.eu),
    experimentUs: urlConfig("AMPLITUDE_EXPERIMENT_US_URL", DEFAULT_AMPLITUDE_URLS.experimentUs),
    experimentEu: urlConfig("AMPLITUDE_EXPERIMENT_EU_URL", DEFAULT_AMPLITUDE_URLS.experimentEu),
    timeoutMs: Config.integer("AMPLITUDE_TIMEOUT_MS").pipe(
      Config.validate({ message: "must be a positive number of milliseconds", validation: (ms) => ms > 0 }),
      Config.withDefault(Duration.toMillis(DEFAULT_AMPLITUDE_TIMEOUT))
    )
  }).pipe(Config.map(({ eu, experimentEu, experimentUs, timeoutMs, us }) => ({
    analyticsUrl: { us, eu },
    experimentUrl: { us: experimentUs, eu: experimentEu },
    timeout: Duration.millis(timeoutMs)
  })))

  static readonly layerConfig = Layer.effect(AmplitudeConfig, AmplitudeConfig.config)

  /** Throws on a malformed URL: the values come from code, not from users. */
  static layer(values: AmplitudeConfigValues = {}): Layer.Layer<AmplitudeConfig> {
    return Layer.sync(AmplitudeConfig, () => settingsOrDie(values))
  }
}
