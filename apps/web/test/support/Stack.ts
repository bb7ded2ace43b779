// The real stack behind the page: the web app built from its current sources, the API over HTTP on a fresh database
// and the Amplitude emulator, started once per test file.
import { HttpServer } from "@effect/platform"
import { AmplitudeEmulator, type Emulator } from "@findry/amplitude-emulator"
import { Effect, ManagedRuntime } from "effect"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type Answer, call } from "../../../api/test/support/Http.js"
import { ApiTestLive } from "../../../api/test/support/TestApi.js"

export { freshUser, tokenFor } from "../../../api/test/support/TestApi.js"

// The same check as `pnpm start`: rebuild apps/web/dist only when it is missing or older than its sources, so a
// run after `pnpm build` (as in CI) does not build again.
const webBuild = fileURLToPath(new URL("../../../../scripts/web-build.mjs", import.meta.url))

export interface Stack {
  readonly baseUrl: string
  readonly emulator: Emulator
  readonly call: (...args: Parameters<typeof call>) => Promise<Answer>
  readonly close: () => Promise<void>
}

export const startStack = async (): Promise<Stack> => {
  execFileSync(process.execPath, [webBuild], { stdio: "inherit" })
  const runtime = ManagedRuntime.make(ApiTestLive())
  const { address, emulator } = await runtime.runPromise(Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    return { address: server.address, emulator: yield* AmplitudeEmulator }
  }))
  if (address._tag !== "TcpAddress") throw new Error("the test server listens on TCP")
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    emulator,
    call: (...args) => runtime.runPromise(call(...args)),
    close: () => runtime.dispose()
  }
}
