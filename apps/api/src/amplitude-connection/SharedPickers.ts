import type { RateLimited, WorkspaceId } from "@findry/domain"
import { type ConnectedCredentials, PickerAnswers } from "@findry/persistence"
import { Config, Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { makeSingleFlight } from "../limits/SingleFlight.js"
import { UsageLimits } from "../limits/UsageLimits.js"

/** `FINDRY_PICKER_ANSWER_TTL_SECONDS`: how long a picker's answer is shared by a workspace's members; 0 never. */
export const pickerAnswerTtlConfig = Config.integer("FINDRY_PICKER_ANSWER_TTL_SECONDS").pipe(
  Config.validate({ message: "must be a number of seconds, 0 or more", validation: (seconds) => seconds >= 0 }),
  Config.withDefault(60)
)

export interface Picker<A> {
  readonly available: boolean
  readonly reason?: string
  readonly items: ReadonlyArray<A>
}

/** A picker's answer for a workspace: shared, or `read` from Amplitude. */
export type SharedPicker<A> = (
  workspaceId: WorkspaceId,
  credentials: ConnectedCredentials,
  read: Effect.Effect<Picker<A>>
) => Effect.Effect<Picker<A>, RateLimited>

/** Changes with every re-key, management key change or disconnect: the sealed values are never sealed twice alike. */
const credentialsDigest = (credentials: ConnectedCredentials) => {
  const hash = createHash("sha256")
  for (const part of [credentials.apiKey, credentials.secretKey, credentials.managementKey ?? new Uint8Array()]) {
    hash.update(`${part.length}:`).update(part)
  }
  return hash.digest("base64url")
}

/**
 * Amplitude picker answers shared by a workspace's members for a short time, fleet-wide in PostgreSQL
 * (`PickerAnswers`): a member's read is answered from there when one was read with the same credentials within
 * the time-to-live. Otherwise it counts in the workspace's budget of Amplitude calls (`UsageLimits`) and calls
 * Amplitude, once per process however many members ask at the same moment; an available answer is then shared.
 * An unavailable one (Amplitude in trouble) is not, so the next read tries again.
 */
export class SharedPickers extends Effect.Service<SharedPickers>()("@findry/api/SharedPickers", {
  scoped: Effect.gen(function*() {
    const answers = yield* PickerAnswers
    const limits = yield* UsageLimits
    const ttlSeconds = yield* pickerAnswerTtlConfig
    const scope = yield* Effect.scope

    /** A shared picker named `picker` whose items `items` stores. */
    const make = <A, I>(picker: string, items: Schema.Schema<A, I>): SharedPicker<A> => {
      const list = Schema.Array(items)
      const encode = Schema.encode(list)
      const decode = Schema.decodeUnknown(list)
      const flights = makeSingleFlight<Picker<A>, RateLimited>(scope)

      return (workspaceId, credentials, read) => {
        const digest = credentialsDigest(credentials)
        const readAndShare = limits.amplitudeCall(workspaceId).pipe(
          Effect.zipRight(read),
          Effect.tap((answer) =>
            answer.available && ttlSeconds > 0
              ? Effect.flatMap(Effect.orDie(encode(answer.items)), (json) =>
                answers.store(workspaceId, picker, digest, json))
              : Effect.void
          )
        )
        if (ttlSeconds === 0) return readAndShare
        return answers.fresh(workspaceId, picker, digest, `${ttlSeconds} seconds`).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.succeedNone,
            // An answer stored by an older release that no longer decodes is read again.
            onSome: (json) => Effect.option(decode(json))
          })),
          Effect.flatMap(Option.match({
            onNone: () => flights(`${workspaceId}:${digest}`, readAndShare),
            onSome: (shared) => Effect.succeed<Picker<A>>({ available: true, items: shared })
          })),
          Effect.withSpan("SharedPickers.read", { attributes: { picker } })
        )
      }
    }

    return { make } as const
  }),
  dependencies: [PickerAnswers.Default, UsageLimits.Default]
}) {}
