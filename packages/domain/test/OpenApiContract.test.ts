import { OpenApi } from "@effect/platform"
import { expect, it } from "@effect/vitest"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { FindryApi } from "../src/index.js"

/**
 * The contract other teams code against, in short: for every path and method of `/openapi.json` (the API serves
 * `OpenApi.fromApi(FindryApi)`), its parameters, request body, and per response status the `_tag`s of its errors
 * or the names of its success schemas. `test/fixtures/openapi-contract.json` holds the expected list; a deliberate
 * change of the contract rewrites it in the same commit with `npx vitest run packages/domain -u`.
 */

type JsonSchema = {
  readonly $ref?: string
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly type?: string
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly items?: JsonSchema
  readonly enum?: ReadonlyArray<unknown>
}

interface Content {
  readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>>
}

interface Operation {
  readonly operationId?: string
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string; readonly required?: boolean }>
  readonly requestBody?: Content
  readonly responses: Readonly<Record<string, Content>>
}

const FIXTURE = fileURLToPath(new URL("fixtures/openapi-contract.json", import.meta.url))

const contractOf = (document: OpenApi.OpenAPISpec) => {
  const components = (document.components.schemas ?? {}) as Readonly<Record<string, JsonSchema>>

  /** The names one schema stands for: an error's `_tag`, a named schema, or the fields of an inline object. */
  const namesOf = (schema: JsonSchema): ReadonlyArray<string> => {
    if (schema.anyOf !== undefined) return schema.anyOf.flatMap(namesOf)
    const named = schema.$ref?.replace("#/components/schemas/", "")
    const target = named === undefined ? schema : components[named] ?? {}
    const tag = target.properties?._tag?.enum
    if (tag !== undefined) return tag.map(String)
    if (named !== undefined) return [named]
    if (schema.type === "array" && schema.items !== undefined) return namesOf(schema.items).map((name) => `${name}[]`)
    if (schema.properties !== undefined) return [`{${Object.keys(schema.properties).sort().join(", ")}}`]
    return [schema.type ?? "unknown"]
  }

  const namesIn = (content: Content): ReadonlyArray<string> =>
    content.content === undefined
      ? ["no content"]
      : Object.entries(content.content).flatMap(([mediaType, { schema }]) =>
        (schema === undefined ? ["unknown"] : namesOf(schema)).map((name) =>
          mediaType === "application/json" ? name : `${mediaType} ${name}`
        )
      )

  const sorted = (names: ReadonlyArray<string>) => [...new Set(names)].sort()

  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item as Readonly<Record<string, Operation>>)
      .filter(([method]) => ["get", "put", "post", "patch", "delete", "head", "options"].includes(method))
      .map(([method, operation]) =>
        [`${method.toUpperCase()} ${path}`, {
          operationId: operation.operationId ?? null,
          parameters: (operation.parameters ?? []).map((parameter) =>
            `${parameter.in} ${parameter.name}${parameter.required === true ? "" : "?"}`
          ),
          requestBody: operation.requestBody === undefined ? null : sorted(namesIn(operation.requestBody)),
          responses: Object.fromEntries(
            Object.entries(operation.responses).map(([status, response]) => [status, sorted(namesIn(response))])
          )
        }] as const
      )
  )
  return Object.fromEntries(operations.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

/** JSON with each list on one line, so that the fixture reads as one line per status. */
const render = (value: unknown, indent = ""): string => {
  if (Array.isArray(value)) return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  const entries = Object.entries(value).map(([key, item]) =>
    `${indent}  ${JSON.stringify(key)}: ${render(item, `${indent}  `)}`
  )
  return entries.length === 0 ? "{}" : `{\n${entries.join(",\n")}\n${indent}}`
}

it("/openapi.json keeps every path, method, status and error tag of the checked-in contract", async () => {
  expect(existsSync(FIXTURE), `${FIXTURE} is missing: the contract must be checked in`).toBe(true)
  const contract = contractOf(OpenApi.fromApi(FindryApi))
  await expect(`${render(contract)}\n`).toMatchFileSnapshot(FIXTURE)
})
