import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Config, Effect } from "effect"
import { readFile } from "node:fs/promises"
import { extname, join, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

/** `apps/web/dist`, seen from `apps/api/src` (tsx) and `apps/api/dist` (node) alike. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("../../../web/dist", import.meta.url))

export const webDirConfig = Config.string("FINDRY_WEB_DIR").pipe(Config.withDefault(DEFAULT_WEB_DIR))

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json"
}

const notBuilt = (dir: string) =>
  HttpServerResponse.text(
    `The web app is not built (no ${join(dir, "index.html")}). Run: npx -y pnpm@10.34.9 --filter @findry/web build`,
    { status: 503 }
  )

/**
 * The built single-page app (`apps/web`) at `/app/`. Paths without an extension get `index.html`; hashed
 * files under `assets/` are cached for a year, `index.html` never.
 */
export const WebAppLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const dir = resolve(yield* webDirConfig.pipe(Effect.orDie))
    const read = (path: string) => Effect.promise(() => readFile(path).then((bytes) => bytes, () => null))

    const serve = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const pathname = request.url.split("?")[0]!
      if (pathname === "/app") return HttpServerResponse.redirect("/app/", { status: 301 })
      const relative = decodeURIComponent(pathname.slice("/app/".length))
      const wanted = extname(relative) === "" ? "index.html" : relative
      const path = resolve(dir, wanted)
      if (!path.startsWith(dir + sep)) return HttpServerResponse.empty({ status: 404 })
      const bytes = yield* read(path)
      if (bytes === null) return wanted === "index.html" ? notBuilt(dir) : HttpServerResponse.empty({ status: 404 })
      return HttpServerResponse.uint8Array(bytes, {
        contentType: contentTypes[extname(path)] ?? "application/octet-stream",
        headers: {
          "cache-control": wanted.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache"
        }
      })
    }).pipe(Effect.catchAllDefect(() => Effect.succeed(HttpServerResponse.empty({ status: 404 }))))

    // The router treats "/app" and "/app/" as one route, and "/app/*" does not match "/app/".
    yield* router.get("/app", serve)
    yield* router.get("/app/*", serve)
  })
)
