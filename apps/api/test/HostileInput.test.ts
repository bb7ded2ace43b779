import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import { workspaceOf } from "./support/Client.js"
import { call } from "./support/Http.js"
import { ApiTestLive, freshUser, tokenFor } from "./support/TestApi.js"

const US = DEMO_PROJECTS.us

type JsonSchema = {
  readonly $ref?: string
  readonly type?: string | ReadonlyArray<string>
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly oneOf?: ReadonlyArray<JsonSchema>
  readonly allOf?: ReadonlyArray<JsonSchema>
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly format?: string
  readonly pattern?: string
  readonly minimum?: number
  readonly minItems?: number
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly items?: JsonSchema
}

interface OpenApi {
  readonly paths: Record<
    string,
    Record<string, {
      readonly requestBody?: { readonly content: Record<string, { readonly schema: JsonSchema }> }
      readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string }>
    }>
  >
  readonly components: { readonly schemas: Record<string, JsonSchema> }
}

/** Strings PostgreSQL cannot store, or that are no text at all: each must be a 400 naming its field. */
const UNSTORABLE = ["\u0000", "name\u0000", "\ud800", "tail \udfff"]
/** Odd but storable text: never a 5xx. */
const ODD = ["\u202e\u0007", "🙂".repeat(40), "'; DROP TABLE bets; --", "%00", "\\u0000", "x".repeat(5_000)]

/** A value of the shape `schema` describes; `sample` supplies strings by field name (real ids, known formats). */
const example = (
  schema: JsonSchema,
  schemas: OpenApi["components"]["schemas"],
  sample: (field: string, schema: JsonSchema) => unknown,
  field = "",
  depth = 0
): unknown => {
  if (depth > 12) return null
  if (schema.$ref !== undefined) {
    return example(schemas[schema.$ref.split("/").pop()!]!, schemas, sample, field, depth + 1)
  }
  if (schema.const !== undefined) return schema.const
  if (schema.enum !== undefined) return schema.enum[0]
  const choices = schema.anyOf ?? schema.oneOf
  if (choices !== undefined) {
    const choice = choices.find((option) => option.type !== "null") ?? choices[0]!
    return example(choice, schemas, sample, field, depth + 1)
  }
  if (schema.allOf !== undefined) {
    return Object.assign({}, ...schema.allOf.map((part) => example(part, schemas, sample, field, depth + 1)))
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type
  switch (type) {
    case "string":
      return sample(field, schema)
    case "integer":
    case "number":
      return Math.max(schema.minimum ?? 1, 1)
    case "boolean":
      return true
    case "array":
      return Array.from(
        { length: Math.max(schema.minItems ?? 1, 1) },
        (_, i) => example(schema.items ?? {}, schemas, sample, `${field}${i}`, depth + 1)
      )
    default:
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map((
          [name, property]
        ) => [name, example(property, schemas, sample, name, depth + 1)])
      )
  }
}

/** Every path to a string inside `value` (`a.b[0].c`), with a copy of `value` where that string is replaced. */
const stringSlots = (value: unknown, prefix = ""): Array<{
  readonly path: string
  readonly replace: (text: string) => unknown
}> => {
  if (typeof value === "string") return [{ path: prefix, replace: (text) => text }]
  if (Array.isArray(value)) {
    return value.flatMap((item, index) =>
      stringSlots(item, `${prefix}[${index}]`).map((slot) => ({
        path: slot.path,
        replace: (text: string) => value.map((other, at) => (at === index ? slot.replace(text) : other))
      }))
    )
  }
  if (typeof value !== "object" || value === null) return []
  return Object.entries(value).flatMap(([key, item]) =>
    stringSlots(item, prefix === "" ? key : `${prefix}.${key}`).map((slot) => ({
      path: slot.path,
      replace: (text: string) => ({ ...value, [key]: slot.replace(text) })
    }))
  )
}

/** Percent-encoding that also writes an unpaired surrogate, as the bytes a hostile client would send for it. */
const encodeParam = (text: string) =>
  Array.from(text, (character) => {
    try {
      return encodeURIComponent(character)
    } catch {
      return "%ED%A0%80"
    }
  }).join("")

