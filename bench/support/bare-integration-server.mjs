// The baseline for bench/api.ts: node:http and a pg pool answering the same row as
// GET /v1/workspaces/:id/integrations/amplitude, with nothing else (no auth, no schema, no logging).
import { createServer } from "node:http"
import { createRequire } from "node:module"

const require = createRequire(process.env.PG_FROM)
const { Pool } = require("pg")
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const route = /^\/v1\/workspaces\/([0-9a-f-]{36})\/integrations\/amplitude$/

createServer(async (request, response) => {
  const match = route.exec(request.url ?? "")
  if (match === null) {
    response.writeHead(404).end()
    return
  }
  const { rows } = await pool.query(
    `SELECT status, region, display_name, credential_1_prefix, credential_2_prefix, credential_3_prefix, settings,
            connected_at, disconnected_at, last_validated_at
     FROM integrations WHERE workspace_id = $1 AND provider = 'amplitude'`,
    [match[1]]
  )
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(rows[0] ?? null))
}).listen(Number(process.env.PORT), "127.0.0.1", () => process.send?.("ready"))
