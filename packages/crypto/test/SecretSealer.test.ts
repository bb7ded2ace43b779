import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, FastCheck, Layer, Redacted, Tracer } from "effect"
import * as Crypto from "../src/index.js"
import { redactedPrefix, type SealedSecretError, type SecretBinding, SecretSealer } from "../src/index.js"
import { SecretOpener } from "../src/SecretOpener.js"
import { binding, cryptoLayer, keys, servicesFor } from "./fixtures.js"

const keyring = `k2:${keys.k2},k1:${keys.k1}`
const HEADER = 4
const IV_END = HEADER + 12
const TAG_END = IV_END + 16

const openFailure = (opener: SecretOpener, sealed: Uint8Array, target: SecretBinding = binding) =>
  Effect.flip(opener.open(sealed, target))

const reasonsFor = (index: number): ReadonlyArray<SealedSecretError["reason"]> =>
  index === 0
    ? ["UnsupportedVersion"]
    : index < HEADER
    ? ["Malformed", "UnknownKey", "AuthenticationFailed"]
    : ["AuthenticationFailed"]

const bindingArbitrary = FastCheck.record({
  workspaceId: FastCheck.string({ maxLength: 4 }),
  provider: FastCheck.string({ maxLength: 4 }),
  slot: FastCheck.integer({ min: 0, max: 3 })
})

