// Builds the web app (apps/web/dist, served by the API at /app/) when it is missing or older than its sources,
// so that `pnpm start` and `pnpm demo` serve the current page without a build on every start.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const web = fileURLToPath(new URL("../apps/web/", import.meta.url))
const built = join(web, "dist", "index.html")

const newestChange = (path) =>
  statSync(path).isDirectory()
    ? Math.max(0, ...readdirSync(path).map((entry) => newestChange(join(path, entry))))
    : statSync(path).mtimeMs

const sources = ["src", "index.html", "vite.config.ts", "../../packages/domain/src", "../../packages/client/src"].map((
  path
) => join(web, path))
const stale = !existsSync(built) || Math.max(...sources.map(newestChange)) > statSync(built).mtimeMs

if (stale) {
  console.log("Building the web app (apps/web) …")
  const result = spawnSync(process.execPath, [
    join(web, "node_modules/vite/bin/vite.js"),
    "build",
    "--logLevel",
    "warn"
  ], {
    cwd: web,
    stdio: "inherit",
    // A test runner's NODE_ENV=test would make Vite bundle React's development build.
    env: { ...process.env, NODE_ENV: "production" }
  })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
