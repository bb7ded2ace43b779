import { Effect, Layer, ManagedRuntime, Redacted, Tracer } from "effect"
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomFillSync } from "node:crypto"
import { performance } from "node:perf_hooks"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Keyring } from "../src/Keyring.js"
import type { SecretBinding } from "../src/SecretBinding.js"
import { SecretOpener } from "../src/SecretOpener.js"
import { SecretSealer } from "../src/SecretSealer.js"

const PAYLOAD = randomBytes(16).toString("hex")
const BINDING: SecretBinding = { workspaceId: "3f2a6c1e-8b4d-4e7a-9c1f-0d2e3b4a5c6d", provider: "amplitude", slot: 1 }
const KEY_ID = "k1"
const AAD_LENGTH = 2 + KEY_ID.length + 4 + BINDING.workspaceId.length + 4 + BINDING.provider.length + 8
const TARGET_RATIO = 0.8

const WARM_UP_OPS = 20_000
const OPS_PER_ROUND = 10_000
const ROUNDS = 30

type Run = (ops: number) => number | Promise<number>

/** AES-256-GCM as one would write it with node:crypto alone: cached KeyObject, random IV per seal. */
const bareNodeCrypto = (iv: () => Buffer): Run => {
  const key = createSecretKey(randomBytes(32))
  const aad = randomBytes(AAD_LENGTH)
  const options = { authTagLength: 16 } as const
  const seal = (value: string): Buffer => {
    const nonce = iv()
    const cipher = createCipheriv("aes-256-gcm", key, nonce, options)
    cipher.setAAD(aad)
    const ciphertext = cipher.update(value, "utf8")
    cipher.final()
    return Buffer.concat([nonce, cipher.getAuthTag(), ciphertext])
  }
  const open = (sealed: Buffer): string => {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12), options)
    decipher.setAAD(aad)
    decipher.setAuthTag(sealed.subarray(12, 28))
    const plaintext = decipher.update(sealed.subarray(28))
    decipher.final()
    return plaintext.toString("utf8")
  }
  return (ops) => {
    let checksum = 0
    for (let i = 0; i < ops; i++) {
      checksum += open(seal(PAYLOAD)).length
    }
    return checksum
  }
}

const pooledIv = (): () => Buffer => {
  const pool = Buffer.allocUnsafeSlow(12 * 1024)
  let offset = pool.length
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    offset += 12
    return pool.subarray(offset - 12, offset)
  }
}

/** seal + open through SecretSealer and SecretOpener, in one fiber as application code calls them. */
const throughApi = (traced: boolean): { readonly run: Run; readonly dispose: () => Promise<void> } => {
  const keyring = Keyring.layerFromString(`${KEY_ID}:${randomBytes(32).toString("base64")}`)
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(SecretSealer.DefaultWithoutDependencies, SecretOpener.DefaultWithoutDependencies).pipe(
      Layer.provide(keyring)
    )
  )
  const value = Redacted.make(PAYLOAD)
  let ended = 0
  const countingTracer = Effect.map(Effect.tracer, (builtIn) =>
    Tracer.make({
      span: (...args) => {
        const span = builtIn.span(...args)
        const end = span.end.bind(span)
        span.end = (endTime, exit) => {
          ended++
          end(endTime, exit)
        }
        return span
      },
      context: (f) => f()
    }))
  const program = (ops: number) =>
    Effect.gen(function*() {
      const sealer = yield* SecretSealer
      const opener = yield* SecretOpener
      let checksum = 0
      for (let i = 0; i < ops; i++) {
        const { sealed } = yield* sealer.seal(value, BINDING)
        checksum += Redacted.value(yield* opener.open(sealed, BINDING)).length
      }
      return checksum
    })
  const traceable = (ops: number) =>
    traced
      ? Effect.flatMap(countingTracer, (tracer) => Effect.withTracer(program(ops), tracer))
      : program(ops)
  return {
    run: async (ops) => {
      const before = ended
      const checksum = await runtime.runPromise(traceable(ops))
      if (traced && ended - before !== 2 * ops) throw new Error("expected one span per call")
      return checksum
    },
    dispose: () => runtime.dispose()
  }
}

