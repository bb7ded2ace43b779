// GET /v1/workspaces/:id/integrations/amplitude: throughput and latency of the real API (auth, membership,
// schema encoding, request logging, pg pool of 10) against a bare node:http + pg handler reading the same row,
// both on PostgreSQL, measured in the same run by the same closed-loop load generator. The API runs twice: as
// configured by default (a member's view reused until PostgreSQL announces a change to the workspace) and with
// FINDRY_CONNECTION_VIEW_TTL_MS=0, where every request reads the database as the bare handler does.
// BENCH_TELEMETRY=1 adds a third API, configured by default but exporting traces and metrics over OTLP/HTTP to a
// receiver in this process, and reports its throughput cost against the first (four rounds instead of two; with
// OTEL_SDK_DISABLED=true in the environment nothing is exported, which measures the noise between two equal APIs).
import { Effect, Exit, Redacted, Scope } from "effect"
import { type ChildProcess, fork, spawn } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { Agent, request } from "node:http"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { issueToken } from "../apps/api/src/auth/Jwt.js"
import { OtlpReceiver } from "../packages/observability/src/Testing.js"
import { processTreeCpuMillis } from "./support/ProcessCpu.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const telemetry = process.env.BENCH_TELEMETRY === "1"

const pgFrom = createRequire(`${root}apps/api/package.json`).resolve("@effect/sql-pg/package.json")
interface PgClient {
  connect(): Promise<void>
  query(text: string, values: Array<unknown>): Promise<{ rows: Array<unknown> }>
  end(): Promise<void>
}
const { Client } = createRequire(pgFrom)("pg") as { Client: new(options: { connectionString: string }) => PgClient }

