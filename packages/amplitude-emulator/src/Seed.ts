import { addDays, dayRange, dayStart, formatDay } from "./Dates.js"

/**
 * Deterministic data set of one emulated project. Every query endpoint computes its answer from
 * these values, so a test can compute the expected answer from the same values independently.
 */
export interface ProjectData {
  readonly appId: number
  /** Every day that carries data, oldest first, `YYYY-MM-DD` (UTC). */
  readonly days: ReadonlyArray<string>
  readonly users: ReadonlyArray<User>
  readonly events: ReadonlyArray<EventType>
  readonly sessions: ReadonlyArray<Session>
  readonly cohorts: ReadonlyArray<Cohort>
  readonly charts: ReadonlyArray<SavedChart>
  /** Most recently created first, the order of `GET /api/1/experiments`. */
  readonly experiments: ReadonlyArray<Experiment>
  readonly taxonomyCategories: ReadonlyArray<TaxonomyCategory>
  /** User property names accepted in segments, `g` and user filters. Custom ones carry `gp:`. */
  readonly userProperties: ReadonlyArray<string>
}

export type PropertyValue = string | number

export interface User {
  readonly userId: string
  readonly amplitudeId: number
  /** Day of the user's first event ever; may precede `days[0]` (then no "Sign Up" in range). */
  readonly firstSeen: string
  /** Keys as used in segments: `country`, `city`, `platform`, `language`, `gp:plan`, `gp:company_size`. */
  readonly properties: Readonly<Record<string, PropertyValue>>
}

export interface Occurrence {
  readonly userId: string
  readonly day: string
  /** Epoch milliseconds; `day` is its UTC date. */
  readonly time: number
  readonly properties: Readonly<Record<string, PropertyValue>>
}

export interface EventType {
  readonly name: string
  readonly displayName: string | null
  readonly description: string | null
  readonly category: string | null
  /** Hidden events are left out of `/api/2/events/list` and `/api/2/taxonomy/event`, but still queryable. */
  readonly hidden: boolean
  readonly numericProperties: ReadonlyArray<string>
  /** Sorted by time. */
  readonly occurrences: ReadonlyArray<Occurrence>
}

export interface Session {
  readonly userId: string
  readonly day: string
  readonly start: number
  readonly lengthSeconds: number
}

export interface Cohort {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly archived: boolean
  readonly userIds: ReadonlyArray<string>
  /** Epoch seconds. */
  readonly createdAt: number
  readonly lastComputed: number
}

export interface SegmentationFilter {
  readonly subprop_type: "event" | "user"
  readonly subprop_key: string
  readonly subprop_op: string
  readonly subprop_value: ReadonlyArray<string>
}

export interface SegmentationEvent {
  readonly event_type: string
  readonly filters?: ReadonlyArray<SegmentationFilter>
  readonly group_by?: ReadonlyArray<{ readonly type: "event" | "user"; readonly value: string }>
}

export interface SavedChart {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly kind: "segmentation"
  readonly definition: {
    readonly e: SegmentationEvent
    readonly m: "uniques" | "totals" | "sums" | "value_avg" | "average" | "pct_dau"
    readonly start: string
    readonly end: string
  }
}

export interface TaxonomyCategory {
  readonly id: number
  readonly name: string
}

export interface ExperimentVariant {
  readonly key: string
  readonly name?: string
  readonly payload?: unknown
  readonly description?: string
}

export interface Experiment {
  readonly id: string
  readonly projectId: string
  readonly deployments: ReadonlyArray<string>
  readonly key: string
  readonly name: string
  readonly decision: "rollout" | "rollback" | "continue-running" | null
  readonly decisionReason: string | null
  readonly description: string
  readonly enabled: boolean
  readonly evaluationMode: "remote" | "local"
  readonly bucketingKey: string
  readonly bucketingSalt: string
  readonly bucketingUnit: string
  readonly variants: ReadonlyArray<ExperimentVariant>
  readonly rolledOutVariant: string | null
  readonly rolloutPercentage: number
  readonly rolloutWeights: Readonly<Record<string, number>>
  readonly targetSegments: ReadonlyArray<unknown>
  readonly parentDependencies: unknown
  readonly stickyBucketing: boolean
  readonly state: "planning" | "running" | "decision-made" | "complete"
  readonly startDate: string | null
  readonly endDate: string | null
  readonly experimentType: "a-b-test" | "multi-arm-bandit"
  readonly deleted: boolean
  readonly archived: boolean
  readonly tags: ReadonlyArray<string>
  readonly createdBy: string
  readonly lastModifiedBy: string
  readonly createdAt: string
  readonly lastModifiedAt: string
}

