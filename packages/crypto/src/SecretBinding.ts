/**
 * Where a sealed value belongs. It is authenticated as associated data, so a sealed value copied to another
 * workspace, provider or slot no longer opens.
 */
export interface SecretBinding {
  readonly workspaceId: string
  readonly provider: string
  readonly slot: number
}
