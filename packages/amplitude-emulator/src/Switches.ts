/** Behaviour variants where Amplitude's real behaviour is undocumented or differs between sources. */
export interface Switches {
  /** Status for bad, unknown or other-region analytics credentials. Default 403. */
  readonly authFailureStatus: 401 | 403
  /** Body of that failure: Amplitude's JSON error shape (default) or the plain text `Invalid API Key`. */
  readonly authFailureBody: "json" | "text"
  /** Key of the v3 annotation category object: `category` (Observed, default) or `name` (docs). */
  readonly annotationCategoryKey: "category" | "name"
  /** Status of the plan-gated Taxonomy answer for projects without the Taxonomy API. Default 400. */
  readonly taxonomyGatedStatus: 400 | 403
  /** Last page of `GET /api/1/experiments`: `nextCursor: null` (default) or no `nextCursor` key. */
  readonly experimentsLastPageCursor: "null" | "absent"
  /** Status for an unknown saved chart id. Default 404. */
  readonly chartNotFoundStatus: 400 | 403 | 404
  /** Seconds sent as `Retry-After` on limit 429s; null (default) sends no header, like Amplitude. */
  readonly rateLimitRetryAfterSeconds: number | null
  /** Where grouped `/api/2/users` labels go: `seriesLabels` strings (default) or `seriesMeta` strings (docs). */
  readonly usersGroupLabels: "seriesLabels" | "seriesMeta"
}

export const DEFAULT_SWITCHES: Switches = {
  authFailureStatus: 403,
  authFailureBody: "json",
  annotationCategoryKey: "category",
  taxonomyGatedStatus: 400,
  experimentsLastPageCursor: "null",
  chartNotFoundStatus: 404,
  rateLimitRetryAfterSeconds: null,
  usersGroupLabels: "seriesLabels"
}

const oneOf = <A>(values: ReadonlyArray<A>) => (value: unknown): value is A => values.includes(value as A)

const validators: { readonly [K in keyof Switches]: (value: unknown) => value is Switches[K] } = {
  authFailureStatus: oneOf([401, 403] as const),
  authFailureBody: oneOf(["json", "text"] as const),
  annotationCategoryKey: oneOf(["category", "name"] as const),
  taxonomyGatedStatus: oneOf([400, 403] as const),
  experimentsLastPageCursor: oneOf(["null", "absent"] as const),
  chartNotFoundStatus: oneOf([400, 403, 404] as const),
  rateLimitRetryAfterSeconds: (value): value is number | null =>
    value === null || (typeof value === "number" && Number.isInteger(value) && value >= 0),
  usersGroupLabels: oneOf(["seriesLabels", "seriesMeta"] as const)
}

/** Checks an untrusted partial update (control API); returns the problems found. */
export const validateSwitches = (input: Record<string, unknown>): Array<string> =>
  Object.entries(input).flatMap(([key, value]) => {
    const validate = validators[key as keyof Switches] as ((value: unknown) => boolean) | undefined
    if (validate === undefined) return [`unknown switch ${key}`]
    return validate(value) ? [] : [`invalid value for ${key}: ${JSON.stringify(value)}`]
  })
