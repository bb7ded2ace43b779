import { createSecretKey, type KeyObject } from "node:crypto"

export const FORMAT_VERSION = 1
export const MAX_KEY_ID_LENGTH = 32
export const KEY_LENGTH = 32
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

export interface KeyEntry {
  readonly id: string
  /** Format version, key-id length and key-id bytes: the start of every value sealed with this key. */
  readonly header: Buffer
  readonly key: KeyObject
}

interface Material {
  readonly current: KeyEntry
  readonly byId: ReadonlyMap<string, KeyEntry>
}

const materials = new WeakMap<LoadedKeyring, Material>()

/**
 * A parsed keyring. It exposes key ids only; the key material is held where only this package can reach it.
 */
export class LoadedKeyring {
  readonly currentKeyId: string
  readonly keyIds: ReadonlyArray<string>

  constructor(currentKeyId: string, keyIds: ReadonlyArray<string>) {
    this.currentKeyId = currentKeyId
    this.keyIds = keyIds
  }

  hasKey(keyId: string): boolean {
    return this.keyIds.includes(keyId)
  }

  toString(): string {
    return `Keyring(current: ${this.currentKeyId}, keys: ${this.keyIds.join(", ")})`
  }

  toJSON(): unknown {
    return { currentKeyId: this.currentKeyId, keyIds: this.keyIds }
  }
}

/** Builds a keyring from ordered entries (first seals). The caller's key buffers are zeroed. */
export const makeKeyring = (
  entries: readonly [
    { readonly id: string; readonly key: Buffer },
    ...Array<{ readonly id: string; readonly key: Buffer }>
  ]
): LoadedKeyring => {
  const byId = new Map<string, KeyEntry>()
  for (const { id, key } of entries) {
    const idBytes = Buffer.from(id, "latin1")
    const header = Buffer.alloc(2 + idBytes.length)
    header[0] = FORMAT_VERSION
    header[1] = idBytes.length
    idBytes.copy(header, 2)
    byId.set(id, { id, header, key: createSecretKey(key) })
    key.fill(0)
  }
  const keyring = new LoadedKeyring(entries[0].id, entries.map((entry) => entry.id))
  materials.set(keyring, { current: byId.get(entries[0].id)!, byId })
  return keyring
}

export const materialOf = (keyring: LoadedKeyring): Material => {
  const material = materials.get(keyring)
  if (material === undefined) {
    throw new Error("Keyring was not built by @findry/crypto")
  }
  return material
}
