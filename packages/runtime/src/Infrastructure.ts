import { Keyring, SecretSealer } from "@findry/crypto"
import { DatabaseLive, MigrationsLive } from "@findry/persistence"
import { Layer } from "effect"

/**
 * The service's database, migrated: `DATABASE_URL` (a pool whose statements and lock waits are bounded by
 * `DATABASE_STATEMENT_TIMEOUT_MS`/`DATABASE_LOCK_TIMEOUT_MS`), else the embedded PGlite under `FINDRY_DATA_DIR`.
 * The cluster's shard locks live on the same pool: it only tries advisory locks (never waits for one) and
 * holds them on a reserved, idle session, which neither timeout cuts.
 */
export const SqlLive = MigrationsLive.pipe(Layer.provideMerge(DatabaseLive))

/**
 * The keyring of `FINDRY_ENCRYPTION_KEYS` and sealing of stored secrets with it. (Fingerprints, with
 * `FINDRY_FINGERPRINT_KEY`, are the HTTP API's alone: it provides `Fingerprinter` itself.)
 */
export const CryptoLive = SecretSealer.Default.pipe(Layer.provideMerge(Keyring.Default))