export interface SeedOptions {
  readonly seed: string | number
  readonly appId?: number
  /** Default 150. */
  readonly users?: number
  /** Number of days with data. Default 90. */
  readonly days?: number
  /** Last day with data, `YYYY-MM-DD`. Default `2026-11-30`. */
  readonly endDate?: string
  /** Default 30. */
  readonly experiments?: number
}

export const DEFAULT_END_DATE = "2026-11-30"

/** Seeded 32-bit generator (mulberry32); the only source of randomness in the emulator. */
export class Random {
  private state: number

  constructor(seed: string | number) {
    this.state = typeof seed === "number" ? seed >>> 0 : hashString(seed)
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<A>(values: ReadonlyArray<A>): A {
    return values[Math.floor(this.next() * values.length)] as A
  }

  weighted<A>(values: ReadonlyArray<readonly [A, number]>): A {
    const total = values.reduce((sum, [, weight]) => sum + weight, 0)
    let roll = this.next() * total
    for (const [value, weight] of values) {
      roll -= weight
      if (roll < 0) return value
    }
    return values[values.length - 1]![0]
  }

  string(length: number, alphabet: string): string {
    let out = ""
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)]
    return out
  }

  hex(length: number): string {
    return this.string(length, "0123456789abcdef")
  }
}

