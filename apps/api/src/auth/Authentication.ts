import { Authentication, Unauthorized, UserId } from "@findry/domain"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createHash } from "node:crypto"
import { ApiConfig } from "../ApiConfig.js"
import { verifyToken } from "./Jwt.js"

const decodeUserId = Schema.decodeUnknownOption(UserId)

/**
 * Enough for every client of a busy replica; past it the oldest entry makes room. An entry is a 43-character
 * digest, a user id of at most 128 characters and a number, so the whole cache stays under about 5 MB.
 */
export const MAX_VERIFIED_TOKENS = 10_000

/** The cache key of a token: its SHA-256, so an entry's size does not depend on what the client sent. */
const digest = (token: string) => createHash("sha256").update(token).digest("base64url")

/**
 * Tokens that passed verification, until they expire: a client polling with one token pays for the signature check
 * once, not on every request. Only valid tokens are kept (and a token has one accepted spelling), so forged or
 * respelled tokens are checked each time and never push a genuine entry out.
 */
export const makeVerifiedTokens = () => {
  const entries = new Map<string, { readonly userId: UserId; readonly expiresAtMillis: number }>()
  return {
    get size() {
      return entries.size
    },
    has: (token: string) => entries.has(digest(token)),
    lookup: (token: string, nowMillis: number): UserId | undefined => {
      const key = digest(token)
      const known = entries.get(key)
      if (known === undefined) return undefined
      if (known.expiresAtMillis > nowMillis) return known.userId
      entries.delete(key)
      return undefined
    },
    remember: (token: string, userId: UserId, expiresAtMillis: number) => {
      if (entries.size >= MAX_VERIFIED_TOKENS) entries.delete(entries.keys().next().value!)
      entries.set(digest(token), { userId, expiresAtMillis })
    }
  }
}

export type VerifiedTokens = ReturnType<typeof makeVerifiedTokens>

/** Bearer authentication against `ApiConfig`'s secret and token policy, remembering tokens in `verified`. */
export const authenticationWith = (verified: VerifiedTokens) =>
  Layer.effect(
    Authentication,
    Effect.gen(function*() {
      const { authSecret, tokenPolicy } = yield* ApiConfig
      return Authentication.of({
        bearer: (token) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const raw = Redacted.value(token)
            const known = verified.lookup(raw, now)
            if (known !== undefined) return Effect.succeed({ userId: known })
            const claims = verifyToken(authSecret, raw, now, tokenPolicy)
            const userId = claims === undefined ? Option.none() : decodeUserId(claims.subject)
            if (claims === undefined || Option.isNone(userId)) return Effect.fail(new Unauthorized())
            verified.remember(raw, userId.value, claims.expiresAtMillis)
            return Effect.succeed({ userId: userId.value })
          })
      })
    })
  )

export const AuthenticationLive = Layer.unwrapEffect(Effect.sync(() => authenticationWith(makeVerifiedTokens())))
