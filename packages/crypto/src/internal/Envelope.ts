import { Exit } from "effect"
import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto"
import { SealedSecretError } from "../SealedSecretError.js"
import type { SecretBinding } from "../SecretBinding.js"
import { FORMAT_VERSION, type KeyEntry, type LoadedKeyring, materialOf, MAX_KEY_ID_LENGTH } from "./KeyMaterial.js"

const ALGORITHM = "aes-256-gcm"
export const IV_LENGTH = 12
export const TAG_LENGTH = 16
const GCM_OPTIONS = { authTagLength: TAG_LENGTH } as const

const IV_POOL_SIZE = IV_LENGTH * 1024
const ivPool = Buffer.allocUnsafeSlow(IV_POOL_SIZE)
let ivPoolOffset = IV_POOL_SIZE

/**
 * IVs are random, drawn from a pool the CSPRNG refills 1024 IVs at a time (one call costs about as much as
 * AES-GCM on a short value). Each slice is handed out once and must be copied before the next call.
 */
const nextIv = (): Buffer => {
  if (ivPoolOffset === IV_POOL_SIZE) {
    randomFillSync(ivPool)
    ivPoolOffset = 0
  }
  ivPoolOffset += IV_LENGTH
  return ivPool.subarray(ivPoolOffset - IV_LENGTH, ivPoolOffset)
}

const aadScratch = Buffer.allocUnsafeSlow(4096)

/** UTF-8 encodes `value` at `offset`, with a plain loop for ASCII (ids, provider names); returns the byte count. */
const writeUtf8 = (target: Buffer, offset: number, value: string): number => {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code > 0x7f) return target.write(value, offset, "utf8")
    target[offset + i] = code
  }
  return value.length
}

/**
 * Associated data: the sealed value's own header (version, key id), then workspace id and provider, each
 * length-prefixed (uint32 BE, UTF-8), then the slot as a float64 BE; no two bindings encode alike. The result
 * may be a view of a shared scratch buffer, valid until the next call: `setAAD` copies it at once.
 */
const associatedData = (header: Buffer, binding: SecretBinding): Uint8Array => {
  const capacity = header.length + 16 + 3 * (binding.workspaceId.length + binding.provider.length)
  const aad = capacity <= aadScratch.length ? aadScratch : Buffer.allocUnsafe(capacity)
  aad.set(header, 0)
  let offset = header.length + 4
  const workspaceLength = writeUtf8(aad, offset, binding.workspaceId)
  aad.writeUInt32BE(workspaceLength, offset - 4)
  offset += workspaceLength + 4
  const providerLength = writeUtf8(aad, offset, binding.provider)
  aad.writeUInt32BE(providerLength, offset - 4)
  offset = aad.writeDoubleBE(binding.slot === 0 ? 0 : binding.slot, offset + providerLength)
  return new Uint8Array(aad.buffer, aad.byteOffset, offset)
}

const fail = (reason: SealedSecretError["reason"]) => new SealedSecretError({ reason })

const isKeyIdByte = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
  byte === 0x2d || byte === 0x5f

/** Reads the key id from the header, checking that the whole envelope is long enough to be opened. */
export const readKeyId = (sealed: Uint8Array): string | SealedSecretError => {
  if (sealed.length === 0) return fail("Malformed")
  if (sealed[0] !== FORMAT_VERSION) return fail("UnsupportedVersion")
  if (sealed.length < 2) return fail("Malformed")
  const idLength = sealed[1]!
  if (idLength === 0 || idLength > MAX_KEY_ID_LENGTH || sealed.length < 2 + idLength + IV_LENGTH + TAG_LENGTH) {
    return fail("Malformed")
  }
  let keyId = ""
  for (let i = 2; i < 2 + idLength; i++) {
    const byte = sealed[i]!
    if (!isKeyIdByte(byte)) return fail("Malformed")
    keyId += String.fromCharCode(byte)
  }
  return keyId
}

