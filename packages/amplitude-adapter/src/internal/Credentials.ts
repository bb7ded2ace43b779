import type { AmplitudeRegion } from "@findry/domain"
import { Redacted } from "effect"
import { createHmac } from "node:crypto"

/** Analytics REST: HTTP Basic with the API key as user name and the secret key as password. */
export interface ProjectKeys {
  readonly _tag: "ProjectKeys"
  readonly apiKey: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
}

/** Experiment Management API: `Bearer <management key>`. */
export interface ManagementKey {
  readonly _tag: "ManagementKey"
  readonly key: Redacted.Redacted<string>
}

export type Credentials = ProjectKeys | ManagementKey

export const projectKeys = (apiKey: Redacted.Redacted<string>, secretKey: Redacted.Redacted<string>): ProjectKeys => ({
  _tag: "ProjectKeys",
  apiKey,
  secretKey
})

export const managementKey = (key: Redacted.Redacted<string>): ManagementKey => ({ _tag: "ManagementKey", key })

// This module is the only place where secrets are revealed: to build the Authorization header of a
// request that is about to be sent, to derive the governor's project key, and to scrub them
// from text Amplitude sends back.

const reveal = (secret: Redacted.Redacted<string>): string => Redacted.value(secret)

export const authorizationHeader = (credentials: Credentials): string =>
  credentials._tag === "ProjectKeys"
    ? `Basic ${Buffer.from(`${reveal(credentials.apiKey)}:${reveal(credentials.secretKey)}`).toString("base64")}`
    : `Bearer ${reveal(credentials.key)}`

/**
 * The same in every process, so that all processes of a fleet name a project alike in the shared governor tables.
 * The keys hashed are long random strings, so the one-way hash reveals nothing that could be used as a key.
 */
const governorKeyLabel = "findry amplitude governor project key v1"

const projectKeyCache = new WeakMap<Credentials, Partial<Record<AmplitudeRegion, string>>>()

/**
 * Identifies the Amplitude project behind the credentials for the governor: an HMAC-SHA-256 of the region
 * and the API key (or management key), the same in every process. Stored by the fleet-wide governor (in
 * PostgreSQL) and never logged.
 */
export const governorKey = (region: AmplitudeRegion, credentials: Credentials): string => {
  let cached = projectKeyCache.get(credentials)
  if (cached === undefined) {
    cached = {}
    projectKeyCache.set(credentials, cached)
  }
  const existing = cached[region]
  if (existing !== undefined) return existing
  const key = createHmac("sha256", governorKeyLabel)
    .update(`${credentials._tag}\u0000${region}\u0000`)
    .update(reveal(credentials._tag === "ProjectKeys" ? credentials.apiKey : credentials.key))
    .digest("base64url")
  cached[region] = key
  return key
}

/** Removes any credential (plain or in its Basic form) from text that may be shown or logged. */
export const scrub = (credentials: Credentials, text: string): string => {
  const secrets = credentials._tag === "ProjectKeys"
    ? [reveal(credentials.apiKey), reveal(credentials.secretKey), authorizationHeader(credentials).slice(6)]
    : [reveal(credentials.key)]
  return secrets.reduce((out, secret) => secret.length === 0 ? out : out.split(secret).join("<redacted>"), text)
}
