/**
 * `{ [key]: n }` when the environment variable `name` holds a positive number, `{}` when it is unset; stops the
 * benchmark naming the variable when it holds anything else.
 */
export const numberFromEnv = <K extends string>(name: string, key: K): Partial<Record<K, number>> => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return {}
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number`)
    process.exit(2)
  }
  return { [key]: value } as Partial<Record<K, number>>
}
