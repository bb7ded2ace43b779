import { assert, describe, it } from "@effect/vitest"
import { Authentication, type Unauthorized, type UserId } from "@findry/domain"
import { Effect, Exit, Layer, Redacted, TestClock } from "effect"
import { createHmac } from "node:crypto"
import { ApiConfig } from "../src/ApiConfig.js"
import { AuthenticationLive, authenticationWith, makeVerifiedTokens } from "../src/auth/Authentication.js"
import { issueToken, MAX_TOKEN_LENGTH, type TokenPolicy } from "../src/auth/Jwt.js"
import { TEST_AUTH_SECRET } from "./support/TestApi.js"

const configWith = (tokenPolicy: TokenPolicy = {}) =>
  Layer.succeed(ApiConfig, {
    port: 0,
    appUrl: "http://findry.test",
    authSecret: TEST_AUTH_SECRET,
    requestTimeoutMillis: 60_000,
    tokenPolicy
  })

const AuthenticationTest = AuthenticationLive.pipe(Layer.provide(configWith()))

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

  it.effect("accepts one spelling of a signature: padding, junk or a changed last character is refused", () =>
    Effect.gen(function*() {
      const token = issueToken(TEST_AUTH_SECRET, { sub: "ada", ttlSeconds: 60, now: 0 })
      const signature = token.split(".")[2]!
      const lastBits = Buffer.from(signature, "base64url")
      // A base64url character carries 6 bits; the last one of a 32-byte digest only 4, so 4 spellings decode alike.
      const sameBytes = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"]
        .map((last) => token.slice(0, -1) + last)
        .filter((spelling) => spelling !== token && Buffer.from(spelling.split(".")[2]!, "base64url").equals(lastBits))
      assert.isAbove(sameBytes.length, 0, "some respelling decodes to the same bytes")
      for (const respelled of [`${token}=`, `${token}==`, `${token}!`, `${token} `, `${token}.`, ...sameBytes]) {
        assert.isTrue(Exit.isFailure(yield* Effect.exit(bearer(respelled))), JSON.stringify(respelled))
      }
      assert.deepStrictEqual(yield* bearer(token), { userId: "ada" as UserId })
    }).pipe(Effect.provide(AuthenticationTest)))

  it.effect("refuses a token longer than the cap, even one that is validly signed", () =>
    Effect.gen(function*() {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
      const input = `${encode({ alg: "HS256" })}.${encode({ sub: "ada", exp: 60, pad: "x".repeat(MAX_TOKEN_LENGTH) })}`
      const long = `${input}.${
        createHmac("sha256", Redacted.value(TEST_AUTH_SECRET)).update(input).digest("base64url")
      }`
      assert.isAbove(long.length, MAX_TOKEN_LENGTH)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(bearer(long))))
      const short = issueToken(TEST_AUTH_SECRET, { sub: "ada", ttlSeconds: 60, now: 0 })
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(bearer(short))))
    }).pipe(Effect.provide(AuthenticationTest)))

  it.effect("keeps a genuine entry while 10,000 respelled and forged tokens are refused", () => {
    const verified = makeVerifiedTokens()
    return Effect.gen(function*() {
      const token = issueToken(TEST_AUTH_SECRET, { sub: "ada", ttlSeconds: 600, now: 0 })
      yield* bearer(token)
      assert.isTrue(verified.has(token))
      for (let i = 0; i < 10_000; i++) {
        const junk = i % 2 === 0 ? `${token}${"=".repeat(1 + (i % 7))}${i}` : `${token.slice(0, -6)}${i}`.padEnd(
          token.length,
          "A"
        )
        assert.isTrue(Exit.isFailure(yield* Effect.exit(bearer(junk))))
      }
      assert.isTrue(verified.has(token), "the genuine entry survived")
      assert.strictEqual(verified.size, 1)
    }).pipe(Effect.provide(authenticationWith(verified).pipe(Layer.provide(configWith()))))
  })

  it.effect("applies the configured issuer, audience and maximum lifetime", () =>
    Effect.gen(function*() {
      const policy = { issuer: "https://id.findry.test", audience: "amplitude-api", maxLifetimeSeconds: 3600 }
      const accepted = (token: string) =>
        bearer(token).pipe(
          Effect.provide(AuthenticationLive.pipe(Layer.provide(configWith(policy)))),
          Effect.exit,
          Effect.map(Exit.isSuccess)
        )
      const claims = { sub: "ada", now: 0, iss: policy.issuer, aud: policy.audience }
      assert.isTrue(yield* accepted(issueToken(TEST_AUTH_SECRET, { ...claims, ttlSeconds: 3600 })))
      assert.isFalse(yield* accepted(issueToken(TEST_AUTH_SECRET, { ...claims, ttlSeconds: 3601 })), "too long-lived")
      assert.isFalse(yield* accepted(issueToken(TEST_AUTH_SECRET, { ...claims, iss: "other", ttlSeconds: 60 })))
      assert.isFalse(yield* accepted(issueToken(TEST_AUTH_SECRET, { ...claims, aud: "other", ttlSeconds: 60 })))
      assert.isFalse(yield* accepted(issueToken(TEST_AUTH_SECRET, { sub: "ada", now: 0, ttlSeconds: 60 })))
    }))
})