const startsWith = (bytes: Uint8Array, prefix: Buffer): boolean => {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false
  }
  return true
}

const entryFor = (keyring: LoadedKeyring, sealed: Uint8Array): KeyEntry | SealedSecretError => {
  const material = materialOf(keyring)
  const current = material.current
  if (startsWith(sealed, current.header) && sealed.length >= current.header.length + IV_LENGTH + TAG_LENGTH) {
    return current
  }
  const keyId = readKeyId(sealed)
  if (keyId instanceof SealedSecretError) return keyId
  return material.byId.get(keyId) ?? new SealedSecretError({ reason: "UnknownKey", keyId })
}

/** Seals under the keyring's current key. Output: header, 12-byte IV, 16-byte tag, ciphertext. */
const seal = (keyring: LoadedKeyring, plaintext: string | Uint8Array, binding: SecretBinding): Buffer => {
  const entry = materialOf(keyring).current
  const iv = nextIv()
  const cipher = createCipheriv(ALGORITHM, entry.key, iv, GCM_OPTIONS)
  cipher.setAAD(associatedData(entry.header, binding))
  const ciphertext = typeof plaintext === "string" ? cipher.update(plaintext, "utf8") : cipher.update(plaintext)
  cipher.final()
  const headerLength = entry.header.length
  const sealed = Buffer.allocUnsafeSlow(headerLength + IV_LENGTH + TAG_LENGTH + ciphertext.length)
  entry.header.copy(sealed, 0)
  iv.copy(sealed, headerLength)
  cipher.getAuthTag().copy(sealed, headerLength + IV_LENGTH)
  ciphertext.copy(sealed, headerLength + IV_LENGTH + TAG_LENGTH)
  return sealed
}

export const sealString: (keyring: LoadedKeyring, value: string, binding: SecretBinding) => Buffer = seal

/** Opens a sealed value. The returned buffer holds plaintext: the caller must zero it after use. */
const openBytes = (keyring: LoadedKeyring, sealed: Uint8Array, binding: SecretBinding): Buffer | SealedSecretError => {
  const entry = entryFor(keyring, sealed)
  if (entry instanceof SealedSecretError) return entry
  const tagOffset = entry.header.length + IV_LENGTH
  const bodyOffset = tagOffset + TAG_LENGTH
  const decipher = createDecipheriv(ALGORITHM, entry.key, sealed.subarray(entry.header.length, tagOffset), GCM_OPTIONS)
  decipher.setAAD(associatedData(entry.header, binding))
  decipher.setAuthTag(sealed.subarray(tagOffset, bodyOffset))
  const plaintext = decipher.update(sealed.subarray(bodyOffset))
  try {
    decipher.final()
  } catch {
    plaintext.fill(0)
    return fail("AuthenticationFailed")
  }
  return plaintext
}

export const openString = (
  keyring: LoadedKeyring,
  sealed: Uint8Array,
  binding: SecretBinding
): string | SealedSecretError => {
  const plaintext = openBytes(keyring, sealed, binding)
  if (plaintext instanceof SealedSecretError) return plaintext
  const value = plaintext.toString("utf8")
  plaintext.fill(0)
  return value
}

/** Re-seals under the current key; the plaintext stays in a buffer that is zeroed before returning. */
export const rewrapBytes = (
  keyring: LoadedKeyring,
  sealed: Uint8Array,
  binding: SecretBinding
): Buffer | SealedSecretError => {
  const plaintext = openBytes(keyring, sealed, binding)
  if (plaintext instanceof SealedSecretError) return plaintext
  const resealed = seal(keyring, plaintext, binding)
  plaintext.fill(0)
  return resealed
}

export const toExit = <A>(result: A | SealedSecretError): Exit.Exit<A, SealedSecretError> =>
  result instanceof SealedSecretError ? Exit.fail(result) : Exit.succeed(result)
