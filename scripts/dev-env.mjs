// Creates $FINDRY_DATA_DIR/dev.env (default .findry/dev.env) once, with fresh random secrets for running the service on this machine.
// Existing files are left alone so that data sealed with these keys stays readable across restarts.
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const dataDir = process.env.FINDRY_DATA_DIR ?? ".findry"
const file = join(dataDir, "dev.env")
if (!existsSync(file)) {
  mkdirSync(dataDir, { recursive: true })
  const lines = [
    "# Generated for local development by scripts/dev-env.mjs. Never use these values in production.",
    `FINDRY_AUTH_SECRET=${randomBytes(32).toString("base64url")}`,
    `FINDRY_ENCRYPTION_KEYS=dev1:${randomBytes(32).toString("base64")}`,
    `FINDRY_FINGERPRINT_KEY=${randomBytes(32).toString("base64")}`
  ]
  writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 })
  console.log(`Created ${file} with local development secrets.`)
}
