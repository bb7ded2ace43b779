import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto"
import { Either } from "effect"
import type { SecretBinding } from "../SecretBinding.js"
import { SealedSecretError } from "../SealedSecretError.js"
import { FORMAT_VERSION, type LoadedKeyring, materialOf, MAX_KEY_ID_LENGTH } from "./KeyMaterial.js"

const ALGORITHM = "aes-256-gcm"
export const IV_LENGTH = 12
export const TAG_LENGTH = 16
const GCM_OPTIONS = { authTagLength: TAG_LENGTH } as const

const IV_POOL_SIZE = IV_LENGTH * 1024
const ivPool = Buffer.allocUnsafeSlow(IV_POOL_SIZE)
let ivPoolOffset = IV_POOL_SIZE

/**
 * IVs are random, drawn from a pool the CSPRNG refills 1024 IVs at a time (one call costs about as much as
 * AES-GCM on a short value). Each pool slice is handed out exactly once.
 */
const writeIv = (target: Buffer, offset: number): void => {
  if (ivPoolOffset === IV_POOL_SIZE) {
    randomFillSync(ivPool)
    ivPoolOffset = 0
  }
  ivPool.copy(target, offset, ivPoolOffset, ivPoolOffset + IV_LENGTH)
  ivPoolOffset += IV_LENGTH
}

const fail = (reason: SealedSecretError["reason"]) => Either.left(new SealedSecretError({ reason }))

/**
 * Associated data: the sealed value's own header (version, key id) followed by the binding, each string
 * length-prefixed (uint32 BE, UTF-8) and the slot as a float64 BE, so no two bindings encode alike.
 */
const associatedData = (header: Uint8Array, binding: SecretBinding): Buffer => {
  const workspaceLength = Buffer.byteLength(binding.workspaceId, "utf8")
  const providerLength = Buffer.byteLength(binding.provider, "utf8")
  const aad = Buffer.allocUnsafe(header.length + 8 + workspaceLength + providerLength + 8)
  aad.set(header, 0)
  let offset = aad.writeUInt32BE(workspaceLength, header.length)
  offset += aad.write(binding.workspaceId, offset, "utf8")
  offset = aad.writeUInt32BE(providerLength, offset)
  offset += aad.write(binding.provider, offset, "utf8")
  aad.writeDoubleBE(binding.slot === 0 ? 0 : binding.slot, offset)
  return aad
}

const isKeyIdByte = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
  byte === 0x2d || byte === 0x5f

/** Reads the key id from the header, checking that the whole envelope is long enough to be opened. */
export const readKeyId = (sealed: Uint8Array): Either.Either<string, SealedSecretError> => {
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
  return Either.right(keyId)
}

/** Seals bytes under the keyring's current key. Output: header, 12-byte IV, 16-byte tag, ciphertext. */
export const sealBytes = (keyring: LoadedKeyring, plaintext: Uint8Array, binding: SecretBinding): Buffer => {
  const entry = materialOf(keyring).current
  const headerLength = entry.header.length
  const bodyOffset = headerLength + IV_LENGTH + TAG_LENGTH
  const sealed = Buffer.allocUnsafeSlow(bodyOffset + plaintext.length)
  entry.header.copy(sealed, 0)
  writeIv(sealed, headerLength)
  const cipher = createCipheriv(ALGORITHM, entry.key, sealed.subarray(headerLength, headerLength + IV_LENGTH), GCM_OPTIONS)
  cipher.setAAD(associatedData(entry.header, binding))
  const ciphertext = cipher.update(plaintext)
  cipher.final()
  cipher.getAuthTag().copy(sealed, headerLength + IV_LENGTH)
  ciphertext.copy(sealed, bodyOffset)
  return sealed
}

/** Opens a sealed value. The returned buffer holds plaintext: the caller must zero it after use. */
export const openBytes = (
  keyring: LoadedKeyring,
  sealed: Uint8Array,
  binding: SecretBinding
): Either.Either<Buffer, SealedSecretError> => {
  const keyId = readKeyId(sealed)
  if (Either.isLeft(keyId)) return Either.left(keyId.left)
  const entry = materialOf(keyring).byId.get(keyId.right)
  if (entry === undefined) return Either.left(new SealedSecretError({ reason: "UnknownKey", keyId: keyId.right }))
  const headerLength = entry.header.length
  const tagOffset = headerLength + IV_LENGTH
  const bodyOffset = tagOffset + TAG_LENGTH
  const decipher = createDecipheriv(ALGORITHM, entry.key, sealed.subarray(headerLength, tagOffset), GCM_OPTIONS)
  decipher.setAAD(associatedData(entry.header, binding))
  decipher.setAuthTag(sealed.subarray(tagOffset, bodyOffset))
  const plaintext = decipher.update(sealed.subarray(bodyOffset))
  try {
    decipher.final()
  } catch {
    plaintext.fill(0)
    return fail("AuthenticationFailed")
  }
  return Either.right(plaintext)
}

export const sealString = (keyring: LoadedKeyring, value: string, binding: SecretBinding): Buffer => {
  const plaintext = Buffer.from(value, "utf8")
  const sealed = sealBytes(keyring, plaintext, binding)
  plaintext.fill(0)
  return sealed
}

export const openString = (
  keyring: LoadedKeyring,
  sealed: Uint8Array,
  binding: SecretBinding
): Either.Either<string, SealedSecretError> =>
  Either.map(openBytes(keyring, sealed, binding), (plaintext) => {
    const value = plaintext.toString("utf8")
    plaintext.fill(0)
    return value
  })

/** Re-seals under the current key; the plaintext stays in a buffer that is zeroed before returning. */
export const rewrapBytes = (
  keyring: LoadedKeyring,
  sealed: Uint8Array,
  binding: SecretBinding
): Either.Either<Buffer, SealedSecretError> =>
  Either.map(openBytes(keyring, sealed, binding), (plaintext) => {
    const resealed = sealBytes(keyring, plaintext, binding)
    plaintext.fill(0)
    return resealed
  })
