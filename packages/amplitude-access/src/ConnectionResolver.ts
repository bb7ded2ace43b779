import {
  AMPLITUDE_PROVIDER,
  AmplitudeClient,
  type AmplitudeExperiments,
  type CallPolicy,
  type ConnectedProject
} from "@findry/amplitude-adapter"
import { ManagementKeyRequired, NotConnected, type WorkspaceId } from "@findry/domain"
import { type ConnectedCredentials, type IntegrationRecord, IntegrationsRepo } from "@findry/persistence"
import { Effect, Option } from "effect"

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

      const live = (
        workspaceId: WorkspaceId,
        options: ResolveOptions = {}
      ): Effect.Effect<LiveConnection, NotConnected> =>
        Effect.flatMap(integrations.find(workspaceId, AMPLITUDE_PROVIDER), (found) => {
          const record = Option.getOrUndefined(found)
          const credentials = record?.connectedCredentials
          if (record === undefined || credentials === undefined) return Effect.fail(new NotConnected())
          const connection = amplitude.connection(
            credentials,
            options.policy === undefined ? {} : { policy: options.policy }
          )
          return Effect.succeed({ record, credentials, connection })
        }).pipe(Effect.withSpan("ConnectionResolver.live", { attributes: { workspaceId } }))

      const withExperiments = (
        workspaceId: WorkspaceId,
        options: ResolveOptions = {}
      ): Effect.Effect<LiveExperiments, NotConnected | ManagementKeyRequired> =>
        Effect.flatMap(live(workspaceId, options), (resolved) =>
          Option.match(resolved.connection.experiments, {
            onNone: () => Effect.fail(new ManagementKeyRequired()),
            onSome: (experiments) => Effect.succeed({ ...resolved, experiments })
          }))

      return { live, withExperiments } as const
    }),
    dependencies: [IntegrationsRepo.Default]
  }
) {}