describe("hostile input", () => {
  layer(ApiTestLive(), { timeout: "300 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "refuses unstorable text in every string field of every body with a 400 naming it, and never answers 5xx",
      () =>
        Effect.gen(function*() {
          const admin = freshUser("hostile")
          const member = freshUser("member")
          const workspaceId = yield* workspaceOf(admin)
          const ok = <A extends { status: number; text: string }>(answer: A, status: number) => {
            assert.strictEqual(answer.status, status, answer.text)
            return answer
          }
          ok(
            yield* call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, {
              user: admin,
              body: { role: "member" }
            }),
            200
          )
          ok(
            yield* call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
              user: admin,
              body: { region: "us", apiKey: US.apiKey, secretKey: US.secretKey }
            }),
            200
          )
          ok(
            yield* call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude/management-key`, {
              user: admin,
              body: { managementKey: US.managementKeys[0] }
            }),
            200
          )
          const projectId = ok(
            yield* call("POST", `/v1/workspaces/${workspaceId}/projects`, { user: admin, body: { name: "Web" } }),
            201
          ).body.id as string
          const metricId = ok(
            yield* call("POST", `/v1/workspaces/${workspaceId}/metrics`, {
              user: member,
              body: { name: "Orders", unit: "integer" }
            }),
            201
          ).body.id as string
          const betId = ok(
            yield* call("POST", `/v1/workspaces/${workspaceId}/projects/${projectId}/bets`, {
              user: member,
              body: {
                title: "Faster checkout",
                predictedImpact: {
                  metricId,
                  direction: "increase",
                  magnitude: 5,
                  magnitudeUnit: "percent",
                  timeframeDays: 7
                }
              }
            }),
            201
          ).body.id as string
          const emulator = yield* AmplitudeEmulator
          const experiment = (yield* emulator.project(US.id)).data.experiments[0]!
          const testId = ok(
            yield* call("POST", `/v1/workspaces/${workspaceId}/projects/${projectId}/tests`, {
              user: member,
              body: { name: "Checkout test", type: "ab_experiment", amplitudeExperimentId: experiment.id }
            }),
            201
          ).body.id as string

          const ids: Record<string, string> = {
            workspaceId,
            projectId,
            metricId,
            betId,
            testId,
            userId: member,
            experimentId: experiment.id,
            amplitudeExperimentId: experiment.id
          }
          const sample = (field: string, schema: JsonSchema) =>
            ids[field] ??
              (schema.format === "date-time" || /date|At$/i.test(field)
                ? "2026-11-02"
                : field === "event" || field.startsWith("events")
                ? "Purchase"
                : "sample")

          const openapi = (yield* call("GET", "/openapi.json", { user: null })).body as OpenApi
          const client = yield* HttpClient.HttpClient
          const send = (method: string, path: string, body: unknown) =>
            Effect.gen(function*() {
              let request = HttpClientRequest.make(method.toUpperCase() as "POST")(path).pipe(
                HttpClientRequest.bearerToken(tokenFor(admin))
              )
              if (body !== undefined) {
                request = HttpClientRequest.bodyText(request, JSON.stringify(body), "application/json")
              }
              const response = yield* client.execute(request)
              const text = yield* response.text
              return { status: response.status, text }
            }).pipe(Effect.scoped, Effect.orDie)

          const requests = Object.entries(openapi.paths).flatMap(([template, operations]) =>
            Object.entries(operations).map(([method, operation]) => {
              const schema = operation.requestBody?.content["application/json"]?.schema
              return {
                method,
                template,
                fill: (override?: [string, string]) =>
                  template.replace(/\{([^}]+)\}/g, (_, name: string) =>
                    encodeParam(override?.[0] === name ? override[1] : ids[name] ?? "x")),
                body: schema === undefined ? undefined : example(schema, openapi.components.schemas, sample),
                parameters: [
                  ...Array.from(template.matchAll(/\{([^}]+)\}/g), (match) =>
                    match[1]!),
                  ...(operation.parameters ?? []).filter((p) => p.in === "query").map((p) => `?${p.name}`)
                ]
              }
            })
          )
          const serverErrors: Array<string> = []
          const notRefused: Array<string> = []
          const auditBefore = ok(yield* call("GET", `/v1/workspaces/${workspaceId}/audit-log`, { user: admin }), 200)

          let slotsChecked = 0
          for (const { body, fill, method, template } of requests) {
            for (const slot of stringSlots(body)) {
              for (const text of UNSTORABLE) {
                slotsChecked++
                const answer = yield* send(method, fill(), slot.replace(text))
                const label = `${method.toUpperCase()} ${template} ${slot.path}=${JSON.stringify(text)}`
                if (answer.status >= 500) serverErrors.push(`${label} → ${answer.status}`)
                const named = answer.status === 400 &&
                  (JSON.parse(answer.text) as { fields?: Array<{ field: string }> }).fields?.some((problem) =>
                    problem.field === slot.path
                  )
                if (!named) notRefused.push(`${label} → ${answer.status} ${answer.text.slice(0, 120)}`)
              }
            }
          }
          assert.isAbove(slotsChecked, 80, "string fields of the contract's bodies were reached")
          assert.deepStrictEqual(notRefused, [])
          const bet = ok(yield* call("GET", `/v1/workspaces/${workspaceId}/bets/${betId}`, { user: member }), 200)
          assert.strictEqual(bet.body.title, "Faster checkout", "no refused body changed the bet")
          const auditAfter = ok(yield* call("GET", `/v1/workspaces/${workspaceId}/audit-log`, { user: admin }), 200)
          assert.deepStrictEqual(auditAfter.body.entries, auditBefore.body.entries, "no refused body was acted on")

          let paramsChecked = 0
          for (const { body, fill, method, parameters, template } of requests) {
            for (const slot of stringSlots(body)) {
              for (const text of ODD) {
                const answer = yield* send(method, fill(), slot.replace(text))
                if (answer.status >= 500) {
                  serverErrors.push(
                    `${method.toUpperCase()} ${template} ${slot.path}=${text.slice(0, 20)} → ${answer.status}`
                  )
                }
              }
            }
            for (const name of parameters) {
              for (const text of [...UNSTORABLE, ...ODD]) {
                paramsChecked++
                const path = name.startsWith("?")
                  ? `${fill()}?${name.slice(1)}=${encodeParam(text)}`
                  : fill([name, text])
                const answer = yield* send(method, path, body)
                if (answer.status >= 500) serverErrors.push(`${method.toUpperCase()} ${path} → ${answer.status}`)
              }
            }
          }
          assert.isAbove(paramsChecked, 100, "path and query parameters were reached")
          assert.deepStrictEqual(serverErrors, [])
        }),
      { timeout: 240_000 }
    )
  })
})
