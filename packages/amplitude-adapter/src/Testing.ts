import { ENCRYPTION_KEYS_VARIABLE, Keyring } from "@findry/crypto"
import { SecretOpener } from "@findry/crypto/opener"
import type { AmplitudeRegion } from "@findry/domain"
import { ConfigProvider, Duration, Effect, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { AmplitudeClient } from "./AmplitudeClient.js"
import { AmplitudeConfig } from "./AmplitudeConfig.js"
import { AmplitudeGovernor, type GovernorLimits } from "./AmplitudeGovernor.js"
import { AmplitudeHttp } from "./AmplitudeHttp.js"
import { governorKey, projectKeys } from "./internal/Credentials.js"

/** The first half of a project's advisory lock keys in the fleet-wide governor, to find its locks in `pg_locks`. */
export { slotLockKey } from "./FleetGovernor.js"

/** The governor's key of the analytics project with API key `apiKey`, as every process computes it. */
export const projectGovernorKey = (region: AmplitudeRegion, apiKey: string): string =>
  governorKey(region, projectKeys(Redacted.make(apiKey), Redacted.make("")))

/**
 * The base URLs of an Amplitude stand-in, in the shape of the emulator's `urls`. All four are required, so a
 * test client never falls back to Amplitude's real hosts.
 */
export interface AmplitudeTestUrls {
  readonly us: string
  readonly eu: string
  readonly experimentUs: string
  readonly experimentEu: string
}

export interface AmplitudeTestClientOptions {
  /** Deadline of one HTTP attempt (default `TEST_AMPLITUDE_TIMEOUT`): short, so a hang fails fast. */
  readonly timeout?: Duration.DurationInput
  /** Limits of the client's own governor (default: Amplitude's). */
  readonly limits?: Partial<GovernorLimits>
  /** Rewrites the URL of every request, to simulate Amplitude answers the stand-in cannot be told to give. */
  readonly rewriteUrl?: (url: string) => string
}

export const TEST_AMPLITUDE_TIMEOUT = Duration.seconds(1)

/** A random keyring of this process, in `FINDRY_ENCRYPTION_KEYS` form (give it to child processes as is). */
export const TEST_ENCRYPTION_KEYS = `test:${randomBytes(32).toString("base64")}`

/** A `Keyring` from keyring text (default `TEST_ENCRYPTION_KEYS`); malformed text is a defect. */
export const testKeyring = (keys: string = TEST_ENCRYPTION_KEYS): Layer.Layer<Keyring> =>
  Keyring.layerFromString(keys).pipe(Layer.orDie)

/** The keyring of `TEST_ENCRYPTION_KEYS`. */
export const KeyringTest: Layer.Layer<Keyring> = testKeyring()

/** A config provider holding only `FINDRY_ENCRYPTION_KEYS`, for layers that read the keyring from config. */
export const encryptionKeysConfig = (keys: string = TEST_ENCRYPTION_KEYS): Layer.Layer<never> =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map([[ENCRYPTION_KEYS_VARIABLE, keys]])))

const httpWith = (rewriteUrl: AmplitudeTestClientOptions["rewriteUrl"]) =>
  rewriteUrl === undefined
    ? AmplitudeHttp.layer
    : Layer.effect(
      AmplitudeHttp,
      Effect.map(AmplitudeHttp, (http) => ({
        exchange: (request) => http.exchange({ ...request, url: rewriteUrl(request.url) })
      }))
    ).pipe(Layer.provide(AmplitudeHttp.layer))

const clientAt = (urls: AmplitudeTestUrls, options: AmplitudeTestClientOptions) =>
  AmplitudeClient.DefaultWithoutDependencies.pipe(
    Layer.provideMerge(AmplitudeGovernor.layer(options.limits)),
    Layer.provide([
      SecretOpener.DefaultWithoutDependencies,
      AmplitudeConfig.layer({
        usUrl: urls.us,
        euUrl: urls.eu,
        experimentUsUrl: urls.experimentUs,
        experimentEuUrl: urls.experimentEu,
        timeout: options.timeout ?? TEST_AMPLITUDE_TIMEOUT
      }),
      httpWith(options.rewriteUrl)
    ])
  )

/**
 * The adapter as an app wires it (real HTTP through undici, a governor of its own), aimed at fixed URLs or at
 * a stand-in found in the context: pass the `AmplitudeEmulator` tag itself (any effect giving something with
 * `urls`). It opens credentials with the `Keyring` of the context (`KeyringTest`, or `Keyring.Default`).
 */
export const amplitudeTestClient = <E = never, R = never>(
  at: AmplitudeTestUrls | Effect.Effect<{ readonly urls: AmplitudeTestUrls }, E, R>,
  options: AmplitudeTestClientOptions = {}
): Layer.Layer<AmplitudeClient | AmplitudeGovernor, E, Keyring | R> =>
  Effect.isEffect(at)
    ? Layer.unwrapEffect(Effect.map(at, (emulator) => clientAt(emulator.urls, options)))
    : clientAt(at, options)
