import { Authentication, Unauthorized, UserId } from "@findry/domain"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { ApiConfig } from "./ApiConfig.js"
import { verifyToken } from "./Jwt.js"

const decodeUserId = Schema.decodeUnknownOption(UserId)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const { authSecret } = yield* ApiConfig
    return Authentication.of({
      bearer: (token) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const subject = verifyToken(authSecret, Redacted.value(token), now)
          const userId = subject === undefined ? Option.none() : decodeUserId(subject)
          if (Option.isNone(userId)) return yield* new Unauthorized()
          return { userId: userId.value }
        })
    })
  })
)
