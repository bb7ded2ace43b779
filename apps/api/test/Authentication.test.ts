import { assert, describe, it } from "@effect/vitest"
import { Authentication, type Unauthorized, type UserId } from "@findry/domain"
import { Effect, Exit, Layer, Redacted, TestClock } from "effect"
import { ApiConfig } from "../src/ApiConfig.js"
import { AuthenticationLive } from "../src/Authentication.js"
import { issueToken } from "../src/Jwt.js"
import { TEST_AUTH_SECRET } from "./support/TestApi.js"

const AuthenticationTest = AuthenticationLive.pipe(
  Layer.provide(Layer.succeed(ApiConfig, { port: 0, appUrl: "http://findry.test", authSecret: TEST_AUTH_SECRET }))
)

/** The handler's type allows it to read the request; ours reads only the token, so none is provided. */
const bearer = (token: string) =>
  Effect.flatMap(Authentication, (authentication) => authentication.bearer(Redacted.make(token))).pipe(
    Effect.scoped
  ) as Effect.Effect<{ readonly userId: UserId }, Unauthorized, Authentication>

describe("bearer authentication", () => {
  it.effect("accepts a token until it expires, also after it was verified once", () =>
    Effect.gen(function*() {
      const token = issueToken(TEST_AUTH_SECRET, { sub: "ada", ttlSeconds: 60, now: 0 })
      assert.deepStrictEqual(yield* bearer(token), { userId: "ada" as UserId })
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual(yield* bearer(token), { userId: "ada" as UserId })
      yield* TestClock.adjust("1 seconds")
      const expired = yield* Effect.exit(bearer(token))
      assert.isTrue(Exit.isFailure(expired), "refused at its expiry although it was accepted before")
    }).pipe(Effect.provide(AuthenticationTest)))

  it.effect("refuses a token with a changed payload or signature after the genuine one was accepted", () =>
    Effect.gen(function*() {
      const token = issueToken(TEST_AUTH_SECRET, { sub: "ada", ttlSeconds: 60, now: 0 })
      yield* bearer(token)
      const [header, payload, signature] = token.split(".") as [string, string, string]
      const otherPayload = Buffer.from(JSON.stringify({ sub: "mallory", exp: 60 })).toString("base64url")
      for (
        const forged of [`${header}.${otherPayload}.${signature}`, `${header}.${payload}.${signature.slice(0, -2)}AA`]
      ) {
        const refused = yield* Effect.exit(bearer(forged))
        assert.isTrue(Exit.isFailure(refused), forged)
      }
      const other = issueToken(Redacted.make("another-secret-that-is-long-enough-0000"), {
        sub: "ada",
        ttlSeconds: 60,
        now: 0
      })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(bearer(other))))
    }).pipe(Effect.provide(AuthenticationTest)))
})