v8.setFlagsFromString("--expose-gc")
const collectGarbage = vm.runInNewContext("gc") as () => void

interface Sample {
  /** ops per second of wall time */
  readonly wall: number
  /** ops per second of this process's CPU time (all its threads, so garbage collection included) */
  readonly cpu: number
}

/** Starts each slice with a clean heap so that one variant's garbage is not collected on another's time. */
const measure = async (run: Run, ops: number): Promise<Sample> => {
  collectGarbage()
  const cpuStart = process.cpuUsage()
  const wallStart = performance.now()
  const checksum = await run(ops)
  const wallMs = performance.now() - wallStart
  const cpu = process.cpuUsage(cpuStart)
  if (checksum !== ops * PAYLOAD.length) throw new Error("round trip mismatch")
  return { wall: ops / (wallMs / 1e3), cpu: ops / ((cpu.user + cpu.system) / 1e6) }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const format = (value: number): string => Math.round(value).toLocaleString("en-US")

/**
 * Variants run in short interleaved slices (order reversed every round) so that load from other processes
 * hits them alike; ratios are medians of per-round ratios. Wall-clock throughput decides the verdict; CPU time
 * is printed too because it also counts garbage-collector threads and is steadier on a busy machine.
 */
export const runCryptoBenchmark = async (log: (line: string) => void): Promise<number> => {
  const api = throughApi(false)
  const apiTraced = throughApi(true)
  const variants: ReadonlyArray<readonly [string, Run]> = [
    ["node:crypto", bareNodeCrypto(() => randomBytes(12))],
    ["@findry/crypto", api.run],
    ["node:crypto with pooled IVs", bareNodeCrypto(pooledIv())],
    ["@findry/crypto with a tracer installed", apiTraced.run]
  ]
  log(`seal+open of a ${PAYLOAD.length}-byte value with ${AAD_LENGTH} bytes of associated data`)
  log(`${ROUNDS} interleaved rounds of ${format(OPS_PER_ROUND)} ops per variant, ${format(WARM_UP_OPS)} warm-up ops`)
  for (const [, run] of variants) await measure(run, WARM_UP_OPS)
  const samples = variants.map((): Array<Sample> => [])
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [...variants.keys()] : [...variants.keys()].reverse()
    for (const index of order) samples[index]!.push(await measure(variants[index]![1], OPS_PER_ROUND))
  }
  await api.dispose()
  await apiTraced.dispose()
  const series = (index: number, metric: keyof Sample) => samples[index]!.map((sample) => sample[metric])
  const ratio = (index: number, baseline: number, metric: keyof Sample) =>
    median(samples[index]!.map((sample, round) => sample[metric] / samples[baseline]![round]![metric]))
  log(`${"".padEnd(40)} ${"wall ops/s".padStart(11)} ${"CPU ops/s".padStart(11)}`)
  variants.forEach(([name], index) =>
    log(
      `${name.padEnd(40)} ${format(median(series(index, "wall"))).padStart(11)} ` +
        `${format(median(series(index, "cpu"))).padStart(11)}`
    )
  )
  log(
    `ratios (wall / CPU): vs node:crypto with pooled IVs ${ratio(1, 2, "wall").toFixed(3)} / ` +
      `${ratio(1, 2, "cpu").toFixed(3)}; with a tracer installed vs node:crypto ${ratio(3, 0, "wall").toFixed(3)} / ` +
      `${ratio(3, 0, "cpu").toFixed(3)}`
  )
  const result = ratio(1, 0, "wall")
  const ours = format(median(series(1, "wall")))
  const bare = format(median(series(0, "wall")))
  log(
    `SUMMARY seal+open: @findry/crypto ${ours} ops/s, node:crypto ${bare} ops/s, ratio ${result.toFixed(3)} ` +
      `(CPU time ${ratio(1, 0, "cpu").toFixed(3)}); target >= ${TARGET_RATIO}: ${
        result >= TARGET_RATIO ? "PASS" : "FAIL"
      }`
  )
  return result
}
