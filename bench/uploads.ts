// Oversized request bodies: N concurrent chunked uploads of M MB each to POST …/metrics on the real API process
// (PostgreSQL), while /healthz is polled. Prints the answers, the API process's resident memory before and at its
// peak, its CPU time per upload, and how /healthz fared. BENCH_ROOT points at another checkout to measure it
// the same way (e.g. the commit before the body limit counted bytes read).
import { Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { request } from "node:http"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { issueToken } from "../apps/api/src/auth/Jwt.js"

const here = fileURLToPath(new URL("..", import.meta.url))
const root = process.env.BENCH_ROOT === undefined ? here : `${process.env.BENCH_ROOT.replace(/\/$/, "")}/`
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const uploads = Number(process.env.BENCH_UPLOADS ?? 20)
const megabytes = Number(process.env.BENCH_UPLOAD_MB ?? 50)

const pgFrom = createRequire(`${here}apps/api/package.json`).resolve("@effect/sql-pg/package.json")
const { Client } = createRequire(pgFrom)("pg") as {
  Client: new(options: { connectionString: string }) => {
    connect(): Promise<void>
    query(text: string): Promise<unknown>
    end(): Promise<void>
  }
}
const sql = async (url: string, text: string) => {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** Resident memory (bytes) and CPU time (ms) of a process, from /proc. */
const usage = (pid: number) => {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  const ticks = Number(fields[11]) + Number(fields[12])
  return { rss, cpuMs: ticks * 10 }
}

const send = (port: number, method: string, path: string, headers: Record<string, string>, body?: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (response) => {
      let text = ""
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    req.end(body)
  })

const chunkedUpload = (port: number, path: string, headers: Record<string, string>, bytes: number) =>
  new Promise<number>((resolve) => {
    let settled = false
    const settle = (status: number) => {
      if (!settled) resolve(status)
      settled = true
    }
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path,
      headers: { ...headers, "content-type": "application/json", "transfer-encoding": "chunked" }
    }, (response) => {
      response.resume()
      response.on("end", () => settle(response.statusCode ?? 0))
      response.on("close", () => settle(response.statusCode ?? 0))
    })
    req.on("error", () => settle(0))
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = () => {
      while (sent < bytes) {
        if (req.destroyed) return
        sent += chunk.length
        if (!req.write(chunk)) return void req.once("drain", pump)
      }
      req.end("{}")
    }
    pump()
  })

const main = async () => {
  const database = `findry_bench_uploads_${process.pid}`
  await sql(adminUrl, `CREATE DATABASE ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const authSecret = randomBytes(32).toString("base64url")
  const port = 4100 + (process.pid % 50)
  let api: ChildProcess | undefined
  try {
    api = spawn(process.execPath, ["--import", "tsx", "--conditions=@findry/source", `${root}apps/api/src/main.ts`], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: url.toString(),
        LOG_LEVEL: "error",
        FINDRY_AUTH_SECRET: authSecret,
        FINDRY_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
        FINDRY_FINGERPRINT_KEY: randomBytes(32).toString("base64")
      },
      stdio: "ignore"
    })
    const deadline = Date.now() + 60_000
    while (!(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error("the API did not become ready")
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const headers = {
      authorization: `Bearer ${issueToken(Redacted.make(authSecret), { sub: "bench", ttlSeconds: 600 })}`
    }
    const workspace = await send(
      port,
      "POST",
      "/v1/workspaces",
      { ...headers, "content-type": "application/json" },
      "{\"name\":\"Bench\"}"
    )
    const workspaceId = (JSON.parse(workspace.body) as { id: string }).id
    const pid = api.pid!
    const before = usage(pid)
    let peak = before.rss
    const sampler = setInterval(() => (peak = Math.max(peak, usage(pid).rss)), 20)
    const health: Array<number> = []
    let polling = true
    const poll = (async () => {
      while (polling) {
        const started = Date.now()
        const ok = await send(port, "GET", "/healthz", {}).then((r) => r.status === 200, () => false)
        health.push(ok ? Date.now() - started : Number.POSITIVE_INFINITY)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    const started = Date.now()
    const statuses = await Promise.all(
      Array.from(
        { length: uploads },
        () => chunkedUpload(port, `/v1/workspaces/${workspaceId}/metrics`, headers, megabytes * 1024 * 1024)
      )
    )
    const elapsed = Date.now() - started
    polling = false
    await poll
    clearInterval(sampler)
    const after = usage(pid)
    const counts = statuses.reduce<Record<string, number>>((all, s) => ({ ...all, [s]: (all[s] ?? 0) + 1 }), {})
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
    const failedHealth = health.filter((ms) => !Number.isFinite(ms)).length
    console.log(`${uploads} concurrent chunked uploads of ${megabytes} MB to POST …/metrics (${root})`)
    console.log(`answers: ${JSON.stringify(counts)} in ${elapsed} ms`)
    console.log(
      `API resident memory: ${mb(before.rss)} MB before, ${mb(peak)} MB at peak (+${mb(peak - before.rss)} MB)`
    )
    console.log(`API CPU: ${((after.cpuMs - before.cpuMs) / uploads).toFixed(1)} ms per upload`)
    console.log(
      `/healthz during the uploads: ${health.length} polls, ${failedHealth} failed, slowest ${
        Math.max(...health.filter(Number.isFinite), 0)
      } ms`
    )
  } finally {
    if (api !== undefined && api.exitCode === null) {
      const exited = new Promise((resolve) => api!.once("exit", resolve))
      api.kill("SIGTERM")
      await exited
    }
    await sql(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
