import { Either, Redacted, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"

const Header = Schema.parseJson(Schema.Struct({ alg: Schema.Literal("HS256"), typ: Schema.optional(Schema.String) }))
const Claims = Schema.parseJson(Schema.Struct({
  sub: Schema.String,
  exp: Schema.Number,
  nbf: Schema.optional(Schema.Number)
}))

const decodeHeader = Schema.decodeUnknownEither(Header)
const decodeClaims = Schema.decodeUnknownEither(Claims)

const sign = (secret: Redacted.Redacted, input: string) =>
  createHmac("sha256", Redacted.value(secret)).update(input).digest()

const base64url = (value: string) => Buffer.from(value).toString("base64url")

/** Issues an HS256 JWT for `sub`, valid for `ttlSeconds`. */
export const issueToken = (
  secret: Redacted.Redacted,
  claims: { readonly sub: string; readonly ttlSeconds: number; readonly now?: number }
): string => {
  const now = Math.floor((claims.now ?? Date.now()) / 1000)
  const input = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64url(JSON.stringify({ sub: claims.sub, iat: now, exp: now + claims.ttlSeconds }))
  }`
  return `${input}.${sign(secret, input).toString("base64url")}`
}

/** What a valid token says: its subject and when it expires. */
export interface VerifiedToken {
  readonly subject: string
  readonly expiresAtMillis: number
}

/** The subject and expiry of a valid, unexpired HS256 token signed with `secret`, or `undefined`. */
export const verifyToken = (
  secret: Redacted.Redacted,
  token: string,
  nowMillis: number
): VerifiedToken | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const [header, payload, signature] = parts as [string, string, string]
  const expected = sign(secret, `${header}.${payload}`)
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  const decodedHeader = decodeHeader(Buffer.from(header, "base64url").toString("utf8"))
  const claims = decodeClaims(Buffer.from(payload, "base64url").toString("utf8"))
  if (Either.isLeft(decodedHeader) || Either.isLeft(claims)) return undefined
  const now = nowMillis / 1000
  if (claims.right.exp <= now) return undefined
  if (claims.right.nbf !== undefined && claims.right.nbf > now + 60) return undefined
  return { subject: claims.right.sub, expiresAtMillis: claims.right.exp * 1000 }
}
