// The real stack behind the page: the web app built from source, the API over HTTP on a fresh database and the
// Amplitude emulator, started once per test file.
import { HttpServer } from "@effect/platform"
import { AmplitudeEmulator, type Emulator } from "@findry/amplitude-emulator"
import { Effect, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "vite"
import { type Answer, call } from "../../../api/test/support/Http.js"
import { ApiTestLive } from "../../../api/test/support/TestApi.js"

export { freshUser, tokenFor } from "../../../api/test/support/TestApi.js"

const webRoot = fileURLToPath(new URL("../../", import.meta.url))

export interface Stack {
  readonly baseUrl: string
  readonly emulator: Emulator
  readonly call: (...args: Parameters<typeof call>) => Promise<Answer>
  readonly close: () => Promise<void>
}

export const startStack = async (): Promise<Stack> => {
  const webDir = mkdtempSync(join(tmpdir(), "findry-web-"))
  await build({ root: webRoot, logLevel: "warn", build: { outDir: webDir, emptyOutDir: true } })
  const runtime = ManagedRuntime.make(ApiTestLive({ webDir }))
  const { address, emulator } = await runtime.runPromise(Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    return { address: server.address, emulator: yield* AmplitudeEmulator }
  }))
  if (address._tag !== "TcpAddress") throw new Error("the test server listens on TCP")
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    emulator,
    call: (...args) => runtime.runPromise(call(...args)),
    close: async () => {
      await runtime.dispose()
      rmSync(webDir, { recursive: true, force: true })
    }
  }
}