describe("SecretSealer / SecretOpener", () => {
  it.layer(cryptoLayer(keyring))((it) => {
    it.effect.prop(
      "round-trips arbitrary strings",
      [FastCheck.oneof(FastCheck.string({ unit: "binary" }), FastCheck.string({ unit: "grapheme", maxLength: 64 }))],
      ([value]) =>
        Effect.gen(function*() {
          const sealer = yield* SecretSealer
          const opener = yield* SecretOpener
          const { prefix, sealed } = yield* sealer.seal(Redacted.make(value), binding)
          assert.strictEqual(Redacted.value(yield* opener.open(sealed, binding)), value)
          assert.strictEqual(prefix, redactedPrefix(value))
          assert.strictEqual(yield* sealer.keyIdOf(sealed), "k2")
          assert.isTrue(yield* sealer.usesCurrentKey(sealed))
        }),
      { fastCheck: { numRuns: 200 } }
    )

    it.effect("writes the documented format: version 1, key id, 12-byte IV, 16-byte tag, ciphertext", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const value = "0123456789abcdef0123456789abcdef"
        const { sealed } = yield* sealer.seal(Redacted.make(value), binding)
        assert.strictEqual(sealed[0], 1)
        assert.strictEqual(sealed[1], 2)
        assert.strictEqual(Buffer.from(sealed.subarray(2, HEADER)).toString("latin1"), "k2")
        assert.strictEqual(sealed.length, TAG_END + Buffer.byteLength(value))
      }))

    it.effect("fails typed for every single-byte change of a sealed value", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
        let checked = 0
        for (let index = 0; index < sealed.length; index++) {
          for (let mask = 1; mask < 256; mask++) {
            const tampered = Uint8Array.from(sealed)
            tampered[index] = tampered[index]! ^ mask
            const error = yield* openFailure(opener, tampered)
            assert.strictEqual(error._tag, "SealedSecretError")
            assert.include(reasonsFor(index), error.reason, `byte ${index} xor ${mask}`)
            checked++
          }
        }
        assert.strictEqual(checked, sealed.length * 255)
      }))

    it.effect("fails typed for every truncation and for appended bytes", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
        for (let length = 0; length < sealed.length; length++) {
          const error = yield* openFailure(opener, sealed.subarray(0, length))
          const expected = length < TAG_END ? "Malformed" : "AuthenticationFailed"
          assert.strictEqual(error.reason, expected, `length ${length}`)
        }
        const extended = Buffer.concat([sealed, Buffer.from([0])])
        assert.strictEqual((yield* openFailure(opener, extended)).reason, "AuthenticationFailed")
      }))

    it.effect.prop(
      "never dies on arbitrary bytes",
      [FastCheck.oneof(
        FastCheck.uint8Array({ maxLength: 96 }),
        FastCheck.uint8Array({ minLength: 28, maxLength: 96 }).map((tail) =>
          Buffer.concat([Buffer.from([1, 2, 0x6b, 0x32]), tail])
        )
      )],
      ([bytes]) =>
        Effect.gen(function*() {
          const sealer = yield* SecretSealer
          const opener = yield* SecretOpener
          assert.strictEqual((yield* openFailure(opener, bytes))._tag, "SealedSecretError")
          assert.strictEqual((yield* Effect.flip(sealer.rewrap(bytes, binding)))._tag, "SealedSecretError")
          yield* Effect.either(sealer.keyIdOf(bytes))
          yield* Effect.either(sealer.usesCurrentKey(bytes))
        }),
      { fastCheck: { numRuns: 300 } }
    )

    it.effect("a value moved to another workspace, provider or slot does not open", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
        const elsewhere: ReadonlyArray<SecretBinding> = [
          { ...binding, workspaceId: "another-workspace" },
          { ...binding, provider: "mixpanel" },
          { ...binding, slot: 2 },
          { ...binding, slot: 1.5 },
          {
            workspaceId: binding.workspaceId + binding.provider.slice(0, 1),
            provider: binding.provider.slice(1),
            slot: 1
          },
          { workspaceId: "", provider: "", slot: 1 }
        ]
        for (const target of elsewhere) {
          assert.strictEqual((yield* openFailure(opener, sealed, target)).reason, "AuthenticationFailed")
        }
        assert.strictEqual(Redacted.value(yield* opener.open(sealed, { ...binding })), "amp-secret-0123456789")
      }))

    it.effect.prop(
      "binds to exactly one (workspace, provider, slot)",
      [
        bindingArbitrary,
        FastCheck.constantFrom<"workspaceId" | "provider" | "slot" | "all" | "none">(
          "workspaceId",
          "provider",
          "slot",
          "all",
          "none"
        ),
        bindingArbitrary
      ],
      ([a, change, other]) =>
        Effect.gen(function*() {
          const sealer = yield* SecretSealer
          const opener = yield* SecretOpener
          const b = change === "all" ? other : change === "none" ? a : { ...a, [change]: other[change] }
          const { sealed } = yield* sealer.seal(Redacted.make("value"), a)
          const same = a.workspaceId === b.workspaceId && a.provider === b.provider && a.slot === b.slot
          const result = yield* Effect.either(opener.open(sealed, b))
          assert.strictEqual(Either.isRight(result), same)
        }),
      { fastCheck: { numRuns: 300 } }
    )

    it.effect("long and non-ASCII bindings work and stay distinct", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const long: SecretBinding = { workspaceId: "é".repeat(3000), provider: "😀".repeat(700), slot: 7 }
        const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), long)
        assert.strictEqual(Redacted.value(yield* opener.open(sealed, long)), "amp-secret-0123456789")
        const shorter = { ...long, provider: "😀".repeat(699) }
        assert.strictEqual((yield* openFailure(opener, sealed, shorter)).reason, "AuthenticationFailed")
        assert.strictEqual((yield* openFailure(opener, sealed, binding)).reason, "AuthenticationFailed")
      }))

    it.effect("an unsupported format version fails typed", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
        for (const version of [0, 2, 255]) {
          const other = Uint8Array.from(sealed)
          other[0] = version
          assert.strictEqual((yield* openFailure(opener, other)).reason, "UnsupportedVersion")
          assert.strictEqual((yield* Effect.flip(sealer.keyIdOf(other))).reason, "UnsupportedVersion")
        }
      }))

    it.effect("never contains the plaintext, its UTF-8 or its UTF-16 bytes, nor shares memory", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        yield* Effect.forEach(
          FastCheck.sample(FastCheck.string({ unit: "binary", minLength: 8, maxLength: 64 }), 200),
          (value) =>
            Effect.gen(function*() {
              const { prefix, sealed } = yield* sealer.seal(Redacted.make(value), binding)
              const memory = Buffer.from(sealed.buffer)
              assert.strictEqual(memory.length, sealed.length)
              for (const encoded of [Buffer.from(value, "utf8"), Buffer.from(value, "utf16le")]) {
                assert.strictEqual(memory.indexOf(encoded), -1)
              }
              assert.notInclude(prefix, value)
            })
        )
      }))

    it.effect("100,000 seals never repeat an IV", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const value = Redacted.make("x")
        const ivs = new Set<string>()
        for (let i = 0; i < 100_000; i++) {
          const { sealed } = yield* sealer.seal(value, binding)
          ivs.add(Buffer.from(sealed.buffer, sealed.byteOffset + HEADER, 12).toString("latin1"))
        }
        assert.strictEqual(ivs.size, 100_000)
      }))

    it.effect("rewrap re-seals under the current key with a fresh IV, same binding", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const { sealer: oldSealer } = yield* servicesFor(`k1:${keys.k1}`)
        const { sealed: old } = yield* oldSealer.seal(Redacted.make("amp-secret-0123456789"), binding)
        assert.strictEqual(yield* sealer.keyIdOf(old), "k1")
        assert.isFalse(yield* sealer.usesCurrentKey(old))
        const rewrapped = yield* sealer.rewrap(old, binding)
        assert.strictEqual(yield* sealer.keyIdOf(rewrapped), "k2")
        assert.isTrue(yield* sealer.usesCurrentKey(rewrapped))
        assert.strictEqual(Redacted.value(yield* opener.open(rewrapped, binding)), "amp-secret-0123456789")
        const again = yield* sealer.rewrap(rewrapped, binding)
        assert.notDeepEqual(Buffer.from(again), Buffer.from(rewrapped))
        assert.strictEqual(
          (yield* Effect.flip(sealer.rewrap(old, { ...binding, slot: 2 }))).reason,
          "AuthenticationFailed"
        )
      }))

    it.effect("every method runs in its own span, with no secret in it", () =>
      Effect.gen(function*() {
        const sealer = yield* SecretSealer
        const opener = yield* SecretOpener
        const builtIn = yield* Effect.tracer
        const spans: Array<Tracer.Span> = []
        const tracer = Tracer.make({
          span: (...args) => {
            const span = builtIn.span(...args)
            spans.push(span)
            return span
          },
          context: (f) => f()
        })
        const secret = "amp-secret-0123456789"
        yield* Effect.gen(function*() {
          const { sealed } = yield* sealer.seal(Redacted.make(secret), binding)
          yield* opener.open(sealed, binding)
          yield* sealer.rewrap(sealed, binding)
          yield* sealer.keyIdOf(sealed)
          yield* sealer.usesCurrentKey(sealed)
          yield* Effect.either(opener.open(sealed.subarray(1), binding))
        }).pipe(Effect.withSpan("request"), Effect.annotateSpans("request.id", "r-1"), Effect.withTracer(tracer))
        const [request, ...children] = spans
        assert.deepStrictEqual(children.map((span) => span.name), [
          "SecretSealer.seal",
          "SecretOpener.open",
          "SecretSealer.rewrap",
          "SecretSealer.keyIdOf",
          "SecretSealer.usesCurrentKey",
          "SecretOpener.open"
        ])
        for (const span of children) {
          assert.strictEqual(span.status._tag, "Ended")
          assert.strictEqual(span.parent._tag === "Some" && span.parent.value.spanId, request!.spanId)
          assert.strictEqual(span.attributes.get("request.id"), "r-1")
          assert.notInclude(JSON.stringify([...span.attributes.values()]), secret)
        }
      }))
  })

  it.effect("a key id missing from the keyring fails typed with that key id", () =>
    Effect.gen(function*() {
      const { sealer } = yield* servicesFor(`k9:${keys.k3}`)
      const { opener } = yield* servicesFor(keyring)
      const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
      const error = yield* openFailure(opener, sealed)
      assert.strictEqual(error.reason, "UnknownKey")
      assert.strictEqual(error.keyId, "k9")
      assert.include(error.message, "k9")
    }))

  it.effect("a value sealed under an old key still opens; the same id with another key does not", () =>
    Effect.gen(function*() {
      const { sealer } = yield* servicesFor(`k1:${keys.k1}`)
      const { opener } = yield* servicesFor(keyring)
      const { opener: impostor } = yield* servicesFor(`k1:${keys.k3}`)
      const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
      assert.strictEqual(Redacted.value(yield* opener.open(sealed, binding)), "amp-secret-0123456789")
      assert.strictEqual((yield* openFailure(impostor, sealed)).reason, "AuthenticationFailed")
    }))

  it.effect("errors carry neither plaintext nor key material", () =>
    Effect.gen(function*() {
      const { opener, sealer } = yield* servicesFor(keyring)
      const secret = "amp-secret-0123456789"
      const { sealed } = yield* sealer.seal(Redacted.make(secret), binding)
      const error = yield* openFailure(opener, sealed, { ...binding, slot: 9 })
      const rendered = `${String(error)} ${JSON.stringify(error)} ${error.message}`
      assert.notInclude(rendered, secret)
      for (const key of [keys.k1, keys.k2]) {
        assert.notInclude(rendered, key)
        assert.notInclude(rendered, Buffer.from(key, "base64").toString("hex"))
      }
    }))

  it.effect("SecretSealer.Default and SecretOpener.Default read FINDRY_ENCRYPTION_KEYS", () =>
    Effect.gen(function*() {
      const sealer = yield* SecretSealer
      const opener = yield* SecretOpener
      const { sealed } = yield* sealer.seal(Redacted.make("amp-secret-0123456789"), binding)
      assert.strictEqual(Redacted.value(yield* opener.open(sealed, binding)), "amp-secret-0123456789")
      assert.strictEqual(sealer.currentKeyId, "k2")
    }).pipe(
      Effect.provide(Layer.mergeAll(SecretSealer.Default, SecretOpener.Default)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FINDRY_ENCRYPTION_KEYS", keyring]])))
    ))

  it("the package entry point does not export the opener", () => {
    assert.notProperty(Crypto, "SecretOpener")
  })
})
