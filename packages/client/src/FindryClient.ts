import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Config, type ConfigError, Context, Effect, Layer, Option, type Redacted } from "effect"

/** Where the API answers and who is calling. */
export interface FindryClientOptions {
  /**
   * The API's origin, e.g. `https://findry.example.com` (the paths of the contract start with `/v1/…`). Omit it
   * when the `HttpClient` already sends every request there (a test client, a client with `mapRequest`).
   */
  readonly baseUrl?: string | URL | undefined
  /** The caller's bearer JWT, sent on every request. Omit it for the public endpoints (`/healthz`, `/readyz`). */
  readonly token?: Redacted.Redacted<string> | undefined
}

/**
 * The Findry API client derived from `FindryApi`: a typed group per part of the contract (`workspaces`,
 * `amplitudeConnection`, `metrics`, `bets`, `outcomes`, `tests`, `audit`, `health`). Every method fails with the
 * contract's tagged errors (`WrongRegion`, `RateLimited`, `Forbidden`, …), so callers pick one with
 * `Effect.catchTag`; transport failures are `HttpClientError`s, an answer outside the contract a `ParseError`.
 */
export const make = (options: FindryClientOptions = {}) =>
  HttpApiClient.make(FindryApi, {
    baseUrl: options.baseUrl,
    transformClient: options.token === undefined
      ? undefined
      : HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token))
  })

/** The typed client: one property per group of the contract, one method per endpoint. */
export type Client = Effect.Effect.Success<ReturnType<typeof make>>

/** The client as a service, for programs that call Findry as one identity. Needs an `HttpClient`. */
export class FindryClient extends Context.Tag("@findry/client/FindryClient")<FindryClient, Client>() {
  static readonly make = make

  /** The client for `options`. */
  static readonly layer = (options: FindryClientOptions): Layer.Layer<FindryClient, never, HttpClient.HttpClient> =>
    Layer.effect(FindryClient, make(options))

  /**
   * The client read from configuration, by default `FINDRY_API_URL` and `FINDRY_API_TOKEN` (the token is read as
   * a `Redacted`, so it never shows in a log or an error).
   */
  static readonly layerConfig = (
    config: Config.Config<FindryClientOptions> = Config.all({
      baseUrl: Config.string("FINDRY_API_URL"),
      token: Config.option(Config.redacted("FINDRY_API_TOKEN")).pipe(Config.map(Option.getOrUndefined))
    })
  ): Layer.Layer<FindryClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
    Layer.effect(FindryClient, Effect.flatMap(config, make))
}
