import { Effect } from "effect"

/**
 * A semaphore that hands each freed permit to the fiber that has waited longest, and wakes only that fiber.
 *
 * Effect's own semaphore wakes every waiter whenever a permit is freed and lets them race for it; the losers queue
 * again. With many waiters that is quadratic: 1,000 fibers passing a 16-permit semaphore cost about 10 s of CPU,
 * and 4,000 exhaust the heap. A runner with a backlog of pushes has exactly that many waiters.
 */
export interface FairSemaphore {
  /** Runs `self` holding one permit, waiting in line for it; the permit is given back however `self` ends. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Waits in line for one permit; the caller must `release` it, for which `withPermit` is the safe form. */
  readonly take: Effect.Effect<void>
  /** Gives back a permit got from `take`. */
  readonly release: Effect.Effect<void>
  /** Permits held now. */
  readonly taken: () => number
  /** Fibers waiting for a permit now. */
  readonly waiting: () => number
}

interface Waiter {
  readonly resume: (effect: Effect.Effect<void>) => void
  granted: boolean
}

/** A fair semaphore of `permits` permits (at least 1), made outside of an effect. */
export const unsafeMakeFairSemaphore = (permits: number): FairSemaphore => {
  const limit = Math.max(1, Math.floor(permits))
  let taken = 0
  // A Set keeps insertion order, so its first entry is the longest waiter, and an interrupted waiter leaves in O(1).
  const waiters = new Set<Waiter>()

  const release = () => {
    const next = waiters.values().next()
    if (next.done === true) {
      taken--
      return
    }
    // The permit passes straight to the next waiter: `taken` stays as it is.
    waiters.delete(next.value)
    next.value.granted = true
    next.value.resume(Effect.void)
  }

  const take = Effect.async<void>((resume) => {
    if (taken < limit && waiters.size === 0) {
      taken++
      resume(Effect.void)
      return
    }
    const waiter: Waiter = { resume, granted: false }
    waiters.add(waiter)
    // Interrupted while waiting. If the permit was handed over in the same instant, the fiber never got to use it:
    // it passes on to the next waiter.
    return Effect.sync(() => {
      if (waiter.granted) release()
      else waiters.delete(waiter)
    })
  })

  return {
    withPermit: (self) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(restore(take), Effect.ensuring(restore(self), Effect.sync(release)))
      ),
    take,
    release: Effect.sync(release),
    taken: () => taken,
    waiting: () => waiters.size
  }
}

/** A fair semaphore of `permits` permits (at least 1). */
export const makeFairSemaphore = (permits: number): Effect.Effect<FairSemaphore> =>
  Effect.sync(() => unsafeMakeFairSemaphore(permits))
