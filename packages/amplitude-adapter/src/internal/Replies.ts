import { AmplitudeRejected, AmplitudeUnavailable, InvalidCredentials, NoExperimentAccess } from "@findry/domain"
import { Effect, Either, ParseResult, Schema } from "effect"
import { type Credentials, scrub } from "./Credentials.js"

/** An HTTP answer read in full. Statuses 429 and 5xx never get here: the transport turns them into failures. */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * A field Amplitude may leave out or send as null; read it with `?? null`. A plain optional field: defaults filled
 * in by the schema (`optionalWith`) make decoding several times slower, and replies can hold thousands of items.
 */
export const optionalNullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

export const isSuccess = (reply: Reply): boolean => reply.status >= 200 && reply.status < 300

export const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The message of Amplitude's error bodies: `{"error":{"message","metadata":{"details"}}}` (Dashboard),
 * `{"success":false,"errors":[{"message"}]}` (Taxonomy), `{"error":{"message"}}` or `{"error":"…"}`.
 */
export const errorText = (reply: Reply): string | undefined => {
  const body = parseJson(reply.body)
  if (!isRecord(body)) return undefined
  const error = body["error"]
  if (typeof error === "string") return error
  if (isRecord(error)) {
    const message = typeof error["message"] === "string" ? error["message"] : undefined
    const metadata = error["metadata"]
    const details = isRecord(metadata) && typeof metadata["details"] === "string" ? metadata["details"] : undefined
    if (message !== undefined && details !== undefined) return `${message}: ${details}`
    return message ?? details
  }
  const errors = body["errors"]
  if (Array.isArray(errors)) {
    const messages = errors.flatMap((e) => isRecord(e) && typeof e["message"] === "string" ? [e["message"]] : [])
    if (messages.length > 0) return messages.join("; ")
  }
  return typeof body["message"] === "string" ? body["message"] : undefined
}

/** The structure of a JSON value (keys and types, no values) for logs about unexpected answers. */
export const describeShape = (value: unknown, depth = 3): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]"
    return depth === 0 ? `[…${value.length}]` : `[${describeShape(value[0], depth - 1)} ×${value.length}]`
  }
  if (isRecord(value)) {
    const keys = Object.keys(value)
    if (depth === 0) return `{${keys.length} keys}`
    const shown = keys.slice(0, 12).map((key) => `${key}: ${describeShape(value[key], depth - 1)}`)
    return `{${shown.join(", ")}${keys.length > 12 ? ", …" : ""}}`
  }
  return typeof value
}

export const unexpectedAnswer = (status: number) =>
  new AmplitudeUnavailable({
    status,
    message: "Amplitude sent an answer Findry could not read. Try again later; if it persists, contact support."
  })

/** Decodes a 2xx JSON body; a body that does not fit is `AmplitudeUnavailable`, logged with its shape only. */
export const decodeBody = <A, I>(
  schema: Schema.Schema<A, I>,
  reply: Reply,
  endpoint: string
): Effect.Effect<A, AmplitudeUnavailable> => {
  const json = parseJson(reply.body)
  const decoded = Schema.decodeUnknownEither(schema)(json)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  return Effect.logWarning("Amplitude answer did not match the expected shape").pipe(
    Effect.annotateLogs({
      endpoint,
      status: reply.status,
      shape: json === undefined ? `not JSON (${reply.body.length} bytes)` : describeShape(json),
      problem: ParseResult.ArrayFormatter.formatErrorSync(decoded.left).slice(0, 3)
        .map((issue) => `${issue.path.map(String).join(".")}: ${issue._tag}`).join("; ")
    }),
    Effect.zipRight(Effect.fail(unexpectedAnswer(reply.status)))
  )
}

export type AnswerFailure = InvalidCredentials | AmplitudeRejected

/** A 4xx for a call on stored credentials: 401/403 say the keys no longer work, the rest is the caller's fault. */
export const rejection = (reply: Reply, credentials: Credentials, fallback: string): AnswerFailure => {
  if (reply.status === 401 || reply.status === 403) return new InvalidCredentials({})
  const text = errorText(reply)
  return new AmplitudeRejected({
    status: reply.status,
    message: text === undefined ? fallback : `${fallback}: ${scrub(credentials, text).slice(0, 300)}`
  })
}

/** Decodes a 2xx answer, or turns any other status into its typed failure. */
export const expectSuccess = <A, I>(
  schema: Schema.Schema<A, I>,
  reply: Reply,
  credentials: Credentials,
  endpoint: string,
  fallback: string
): Effect.Effect<A, AmplitudeUnavailable | AnswerFailure> =>
  isSuccess(reply) ? decodeBody(schema, reply, endpoint) : Effect.fail(rejection(reply, credentials, fallback))

export const managementKeyRejected = () =>
  new InvalidCredentials({
    message: "Amplitude rejected the Management API key. Check that it was copied correctly (no leading or " +
      "trailing whitespace), that it is a Management API key (Experiment → Management API, not a deployment " +
      "key), that it has not been revoked, and that it belongs to the region of this connection."
  })

/** A 4xx of the Experiment Management API: 401 invalid or revoked key, 403 no access to the project. */
export const experimentRejection = (
  reply: Reply,
  credentials: Credentials
): InvalidCredentials | NoExperimentAccess | AmplitudeRejected => {
  if (reply.status === 401) return managementKeyRejected()
  if (reply.status === 403) return new NoExperimentAccess({})
  const text = errorText(reply)
  return new AmplitudeRejected({
    status: reply.status,
    message: text === undefined
      ? "Amplitude Experiment refused the request"
      : `Amplitude Experiment refused the request: ${scrub(credentials, text).slice(0, 300)}`
  })
}
