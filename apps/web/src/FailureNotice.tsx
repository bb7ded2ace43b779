import { regionLabel } from "@findry/domain"
import { useEffect, useRef, useState } from "react"
import type { Failure } from "./FindryClient.js"

const RejectedKeyChecks = () => (
  <>
    <p>The key is unrecognized. Four checks:</p>
    <ul>
      <li>the API Key was copied correctly (no leading/trailing whitespace),</li>
      <li>
        the Secret Key matches the API Key (they come from the same project — mixing keys from different projects causes
        this),
      </li>
      <li>the project hasn't been archived,</li>
      <li>and the keys haven't been regenerated in Amplitude since you copied them.</li>
    </ul>
  </>
)

const useCountdown = (seconds: number) => {
  const [left, setLeft] = useState(seconds)
  useEffect(() => {
    setLeft(seconds)
    const started = Date.now()
    const timer = window.setInterval(() => {
      const remaining = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000))
      setLeft(remaining)
      if (remaining === 0) window.clearInterval(timer)
    }, 250)
    return () => window.clearInterval(timer)
  }, [seconds])
  return left
}

const RateLimitedBody = ({ failure }: { readonly failure: Failure }) => {
  const left = useCountdown(failure.retryAfterSeconds ?? 60)
  const fromAmplitude = failure.message.startsWith("Amplitude")
  return (
    <>
      <p>
        {fromAmplitude
          ? "The validation call was rate-limited. This is unusual for a single GET — it more commonly means your " +
            "Amplitude plan has restrictive rate limits on the taxonomy endpoint."
          : "Too many attempts in the last minute."}
      </p>
      <p aria-live="polite" data-testid="retry-countdown">
        {left > 0
          ? `Wait ${left} ${left === 1 ? "second" : "seconds"} and retry.`
          : "You can retry now."}
      </p>
      {fromAmplitude && <p>If it persists, check whether a batch job is hammering the same endpoint concurrently.</p>}
    </>
  )
}

const titleOf = (failure: Failure): string => {
  switch (failure._tag) {
    case "InvalidCredentials":
      return "Amplitude rejected the API key"
    case "WrongRegion":
      return `Wrong region: these keys belong to Amplitude ${regionLabel(failure.detectedRegion ?? "us")} Cloud`
    case "Unreachable":
      return "Couldn't reach Amplitude: network timeout"
    case "RateLimited":
      return failure.message.startsWith("Amplitude")
        ? "Amplitude rate-limited the validation call (429)"
        : "Too many attempts (429)"
    case "AmplitudeUnavailable":
      return "Amplitude is unavailable right now"
    case "Forbidden":
      return "Only a workspace admin can do this"
    case "Unauthorized":
      return "Sign in again"
    case "RequestError":
      return "Couldn't reach Findry"
    default:
      return "That didn't work"
  }
}

const Body = ({ failure, onSwitchRegion }: {
  readonly failure: Failure
  readonly onSwitchRegion: ((region: "us" | "eu") => void) | undefined
}) => {
  switch (failure._tag) {
    case "InvalidCredentials":
      return <RejectedKeyChecks />
    case "WrongRegion": {
      const region = failure.detectedRegion ?? "us"
      return (
        <>
          <p>
            A {region === "eu" ? "EU" : "US"} project key was submitted to the {region === "eu" ? "US" : "EU"}{" "}
            endpoint. Verify your Amplitude project's region in Settings → Projects → [your project] → General — it
            shows "US" or "EU" explicitly. Switch the Findry region dropdown to match.
          </p>
          {onSwitchRegion && (
            <button type="button" onClick={() => onSwitchRegion(region)}>
              Switch to {regionLabel(region)} Cloud
            </button>
          )}
        </>
      )
    }
    case "Unreachable":
      return (
        <p>
          Findry calls Amplitude from its own servers, not from inside your network. US Cloud and EU Cloud are the only
          supported regions; custom hosts aren't supported yet. Try again in a minute.
        </p>
      )
    case "RateLimited":
      return <RateLimitedBody failure={failure} />
    case "AmplitudeUnavailable":
      return (
        <p>
          Amplitude answered with a server error{failure.status === undefined ? "" : ` (${failure.status})`}. Nothing
          was changed. Try again later.
        </p>
      )
    case "Forbidden":
      return <p>You are a member of this workspace; ask an admin to do it.</p>
    case "ValidationError":
      return (
        <>
          <p>{failure.message}</p>
          <ul>
            {(failure.fields ?? []).map((field) => <li key={field.field}>{field.field}: {field.problem}</li>)}
          </ul>
        </>
      )
    default:
      return <p>{failure.message}</p>
  }
}

/** A failure in the product's own words, chosen by `_tag`. Focus moves to it when it appears. */
export const FailureNotice = ({ failure, onSwitchRegion }: {
  readonly failure: Failure
  readonly onSwitchRegion?: (region: "us" | "eu") => void
}) => {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => ref.current?.focus(), [failure])
  return (
    <div className="failure" role="alert" tabIndex={-1} ref={ref} data-tag={failure._tag}>
      <h3>{titleOf(failure)}</h3>
      <Body failure={failure} onSwitchRegion={onSwitchRegion} />
    </div>
  )
}