const sql = async (url: string, text: string, values: Array<unknown> = []) => {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

const waitFor = async (url: string, headers: Record<string, string> = {}) => {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ok = await fetch(url, { headers }).then((r) => r.ok, () => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${url} did not become ready`)
}

interface Result {
  readonly requests: number
  readonly errors: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  /** CPU time of the serving process (and its children) per answered request, in microseconds. */
  readonly cpuMicrosPerRequest: number
}

interface Server {
  readonly pid: number
  readonly port: number
}

/** `connections` keep-alive loops, each sending the next request when the previous answer arrives. */
const load = (server: Server, path: string, headers: Record<string, string>, durationMs: number) =>
  new Promise<Result>((resolve) => {
    const { pid, port } = server
    const cpuBefore = processTreeCpuMillis(pid)
    const agent = new Agent({ keepAlive: true, maxSockets: connections })
    const latencies: Array<number> = []
    let errors = 0
    const end = Date.now() + durationMs
    let running = connections
    const loop = () => {
      if (Date.now() >= end) {
        if (--running === 0) {
          agent.destroy()
          latencies.sort((a, b) => a - b)
          const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
          resolve({
            requests: latencies.length,
            errors,
            perSecond: latencies.length / (durationMs / 1000),
            p50: at(0.5),
            p99: at(0.99),
            cpuMicrosPerRequest: ((processTreeCpuMillis(pid) - cpuBefore) * 1000) / Math.max(1, latencies.length)
          })
        }
        return
      }
      const started = process.hrtime.bigint()
      request({ host: "127.0.0.1", port, path, headers, agent }, (response) => {
        response.resume()
        response.on("end", () => {
          if (response.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
          else errors++
          loop()
        })
      }).on("error", () => {
        errors++
        loop()
      }).end()
    }
    for (let i = 0; i < connections; i++) loop()
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const database = `findry_bench_${process.pid}`
  await sql(adminUrl, `CREATE DATABASE ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const databaseUrl = url.toString()
  const authSecret = randomBytes(32).toString("base64url")
  const apiPort = 3900 + (process.pid % 50)
  const uncachedPort = apiPort + 50
  const barePort = apiPort + 100
  const exportingPort = apiPort + 150
  const children: Array<ChildProcess> = []
  const receiver = telemetry
    ? await Effect.runPromise(OtlpReceiver.make.pipe(Effect.provideService(Scope.Scope, scope)))
    : undefined
  try {
    const startApi = async (port: number, viewTtlMillis?: number, extraEnv: Record<string, string> = {}) => {
      const api = spawn(
        `${root}node_modules/.bin/tsx`,
        ["--conditions=@findry/source", `${root}apps/api/src/main.ts`],
        {
          env: {
            ...process.env,
            PORT: String(port),
            DATABASE_URL: databaseUrl,
            LOG_FORMAT: "json",
            // HTTP only: three APIs on one database, none of them running jobs (each runner needs its own address).
            FINDRY_ROLE: "api",
            FINDRY_AUTH_SECRET: authSecret,
            FINDRY_ENCRYPTION_KEYS: `bench:${encryptionKey}`,
            FINDRY_FINGERPRINT_KEY: fingerprintKey,
            ...(viewTtlMillis === undefined ? {} : { FINDRY_CONNECTION_VIEW_TTL_MS: String(viewTtlMillis) }),
            ...extraEnv
          },
          stdio: "ignore"
        }
      )
      children.push(api)
      await waitFor(`http://127.0.0.1:${port}/readyz`)
      return { pid: api.pid!, port }
    }
    const encryptionKey = randomBytes(32).toString("base64")
    const fingerprintKey = randomBytes(32).toString("base64")
    const api = await startApi(apiPort)
    const uncached = await startApi(uncachedPort, 0)
    const exportingApi = receiver === undefined ? undefined : await startApi(exportingPort, undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: "10000"
    })

    const workspaceId = randomUUID()
    await sql(databaseUrl, `INSERT INTO workspaces (id, name) VALUES ($1, 'Bench')`, [workspaceId])
    await sql(
      databaseUrl,
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, 'bench', 'member')`,
      [
        workspaceId
      ]
    )
    await sql(
      databaseUrl,
      `INSERT INTO integrations (id, workspace_id, provider, status, region, credential_1, credential_2,
         credential_1_prefix, credential_2_prefix, project_fingerprint, display_name, settings, connected_at,
         last_validated_at)
       VALUES ($1, $2, 'amplitude', 'connected', 'us', $3, $4, '3f9a…', 'Kq7v…', 'f', 'Amplitude project 829528',
         '{"annotationsEnabled":true,"capabilities":{"taxonomy":true,"experiments":false}}', now(), now())`,
      [randomUUID(), workspaceId, randomBytes(64), randomBytes(64)]
    )

    const bare = fork(`${root}bench/support/bare-integration-server.mjs`, [], {
      env: { ...process.env, PORT: String(barePort), DATABASE_URL: databaseUrl, PG_FROM: pgFrom },
      stdio: ["ignore", "ignore", "inherit", "ipc"]
    })
    children.push(bare)
    await new Promise((resolve) => bare.once("message", resolve))
    const bareServer = { pid: bare.pid!, port: barePort }

    const path = `/v1/workspaces/${workspaceId}/integrations/amplitude`
    const headers = {
      authorization: `Bearer ${issueToken(Redacted.make(authSecret), { sub: "bench", ttlSeconds: 3600 })}`
    }
    await waitFor(`http://127.0.0.1:${apiPort}${path}`, headers)
    await waitFor(`http://127.0.0.1:${uncachedPort}${path}`, headers)
    if (receiver !== undefined) await waitFor(`http://127.0.0.1:${exportingPort}${path}`, headers)

    console.log(`GET ${path.replace(workspaceId, ":id")}: ${connections} connections, ${seconds} s per run, PostgreSQL`)
    await load(bareServer, path, {}, 1500)
    await load(api, path, headers, 1500)
    await load(uncached, path, headers, 1500)
    if (exportingApi !== undefined) await load(exportingApi, path, headers, 1500)
    interface Round {
      readonly api: Result
      readonly uncached: Result
      readonly bare: Result
      readonly exporting?: Result
    }
    const rounds: Array<Round> = []
    for (let round = 0; round < (receiver === undefined ? 2 : 4); round++) {
      const bareResult = await load(bareServer, path, {}, (seconds * 1000) / 2)
      // The exporting API runs right before the default one in odd rounds and right after it in even ones, so that
      // neither gets the better place in every round.
      const exportingFirst = receiver !== undefined && round % 2 === 1
        ? await load(exportingApi!, path, headers, (seconds * 1000) / 2)
        : undefined
      const apiResult = await load(api, path, headers, (seconds * 1000) / 2)
      const exportingLast = receiver !== undefined && exportingFirst === undefined
        ? await load(exportingApi!, path, headers, (seconds * 1000) / 2)
        : undefined
      const uncachedResult = await load(uncached, path, headers, (seconds * 1000) / 2)
      const exporting = receiver === undefined ? {} : { exporting: (exportingFirst ?? exportingLast)! }
      rounds.push({ api: apiResult, uncached: uncachedResult, bare: bareResult, ...exporting })
    }
    const sum = (pick: (r: Round) => number) => rounds.reduce((total, r) => total + pick(r), 0)
    const apiRate = sum((r) => r.api.perSecond) / rounds.length
    const uncachedRate = sum((r) => r.uncached.perSecond) / rounds.length
    const bareRate = sum((r) => r.bare.perSecond) / rounds.length
    const worst = (pick: (r: Round) => number) => Math.max(...rounds.map(pick))
    const row = (name: string, pick: (r: Round) => Result) => {
      const rate = sum((r) => pick(r).perSecond) / rounds.length
      const cpu = sum((r) => pick(r).cpuMicrosPerRequest) / rounds.length
      console.log(
        `${name.padEnd(22)} ${rate.toFixed(0).padStart(7)} req/s   p50 ${
          worst((r) => pick(r).p50).toFixed(2).padStart(6)
        } ms   p99 ${worst((r) => pick(r).p99).toFixed(2).padStart(6)} ms   CPU ${
          cpu.toFixed(0).padStart(5)
        } µs/request   errors ${sum((r) => pick(r).errors)}`
      )
      return { rate, cpu }
    }
    const cached = row("findry API", (r) => r.api)
    row("findry API, no cache", (r) => r.uncached)
    row("bare node:http + pg", (r) => r.bare)
    console.log(`ratio (API / bare throughput): ${(apiRate / bareRate).toFixed(2)}  (target ≥ 0.5)`)
    console.log(`ratio without the view cache: ${(uncachedRate / bareRate).toFixed(2)}`)
    if (receiver !== undefined) {
      const exporting = row("findry API + OTLP", (r) => r.exporting!)
      const bytes = receiver.requests.reduce((total, request) => total + request.body.length, 0)
      console.log(
        `telemetry cost: throughput ${((1 - exporting.rate / cached.rate) * 100).toFixed(1)} %, CPU per request ${
          ((exporting.cpu / cached.cpu - 1) * 100).toFixed(1)
        } % (API + OTLP vs API; target ≤ 10 %); the receiver got ${receiver.requests.length} exports, ${
          (bytes / 1e6).toFixed(1)
        } MB`
      )
    }
  } finally {
    await Promise.all(children.map(stop))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
