import { Effect } from "effect"
import { type ChildProcessByStdio, spawn } from "node:child_process"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))

/**
 * Starts a program's TypeScript `main` in a node process of its own, on the sources, with only `env` and the
 * command-line arguments `args`. tsx's loader runs inside that process: the `tsx` command would run the program
 * in a child of its own, which a SIGKILL of the command leaves running.
 */
export const spawnMain = (
  main: string,
  env: Record<string, string | undefined>,
  args: ReadonlyArray<string> = []
): ChildProcessByStdio<null, Readable, Readable> =>
  spawn(process.execPath, ["--conditions=@findry/source", "--import", "tsx", main, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })

/**
 * Runs a program's TypeScript `main` with only `env` (and `args`) until it exits and its output is read to the
 * end; for start-up and CLI tests.
 */
export const runMain = (main: string, env: Record<string, string>, args: ReadonlyArray<string> = []) =>
  Effect.async<{ code: number | null; stderr: string; stdout: string }>((resume) => {
    const child = spawnMain(main, env, args)
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.on("close", (code) => resume(Effect.succeed({ code, stderr, stdout })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** One OTLP/HTTP export request as the receiver got it. */
export interface OtlpRequest {
  readonly path: string
  readonly contentType: string
  readonly body: string
}

export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
  readonly service: string
}

export interface ReceivedPoint {
  readonly metric: string
  readonly type: "sum" | "gauge" | "histogram" | "summary"
  readonly attributes: Record<string, string>
  /** The sum's or gauge's value, or the histogram's count. */
  readonly value: number
  /** A histogram's sum. */
  readonly sum: number | undefined
  readonly service: string
}

interface AnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValue> }
}
type KeyValues = ReadonlyArray<{ readonly key: string; readonly value: AnyValue }> | undefined

const valueOf = (value: AnyValue): unknown =>
  value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
    value.doubleValue ?? value.arrayValue?.values?.map(valueOf)

const attributesOf = (list: KeyValues): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]))

const serviceOf = (resource: { readonly attributes?: KeyValues } | undefined) =>
  String(attributesOf(resource?.attributes)["service.name"])

/**
 * A real OTLP/HTTP receiver on 127.0.0.1 (random port) for the life of the scope: it answers every export with
 * 200 and keeps the requests, decoding the JSON encoding into spans and metric points.
 */
export class OtlpReceiver {
  readonly requests: Array<OtlpRequest> = []
  private constructor(readonly url: string) {}

  static readonly make = Effect.acquireRelease(
    Effect.async<{ receiver: OtlpReceiver; server: Server }>((resume) => {
      let receiver: OtlpReceiver | undefined
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          receiver?.requests.push({
            path: request.url ?? "",
            contentType: request.headers["content-type"] ?? "",
            body: Buffer.concat(chunks).toString("utf8")
          })
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        receiver = new OtlpReceiver(`http://127.0.0.1:${port}`)
        resume(Effect.succeed({ receiver, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ receiver }) => receiver))

  /** Everything received, as sent: what a secret search must cover. */
  get text(): string {
    return this.requests.map((request) => `${request.path}\n${request.body}`).join("\n")
  }

  private bodies(path: string): Array<any> {
    return this.requests.filter((request) => request.path === path).map((request) => JSON.parse(request.body))
  }

  spans(path = "/v1/traces"): Array<ReceivedSpan> {
    return this.bodies(path).flatMap((body) =>
      (body.resourceSpans ?? []).flatMap((resourceSpans: any) =>
        (resourceSpans.scopeSpans ?? []).flatMap((scope: any) =>
          (scope.spans ?? []).map((span: any): ReceivedSpan => ({
            name: span.name,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
            links: (span.links ?? []).map((link: any) => ({ traceId: link.traceId, spanId: link.spanId })),
            service: serviceOf(resourceSpans.resource)
          }))
        )
      )
    )
  }

  /** The points of the latest export that carried each metric (exports are cumulative). */
  points(path = "/v1/metrics"): Array<ReceivedPoint> {
    const latest = new Map<string, Array<ReceivedPoint>>()
    for (const body of this.bodies(path)) {
      for (const resourceMetrics of body.resourceMetrics ?? []) {
        const service = serviceOf(resourceMetrics.resource)
        for (const scope of resourceMetrics.scopeMetrics ?? []) {
          for (const metric of scope.metrics ?? []) {
            const type = (["sum", "gauge", "histogram", "summary"] as const).find((key) => metric[key] !== undefined)!
            latest.set(
              `${service}/${metric.name}`,
              (metric[type].dataPoints ?? []).map((point: any): ReceivedPoint => ({
                metric: metric.name,
                type,
                attributes: attributesOf(point.attributes) as Record<string, string>,
                value: Number(point.asInt ?? point.asDouble ?? point.count ?? 0),
                sum: point.sum === undefined ? undefined : Number(point.sum),
                service
              }))
            )
          }
        }
      }
    }
    return [...latest.values()].flat()
  }
}
