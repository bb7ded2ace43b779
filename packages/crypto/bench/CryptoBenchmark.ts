import { Effect, Layer, ManagedRuntime, Redacted, Tracer } from "effect"
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomFillSync } from "node:crypto"
import { performance } from "node:perf_hooks"
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
const OPS_PER_ROUND = 5_000
const ROUNDS = 40

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

const opsPerSecond = async (run: Run, ops: number): Promise<number> => {
  const start = performance.now()
  const checksum = await run(ops)
  const elapsed = performance.now() - start
  if (checksum !== ops * PAYLOAD.length) throw new Error("round trip mismatch")
  return ops / (elapsed / 1000)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const format = (value: number): string => Math.round(value).toLocaleString("en-US")

/**
 * Variants run in short interleaved slices (order reversed every round) so that load from other processes
 * hits them alike; the ratio is the median of the per-round ratios.
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
  log(
    `seal+open of a ${PAYLOAD.length}-byte value with ${AAD_LENGTH} bytes of associated data: ` +
      `${ROUNDS} interleaved rounds of ${format(OPS_PER_ROUND)} ops per variant after ${
        format(WARM_UP_OPS)
      } warm-up ops`
  )
  for (const [, run] of variants) await opsPerSecond(run, WARM_UP_OPS)
  const results = variants.map((): Array<number> => [])
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [...variants.keys()] : [...variants.keys()].reverse()
    for (const index of order) results[index]!.push(await opsPerSecond(variants[index]![1], OPS_PER_ROUND))
  }
  await api.dispose()
  await apiTraced.dispose()
  const ratioTo = (index: number, baseline: number) =>
    median(results[index]!.map((opsPerSecond, round) => opsPerSecond / results[baseline]![round]!))
  for (const [name] of variants) {
    const i = variants.findIndex(([other]) => other === name)
    const sorted = [...results[i]!].sort((a, b) => a - b)
    log(
      `${name.padEnd(40)} median ${format(median(results[i]!)).padStart(9)} ops/s ` +
        `(p10 ${format(sorted[Math.floor(ROUNDS * 0.1)]!)}, p90 ${format(sorted[Math.floor(ROUNDS * 0.9)]!)})`
    )
  }
  const ratio = ratioTo(1, 0)
  log(
    `for reference: @findry/crypto / node:crypto with pooled IVs = ${ratioTo(1, 2).toFixed(3)}; ` +
      `@findry/crypto with a tracer installed / node:crypto = ${ratioTo(3, 0).toFixed(3)}`
  )
  log(
    `SUMMARY seal+open: @findry/crypto ${format(median(results[1]!))} ops/s, node:crypto ${
      format(median(results[0]!))
    } ` +
      `ops/s, ratio ${ratio.toFixed(3)} (target >= ${TARGET_RATIO}): ${ratio >= TARGET_RATIO ? "PASS" : "FAIL"}`
  )
  return ratio
}
