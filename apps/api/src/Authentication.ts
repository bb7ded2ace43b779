import { Authentication, Unauthorized, UserId } from "@findry/domain"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { ApiConfig } from "./ApiConfig.js"
import { verifyToken } from "./Jwt.js"

const decodeUserId = Schema.decodeUnknownOption(UserId)

/** Enough for every client of a busy replica; past it the oldest entry makes room. */
const MAX_VERIFIED_TOKENS = 10_000

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const { authSecret } = yield* ApiConfig
    /**
     * Tokens that passed verification, until they expire: a client polling with one token pays for the
     * signature check once, not on every request. Only valid tokens are kept, so a forged one is checked each time.
     */
    const verified = new Map<string, { readonly userId: UserId; readonly expiresAtMillis: number }>()

    const remember = (token: string, userId: UserId, expiresAtMillis: number) => {
      if (verified.size >= MAX_VERIFIED_TOKENS) verified.delete(verified.keys().next().value!)
      verified.set(token, { userId, expiresAtMillis })
    }

    return Authentication.of({
      bearer: (token) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const raw = Redacted.value(token)
          const known = verified.get(raw)
          if (known !== undefined) {
            if (known.expiresAtMillis > now) return Effect.succeed({ userId: known.userId })
            verified.delete(raw)
          }
          const claims = verifyToken(authSecret, raw, now)
          const userId = claims === undefined ? Option.none() : decodeUserId(claims.subject)
          if (claims === undefined || Option.isNone(userId)) return Effect.fail(new Unauthorized())
          remember(raw, userId.value, claims.expiresAtMillis)
          return Effect.succeed({ userId: userId.value })
        })
    })
  })
)
