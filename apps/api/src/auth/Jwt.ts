import { Either, Redacted, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"

/** Far above any token we issue (a few hundred characters); a longer bearer value is refused unread. */
export const MAX_TOKEN_LENGTH = 4096

const Header = Schema.parseJson(Schema.Struct({ alg: Schema.Literal("HS256"), typ: Schema.optional(Schema.String) }))
const Audience = Schema.Union(Schema.String, Schema.Array(Schema.String))
const Claims = Schema.parseJson(Schema.Struct({
  sub: Schema.String,
  exp: Schema.Number,
  nbf: Schema.optional(Schema.Number),
  iat: Schema.optional(Schema.Number),
  iss: Schema.optional(Schema.String),
  aud: Schema.optional(Audience)
}))

const decodeHeader = Schema.decodeUnknownEither(Header)
const decodeClaims = Schema.decodeUnknownEither(Claims)

const sign = (secret: Redacted.Redacted, input: string) =>
  createHmac("sha256", Redacted.value(secret)).update(input).digest("base64url")

const base64url = (value: string) => Buffer.from(value).toString("base64url")

/** What a token must say besides a valid signature and expiry; every field is optional (operators' choice). */
export interface TokenPolicy {
  /** `iss` must equal this. */
  readonly issuer?: string | undefined
  /** `aud` must be, or contain, this. */
  readonly audience?: string | undefined
  /** `exp` may lie at most this far after `iat` (or after now, without `iat` or with one in the future). */
  readonly maxLifetimeSeconds?: number | undefined
}

/** Issues an HS256 JWT for `sub`, valid for `ttlSeconds`. */
export const issueToken = (
  secret: Redacted.Redacted,
  claims: {
    readonly sub: string
    readonly ttlSeconds: number
    readonly now?: number
    readonly iss?: string
    readonly aud?: string
  }
): string => {
  const now = Math.floor((claims.now ?? Date.now()) / 1000)
  const input = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64url(JSON.stringify({
      sub: claims.sub,
      iat: now,
      exp: now + claims.ttlSeconds,
      ...(claims.iss === undefined ? {} : { iss: claims.iss }),
      ...(claims.aud === undefined ? {} : { aud: claims.aud })
    }))
  }`
  return `${input}.${sign(secret, input)}`
}

/** What a valid token says: its subject and when it expires. */
export interface VerifiedToken {
  readonly subject: string
  readonly expiresAtMillis: number
}

/** Equal-time comparison of two ASCII strings; strings of different lengths are unequal. */
const sameText = (a: string, b: string) => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * The subject and expiry of a valid, unexpired HS256 token signed with `secret` that satisfies `policy`, or
 * `undefined`. The signature must be spelled exactly as we encode it: base64url without padding, nothing added.
 */
export const verifyToken = (
  secret: Redacted.Redacted,
  token: string,
  nowMillis: number,
  policy: TokenPolicy = {}
): VerifiedToken | undefined => {
  if (token.length > MAX_TOKEN_LENGTH) return undefined
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const [header, payload, signature] = parts as [string, string, string]
  if (!sameText(signature, sign(secret, `${header}.${payload}`))) return undefined
  const decodedHeader = decodeHeader(Buffer.from(header, "base64url").toString("utf8"))
  const decodedClaims = decodeClaims(Buffer.from(payload, "base64url").toString("utf8"))
  if (Either.isLeft(decodedHeader) || Either.isLeft(decodedClaims)) return undefined
  const claims = decodedClaims.right
  const now = nowMillis / 1000
  if (claims.exp <= now) return undefined
  if (claims.nbf !== undefined && claims.nbf > now + 60) return undefined
  if (policy.issuer !== undefined && claims.iss !== policy.issuer) return undefined
  if (policy.audience !== undefined) {
    const audiences = claims.aud === undefined ? [] : typeof claims.aud === "string" ? [claims.aud] : claims.aud
    if (!audiences.includes(policy.audience)) return undefined
  }
  if (
    policy.maxLifetimeSeconds !== undefined && claims.exp - Math.min(claims.iat ?? now, now) > policy.maxLifetimeSeconds
  ) {
    return undefined
  }
  return { subject: claims.sub, expiresAtMillis: claims.exp * 1000 }
}
