import { Config, ConfigError, Either, Option, type Redacted } from "effect"

/**
 * What a service process does (`FINDRY_ROLE`):
 * - `all` (default): the HTTP API and a scheduler runner. Any number of identical replicas may share one
 *   PostgreSQL: each is a runner, and shard ownership is decided by locks in PostgreSQL.
 * - `api`: the HTTP API only; it enqueues jobs for the runners of other processes.
 * - `worker`: a scheduler runner with a small HTTP listener for `/healthz` and `/readyz`.
 */
export type Role = "all" | "api" | "worker"

/**
 * How the runners talk to each other and how enqueuing processes reach them (`FINDRY_RUNNER_TRANSPORT`): `socket`
 * (default), @effect/cluster's TCP socket protocol, or `http`, its HTTP protocol. Every process of a fleet must use
 * the same. Either listens on the runner's own address, never on the public port.
 */
export type RunnerTransport = "socket" | "http"

export const runnerTransportConfig: Config.Config<RunnerTransport> = Config.literal("socket", "http")(
  "FINDRY_RUNNER_TRANSPORT"
).pipe(Config.withDefault("socket" as const))

/** How this process reaches, and is reached by, the other runners of the cluster. */
export interface RunnerAddressSettings {
  /** The address the other replicas connect to (`FINDRY_RUNNER_HOST`:`FINDRY_RUNNER_PORT`). */
  readonly host: string
  readonly port: number
  /** The address the runner's socket listens on (`FINDRY_RUNNER_LISTEN_HOST`, default: `host`). */
  readonly listenHost: string
  readonly transport: RunnerTransport
}

export interface RoleSettings {
  readonly role: Role
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  readonly runner: RunnerAddressSettings
}

const WILDCARDS: ReadonlySet<string> = new Set(["0.0.0.0", "::", "[::]", "*", "0:0:0:0:0:0:0:0"])

const notWildcard = (host: string) => !WILDCARDS.has(host.trim())

const WILDCARD_MESSAGE = "must be this runner's own address, not a wildcard: the runners' traffic is not " +
  "authenticated, so it may only be offered on an address of the private network the replicas share " +
  "(e.g. the container's or host's private IP)"

/** `FINDRY_RUNNER_*`: the runner's own address; a wildcard listen address is refused (see `WILDCARD_MESSAGE`). */
export const runnerAddressConfig: Config.Config<RunnerAddressSettings> = Config.all({
  host: Config.string("FINDRY_RUNNER_HOST").pipe(
    Config.validate({ message: WILDCARD_MESSAGE, validation: notWildcard }),
    Config.withDefault("localhost")
  ),
  port: Config.port("FINDRY_RUNNER_PORT").pipe(Config.withDefault(34431)),
  transport: runnerTransportConfig,
  listenHost: Config.option(
    Config.string("FINDRY_RUNNER_LISTEN_HOST").pipe(
      Config.validate({ message: WILDCARD_MESSAGE, validation: notWildcard })
    )
  )
}).pipe(
  Config.map(({ listenHost, ...address }) => ({
    ...address,
    listenHost: Option.getOrElse(listenHost, () => address.host)
  }))
)

/** The mode variable of earlier versions: refused rather than ignored, with what replaces it. */
const retiredSchedulerMode = Config.option(Config.string("FINDRY_SCHEDULER")).pipe(
  Config.mapOrFail((value) =>
    Option.isNone(value) ? Either.right(undefined) : Either.left(ConfigError.InvalidData(
      ["FINDRY_SCHEDULER"],
      "is no longer read: remove it and set FINDRY_ROLE instead (embedded → all, external → api)"
    ))
  )
)

/**
 * `FINDRY_ROLE` with what it depends on. `api` and `worker` split the work between processes, so they need a
 * PostgreSQL server (`DATABASE_URL`): the embedded database serves one process only.
 */
export const roleConfig: Config.Config<RoleSettings> = Config.all({
  role: Config.literal("all", "api", "worker")("FINDRY_ROLE").pipe(Config.withDefault("all" as const)),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  runner: runnerAddressConfig,
  retired: retiredSchedulerMode
}).pipe(
  Config.mapOrFail(({ databaseUrl, role, runner }) =>
    role !== "all" && Option.isNone(databaseUrl)
      ? Either.left(ConfigError.InvalidData(
        ["FINDRY_ROLE"],
        `${role} needs DATABASE_URL: the roles api and worker split the work between processes, and the ` +
          "embedded database serves one process only (use FINDRY_ROLE=all without DATABASE_URL)"
      ))
      : Either.right({ role, databaseUrl, runner })
  )
)
