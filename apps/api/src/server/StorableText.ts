import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { FieldProblem, FindryApi, ValidationError } from "@findry/domain"
import { Effect, Option } from "effect"

const PROBLEM = "contains a character that cannot be stored (NUL or an unpaired surrogate); remove it and send again"

/** A JSON escape that may decode to NUL or to half of a surrogate pair: only then is the body walked. */
const SUSPICIOUS_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const isStorable = (text: string) => !text.includes("\u0000") && !UNPAIRED_SURROGATE.test(text)

/** Where in a decoded JSON value a string (or an object key) cannot be stored, as `a.b[0].c` paths. */
export const unstorableFields = (value: unknown, path = ""): Array<string> => {
  if (typeof value === "string") return isStorable(value) ? [] : [path === "" ? "body" : path]
  if (Array.isArray(value)) return value.flatMap((item, index) => unstorableFields(item, `${path}[${index}]`))
  if (typeof value !== "object" || value === null) return []
  return Object.entries(value).flatMap(([key, item]) => {
    const field = path === "" ? key : `${path}.${key}`
    return isStorable(key) ? unstorableFields(item, field) : [field]
  })
}

const parsed = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

/**
 * PostgreSQL stores no NUL in text, and an unpaired surrogate is no character at all: a body that carries either in
 * any string is refused with a 400 `ValidationError` naming each field, before any handler runs. Bodies without a
 * suspicious escape (nearly all) are not parsed twice.
 */
export const StorableTextLive = HttpApiBuilder.middleware(FindryApi, (app) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) => request.method === "GET" || request.method === "DELETE" ? app : checkBody(request, app)
  ))

const checkBody = <A, E, R>(request: HttpServerRequest.HttpServerRequest, app: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    // A body that cannot be read fails the same way again inside the endpoint, where it is answered.
    const text = yield* Effect.option(request.text)
    if (Option.isNone(text) || !SUSPICIOUS_ESCAPE.test(text.value)) return yield* app
    const fields = Option.match(parsed(text.value), { onNone: () => [], onSome: (body) => unstorableFields(body) })
    if (fields.length === 0) return yield* app
    return yield* new ValidationError({
      message: `Some fields contain characters that cannot be stored; nothing was changed.`,
      fields: fields.map((field) => new FieldProblem({ field, problem: PROBLEM }))
    })
  })
