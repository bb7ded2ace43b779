import type { Either } from "effect"
import { useCallback, useEffect, useState } from "react"
import type { Failure } from "./FindryClient.js"

/** Loads once per change of `deps` (and on `reload`); keeps the last value while loading again. */
export const useLoad = <A>(load: () => Promise<Either.Either<A, Failure>>, deps: ReadonlyArray<unknown>) => {
  const [value, setValue] = useState<A | null>(null)
  const [failure, setFailure] = useState<Failure | null>(null)
  const [round, setRound] = useState(0)
  const reload = useCallback(() => setRound((n) => n + 1), [])
  useEffect(() => {
    let current = true
    load().then((answer) => {
      if (!current) return
      if (answer._tag === "Right") {
        setValue(answer.right)
        setFailure(null)
      } else {
        setFailure(answer.left)
      }
    })
    return () => {
      current = false
    }
  }, [...deps, round])
  return { value, setValue, failure, reload }
}
