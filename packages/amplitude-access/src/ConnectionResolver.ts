import {
  AMPLITUDE_PROVIDER,
  AmplitudeClient,
  type AmplitudeExperiments,
  type CallPolicy,
  type ConnectedProject
} from "@findry/amplitude-adapter"
import { ManagementKeyRequired, NotConnected, type WorkspaceId } from "@findry/domain"
import { type ConnectedCredentials, type IntegrationRecord, IntegrationsRepo } from "@findry/persistence"
import { Effect, Either, Option } from "effect"

/**
 * A workspace's live Amplitude connection: its integration row as read now and a handle on its project. The
 * handle opens the sealed keys on its first call, so a key that cannot be opened fails that call with
 * `CredentialsUnreadable`.
 */
export interface LiveConnection {
  readonly record: IntegrationRecord
  /** The sealed keys the handle opens; answers read with them can be keyed by them. */
  readonly credentials: ConnectedCredentials
  readonly connection: ConnectedProject
}

/** A live connection that holds a Management API key, with the Experiment calls it allows. */
export interface LiveExperiments extends LiveConnection {
  readonly experiments: AmplitudeExperiments
}

export interface ResolveOptions {
  /** Retries and waits of the handle's calls (default: interactive). */
  readonly policy?: CallPolicy | undefined
}

/**
 * Workspace → live Amplitude connection, in one read of the integration row. A workspace never connected,
 * disconnected, or whose row lacks the API or secret key is `NotConnected`; Experiment calls without a
 * Management API key are `ManagementKeyRequired`.
 */
export class ConnectionResolver extends Effect.Service<ConnectionResolver>()(
  "@findry/amplitude-access/ConnectionResolver",
  {
    effect: Effect.gen(function*() {
      const integrations = yield* IntegrationsRepo
      const amplitude = yield* AmplitudeClient

      const connect = (
        found: IntegrationRecord | undefined,
        options: ResolveOptions
      ): Either.Either<LiveConnection, NotConnected> => {
        const credentials = found?.connectedCredentials
        if (found === undefined || credentials === undefined) return Either.left(new NotConnected())
        const connection = amplitude.connection(
          credentials,
          options.policy === undefined ? {} : { policy: options.policy }
        )
        return Either.right({ record: found, credentials, connection })
      }

      const withManagementKey = (
        resolved: LiveConnection
      ): Either.Either<LiveExperiments, ManagementKeyRequired> =>
        Option.match(resolved.connection.experiments, {
          onNone: () => Either.left(new ManagementKeyRequired()),
          onSome: (experiments) => Either.right({ ...resolved, experiments })
        })

      const live = (
        workspaceId: WorkspaceId,
        options: ResolveOptions = {}
      ): Effect.Effect<LiveConnection, NotConnected> =>
        Effect.flatMap(
          integrations.find(workspaceId, AMPLITUDE_PROVIDER),
          (found) => connect(Option.getOrUndefined(found), options)
        ).pipe(Effect.withSpan("ConnectionResolver.live", { attributes: { workspaceId } }))

      const withExperiments = (
        workspaceId: WorkspaceId,
        options: ResolveOptions = {}
      ): Effect.Effect<LiveExperiments, NotConnected | ManagementKeyRequired> =>
        Effect.flatMap(live(workspaceId, options), withManagementKey)

      /** `live` for many workspaces in one read of their integration rows. */
      const liveAll = (
        workspaceIds: ReadonlyArray<WorkspaceId>,
        options: ResolveOptions = {}
      ): Effect.Effect<ReadonlyMap<WorkspaceId, Either.Either<LiveConnection, NotConnected>>> =>
        Effect.map(
          integrations.findAll(workspaceIds, AMPLITUDE_PROVIDER),
          (found) => new Map(workspaceIds.map((workspaceId) => [workspaceId, connect(found.get(workspaceId), options)]))
        ).pipe(Effect.withSpan("ConnectionResolver.liveAll"))

      /** `withExperiments` for many workspaces in one read of their integration rows. */
      const withExperimentsAll = (
        workspaceIds: ReadonlyArray<WorkspaceId>,
        options: ResolveOptions = {}
      ): Effect.Effect<
        ReadonlyMap<WorkspaceId, Either.Either<LiveExperiments, NotConnected | ManagementKeyRequired>>
      > =>
        Effect.map(
          liveAll(workspaceIds, options),
          (live) =>
            new Map(
              [...live].map(([workspaceId, resolved]) => [workspaceId, Either.flatMap(resolved, withManagementKey)])
            )
        )

      return { live, liveAll, withExperiments, withExperimentsAll } as const
    }),
    dependencies: [IntegrationsRepo.Default]
  }
) {}
