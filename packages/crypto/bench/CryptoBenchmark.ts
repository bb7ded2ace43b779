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
const OPS_PER_ROUND = 10_000
const ROUNDS = 30
const TRACED_ROUNDS = 10

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

interface Sample {
  /** ops per second of wall time */
  readonly wall: number
  /** ops per second of this process's CPU time (all its threads, so garbage collection included) */
  readonly cpu: number
}

const measure = async (run: Run, ops: number): Promise<Sample> => {
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

type Variant = readonly [name: string, run: Run]

/**
 * Runs the variants in short interleaved slices, order reversed every round, so that load from other processes
 * hits them alike. Returns each variant's samples.
 */
const interleave = async (variants: ReadonlyArray<Variant>, rounds: number): Promise<Array<Array<Sample>>> => {
  for (const [, run] of variants) await measure(run, WARM_UP_OPS)
  const samples = variants.map((): Array<Sample> => [])
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...variants.keys()] : [...variants.keys()].reverse()
    for (const index of order) samples[index]!.push(await measure(variants[index]![1], OPS_PER_ROUND))
  }
  return samples
}

const series = (samples: ReadonlyArray<Sample>, metric: keyof Sample) => samples.map((sample) => sample[metric])

/** Median of the per-round ratios. */
const ratio = (samples: ReadonlyArray<Sample>, baseline: ReadonlyArray<Sample>, metric: keyof Sample): number =>
  median(samples.map((sample, round) => sample[metric] / baseline[round]![metric]))

const table = (log: (line: string) => void, variants: ReadonlyArray<Variant>, samples: Array<Array<Sample>>) => {
  log(`${"".padEnd(40)} ${"wall ops/s".padStart(11)} ${"CPU ops/s".padStart(11)}`)
  variants.forEach(([name], index) => {
    const wall = format(median(series(samples[index]!, "wall"))).padStart(11)
    const cpu = format(median(series(samples[index]!, "cpu"))).padStart(11)
    log(`${name.padEnd(40)} ${wall} ${cpu}`)
  })
}

/**
 * Ratios are medians of per-round ratios; wall-clock throughput decides the verdict, CPU time (which also counts
 * garbage-collector threads and is steadier on a busy machine) is printed next to it. Spans change what the JIT
 * sees, so the run with a tracer installed is a separate phase after the main one.
 */
export const runCryptoBenchmark = async (log: (line: string) => void): Promise<number> => {
  const bare: Variant = ["node:crypto", bareNodeCrypto(() => randomBytes(12))]
  const barePooled: Variant = ["node:crypto with pooled IVs", bareNodeCrypto(pooledIv())]
  const api = throughApi(false)
  const main: ReadonlyArray<Variant> = [bare, ["@findry/crypto", api.run], barePooled]
  log(`seal+open of a ${PAYLOAD.length}-byte value with ${AAD_LENGTH} bytes of associated data`)
  log(`${ROUNDS} interleaved rounds of ${format(OPS_PER_ROUND)} ops per variant, ${format(WARM_UP_OPS)} warm-up ops`)
  const samples = await interleave(main, ROUNDS)
  await api.dispose()
  table(log, main, samples)
  const [bareSamples, apiSamples, pooledSamples] = samples as [Array<Sample>, Array<Sample>, Array<Sample>]
  const result = ratio(apiSamples, bareSamples, "wall")
  const cpu = ratio(apiSamples, bareSamples, "cpu").toFixed(3)
  const pooled = `${ratio(apiSamples, pooledSamples, "wall").toFixed(3)} / ${
    ratio(apiSamples, pooledSamples, "cpu").toFixed(3)
  }`

  const apiTraced = throughApi(true)
  const tracedPhase: ReadonlyArray<Variant> = [bare, ["@findry/crypto with a tracer installed", apiTraced.run]]
  log(`then, with a tracer installed (one span per call), ${TRACED_ROUNDS} more rounds:`)
  const traced = await interleave(tracedPhase, TRACED_ROUNDS)
  await apiTraced.dispose()
  table(log, tracedPhase, traced)
  const tracedRatio = `${ratio(traced[1]!, traced[0]!, "wall").toFixed(3)} / ${
    ratio(traced[1]!, traced[0]!, "cpu").toFixed(3)
  }`

  log(`for reference (wall / CPU): vs node:crypto with pooled IVs ${pooled}; with a tracer installed ${tracedRatio}`)
  const verdict = result >= TARGET_RATIO ? "PASS" : "FAIL"
  const ours = format(median(series(apiSamples, "wall")))
  const theirs = format(median(series(bareSamples, "wall")))
  log(
    `SUMMARY seal+open: @findry/crypto ${ours} ops/s, node:crypto ${theirs} ops/s, ` +
      `ratio ${result.toFixed(3)} (CPU time ${cpu}); target >= ${TARGET_RATIO}: ${verdict}`
  )
  return result
}