/** FNV-1a. */
export const hashString = (value: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

export const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const LOWER_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789"

const COUNTRIES: ReadonlyArray<readonly [readonly [string, ReadonlyArray<string>, string], number]> = [
  [["United States", ["New York", "San Francisco", "Austin"], "English"], 40],
  [["Germany", ["Berlin", "Munich"], "German"], 15],
  [["France", ["Paris", "Lyon"], "French"], 12],
  [["United Kingdom", ["London", "Manchester"], "English"], 13],
  [["Canada", ["Toronto", "Vancouver"], "English"], 10],
  [["Japan", ["Tokyo", "Osaka"], "Japanese"], 10]
]
const PLATFORMS: ReadonlyArray<readonly [string, number]> = [["Web", 50], ["iOS", 30], ["Android", 20]]
const PLANS: ReadonlyArray<readonly [string, number]> = [["free", 60], ["pro", 30], ["enterprise", 10]]
const ITEM_CATEGORIES = ["shoes", "books", "games", "garden", "kitchen"]
const REFERRERS = ["google", "direct", "newsletter", "partner"]
const SHARE_CHANNELS = ["email", "slack", "twitter"]

const USER_PROPERTIES = ["country", "city", "platform", "language", "gp:plan", "gp:company_size"]

interface EventBlueprint {
  readonly name: string
  readonly displayName: string | null
  readonly description: string | null
  readonly category: string | null
  readonly hidden: boolean
  readonly numericProperties: ReadonlyArray<string>
}

const EVENT_BLUEPRINTS: ReadonlyArray<EventBlueprint> = [
  {
    name: "Sign Up",
    displayName: "Sign Up",
    description: "A visitor created an account.",
    category: "Attribution",
    hidden: false,
    numericProperties: []
  },
  {
    name: "Search",
    displayName: null,
    description: "Searched the catalog.",
    category: "Engagement",
    hidden: false,
    numericProperties: ["results"]
  },
  {
    name: "View Item",
    displayName: "View Item",
    description: "Opened an item page.",
    category: "Engagement",
    hidden: false,
    numericProperties: ["price"]
  },
  {
    name: "Add to Cart",
    displayName: null,
    description: null,
    category: "Conversion",
    hidden: false,
    numericProperties: ["price", "quantity"]
  },
  {
    name: "Purchase",
    displayName: "Purchase",
    description: "Completed checkout.",
    category: "Conversion",
    hidden: false,
    numericProperties: ["price", "quantity", "revenue"]
  },
  {
    name: "Share",
    displayName: null,
    description: null,
    category: null,
    hidden: false,
    numericProperties: []
  },
  {
    name: "Debug Ping",
    displayName: null,
    description: "Internal heartbeat.",
    category: null,
    hidden: true,
    numericProperties: ["latency_ms"]
  }
]

interface MutableOccurrence {
  userId: string
  day: string
  time: number
  properties: Record<string, PropertyValue>
}

const SECOND = 1000

interface GeneratedUser extends User {
  readonly rate: number
  /** Chance that a cart becomes a purchase. */
  readonly buyer: number
  /** Last day the user can be active. */
  readonly churnDay: string | undefined
}

const generateUsers = (random: Random, count: number, days: ReadonlyArray<string>): Array<GeneratedUser> => {
  const users: Array<GeneratedUser> = []
  const first = days[0]!
  for (let i = 0; i < count; i++) {
    const [country, cities, language] = random.weighted(COUNTRIES)
    const existing = random.chance(0.4)
    const firstSeen = existing ? addDays(first, -random.int(1, 200)) : random.pick(days)
    users.push({
      userId: `user_${random.hex(8)}`,
      amplitudeId: 100_000_000_000 + random.int(0, 899_999_999),
      firstSeen,
      properties: {
        country,
        city: random.pick(cities),
        platform: random.weighted(PLATFORMS),
        language,
        "gp:plan": random.weighted(PLANS),
        "gp:company_size": random.int(1, 500)
      },
      rate: 0.1 + random.next() * 0.6,
      buyer: random.chance(0.4) ? 0.1 + random.next() * 0.5 : 0.02,
      churnDay: random.chance(0.15) ? random.pick(days) : undefined
    })
  }
  return users
}

/** Builds a project's data set; the same options always give the same data. */
export const generateProjectData = (options: SeedOptions): ProjectData => {
  const random = new Random(options.seed)
  const endDate = options.endDate ?? DEFAULT_END_DATE
  const dayCount = options.days ?? 90
  const days = dayRange(addDays(endDate, -(dayCount - 1)), endDate)
  const appId = options.appId ?? random.int(100_000, 999_999)
  const users = generateUsers(random, options.users ?? 150, days)

  const occurrences = new Map<string, Array<MutableOccurrence>>(EVENT_BLUEPRINTS.map((b) => [b.name, []]))
  const emit = (name: string, userId: string, day: string, time: number, properties: Record<string, PropertyValue>) =>
    occurrences.get(name)!.push({ userId, day, time, properties })
  const sessions: Array<Session> = []

  for (const user of users) {
    for (const day of days) {
      if (day < user.firstSeen) continue
      if (user.churnDay !== undefined && day > user.churnDay && day !== user.firstSeen) continue
      const signUpDay = day === user.firstSeen
      if (!signUpDay && !random.chance(user.rate)) continue
      const sessionCount = random.int(1, 3)
      const starts = Array.from({ length: sessionCount }, () => random.int(6 * 3600, 21 * 3600)).sort((a, b) => a - b)
      for (let s = 0; s < sessionCount; s++) {
        const start = dayStart(day) + starts[s]! * SECOND
        const lengthSeconds = random.int(30, 2400)
        sessions.push({ userId: user.userId, day, start, lengthSeconds })
        const end = start + lengthSeconds * SECOND
        let time = start
        const step = () => {
          time = Math.min(end - SECOND, time + random.int(5, Math.max(6, Math.floor(lengthSeconds / 8))) * SECOND)
          return time
        }
        if (signUpDay && s === 0) emit("Sign Up", user.userId, day, time, { referrer: random.pick(REFERRERS) })
        if (random.chance(0.5)) {
          for (let k = random.int(1, 2); k > 0; k--) {
            emit("Search", user.userId, day, step(), { results: random.int(0, 40) })
          }
        }
        let lastPrice = 0
        for (let k = random.int(1, 4); k > 0; k--) {
          lastPrice = random.int(5, 250)
          emit("View Item", user.userId, day, step(), { price: lastPrice, category: random.pick(ITEM_CATEGORIES) })
        }
        if (random.chance(0.3)) {
          const quantity = random.int(1, 3)
          emit("Add to Cart", user.userId, day, step(), { price: lastPrice, quantity })
          if (random.chance(user.buyer)) {
            emit("Purchase", user.userId, day, step(), {
              price: lastPrice,
              quantity,
              revenue: lastPrice * quantity,
              currency: "USD"
            })
          }
        }
        if (random.chance(0.08)) emit("Share", user.userId, day, step(), { channel: random.pick(SHARE_CHANNELS) })
        if (random.chance(0.1)) emit("Debug Ping", user.userId, day, step(), { latency_ms: random.int(10, 900) })
      }
    }
  }

  const events: Array<EventType> = EVENT_BLUEPRINTS.map((blueprint) => ({
    ...blueprint,
    occurrences: occurrences.get(blueprint.name)!.sort((a, b) => a.time - b.time)
  }))
  const plainUsers: Array<User> = users.map(({ buyer: _buyer, churnDay: _churnDay, rate: _rate, ...user }) => user)
  const lastDay = days[days.length - 1]!

  return {
    appId,
    days,
    users: plainUsers,
    events,
    sessions,
    cohorts: generateCohorts(random, plainUsers, events, lastDay),
    charts: generateCharts(random, days),
    experiments: generateExperiments(random, appId, options.experiments ?? 30, lastDay),
    taxonomyCategories: [
      { id: 412931, name: "Attribution" },
      { id: 412941, name: "Conversion" },
      { id: 412951, name: "Engagement" }
    ],
    userProperties: USER_PROPERTIES
  }
}

const usersWith = (events: ReadonlyArray<EventType>, name: string, minimum: number): Set<string> => {
  const counts = new Map<string, number>()
  for (const occurrence of events.find((e) => e.name === name)?.occurrences ?? []) {
    counts.set(occurrence.userId, (counts.get(occurrence.userId) ?? 0) + 1)
  }
  return new Set([...counts].filter(([, count]) => count >= minimum).map(([userId]) => userId))
}

const generateCohorts = (
  random: Random,
  users: ReadonlyArray<User>,
  events: ReadonlyArray<EventType>,
  lastDay: string
): Array<Cohort> => {
  const purchasers = usersWith(events, "Purchase", 1)
  const repeatBuyers = usersWith(events, "Purchase", 3)
  const recent = new Set(
    events.flatMap((e) => e.occurrences.filter((o) => o.day > addDays(lastDay, -14)).map((o) => o.userId))
  )
  const definitions: ReadonlyArray<readonly [string, string | null, boolean, (user: User) => boolean]> = [
    ["Purchasers", "Users who purchased at least once", false, (u) => purchasers.has(u.userId)],
    ["Repeat buyers", null, false, (u) => repeatBuyers.has(u.userId)],
    ["US customers", "Country is United States", false, (u) => u.properties["country"] === "United States"],
    ["Pro plan", null, false, (u) => u.properties["gp:plan"] === "pro"],
    ["Dormant users", "No activity in the last 14 days", true, (u) => !recent.has(u.userId)]
  ]
  const computed = Math.floor(dayStart(lastDay) / 1000)
  return definitions.map(([name, description, archived, member]) => {
    const createdAt = computed - random.int(30, 400) * 86_400
    return {
      id: random.string(8, LOWER_ALPHANUMERIC),
      name,
      description,
      archived,
      userIds: users.filter(member).map((u) => u.userId),
      createdAt,
      lastComputed: computed + random.int(0, 86_399)
    }
  })
}

const generateCharts = (random: Random, days: ReadonlyArray<string>): Array<SavedChart> => {
  const end = days[days.length - 1]!
  const from = (length: number) => days[Math.max(0, days.length - length)]!
  return [
    {
      id: random.string(6, LOWER_ALPHANUMERIC),
      name: "Daily buyers",
      description: "Unique purchasers per day",
      kind: "segmentation",
      definition: { e: { event_type: "Purchase" }, m: "uniques", start: from(30), end }
    },
    {
      id: random.string(6, LOWER_ALPHANUMERIC),
      name: "Searches",
      description: "Search events per day",
      kind: "segmentation",
      definition: { e: { event_type: "Search" }, m: "totals", start: from(14), end }
    },
    {
      id: random.string(6, LOWER_ALPHANUMERIC),
      name: "Revenue",
      description: "Sum of purchase revenue",
      kind: "segmentation",
      definition: {
        e: { event_type: "Purchase", group_by: [{ type: "event", value: "revenue" }] },
        m: "sums",
        start: from(30),
        end
      }
    }
  ]
}

const EXPERIMENT_TOPICS = [
  "checkout-cta",
  "onboarding-tour",
  "pricing-page",
  "search-ranking",
  "recommendations",
  "signup-form",
  "cart-reminder",
  "homepage-hero"
]
const OWNERS = ["ana@example.com", "li@example.com", "sam@example.com", "noor@example.com"]

const minDay = (a: string, b: string) => (a < b ? a : b)

const titleCase = (key: string) => key.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join(" ")

const generateExperiments = (random: Random, appId: number, count: number, lastDay: string): Array<Experiment> => {
  const experiments: Array<Experiment> = []
  let created = dayStart(lastDay) + 12 * 3600 * SECOND
  for (let i = 0; i < count; i++) {
    created -= random.int(600, 4 * 86_400) * SECOND
    const topic = random.pick(EXPERIMENT_TOPICS)
    const key = `${topic}-${count - i}`
    const state = random.weighted<Experiment["state"]>([["running", 45], ["planning", 20], ["decision-made", 15], [
      "complete",
      20
    ]])
    const bandit = random.chance(0.1)
    const variants: ReadonlyArray<ExperimentVariant> = random.chance(0.2)
      ? [{ key: "control" }, { key: "treatment" }, { key: "treatment-b", name: "Treatment B" }]
      : [{ key: "control" }, { key: "treatment", payload: { color: random.pick(["blue", "green"]) } }]
    const decided = state === "decision-made" || state === "complete"
    const decision = decided ? random.pick(["rollout", "rollback", "continue-running"] as const) : null
    const startDate = state === "planning" ? null : minDay(formatDay(created + random.int(1, 5) * 86_400_000), lastDay)
    const modified = new Date(created + random.int(1, 86_400) * SECOND).toISOString()
    const owner = random.pick(OWNERS)
    experiments.push({
      id: String(200_000 + count - i),
      projectId: String(appId),
      deployments: [String(random.int(10, 40))],
      key,
      name: titleCase(topic) + ` ${count - i}`,
      decision,
      decisionReason: decision === null ? null : "Primary metric reached significance",
      description: random.chance(0.5) ? "" : `Does the new ${topic.replace("-", " ")} lift conversion?`,
      enabled: state === "running" || (decided && decision === "rollout"),
      evaluationMode: random.chance(0.8) ? "remote" : "local",
      bucketingKey: "amplitude_id",
      bucketingSalt: random.string(8, ALPHANUMERIC),
      bucketingUnit: "User",
      variants,
      rolledOutVariant: decision === "rollout" ? "treatment" : null,
      rolloutPercentage: state === "planning" ? 0 : random.pick([10, 50, 100]),
      rolloutWeights: Object.fromEntries(variants.map((v) => [v.key, 1])),
      targetSegments: [],
      parentDependencies: null,
      stickyBucketing: random.chance(0.3),
      state,
      startDate,
      endDate: state === "complete" && startDate !== null ? addDays(startDate, random.int(14, 45)) : null,
      experimentType: bandit ? "multi-arm-bandit" : "a-b-test",
      deleted: false,
      archived: random.chance(0.08),
      tags: random.chance(0.3) ? ["growth"] : [],
      createdBy: owner,
      lastModifiedBy: random.chance(0.7) ? owner : random.pick(OWNERS),
      createdAt: new Date(created).toISOString(),
      lastModifiedAt: modified
    })
  }
  return experiments
}
