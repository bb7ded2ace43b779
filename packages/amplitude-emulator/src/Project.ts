import { ALPHANUMERIC, generateProjectData, hashString, type ProjectData, Random, type SeedOptions } from "./Seed.js"

export type Region = "us" | "eu"

export interface ManagementKey {
  readonly key: string
  /** `none` = the key exists but has no access to this project's environment (403). */
  readonly access: "full" | "none"
  /** Revoked keys get 401, like unknown ones. */
  readonly revoked: boolean
}

export interface ProjectSpec {
  /** Stable handle used by the control API and in the request log. Default `project-<n>`. */
  readonly id?: string
  readonly name?: string
  /** Default `us`. */
  readonly region?: Region
  /** Default: 32 lowercase hex derived from the seed. */
  readonly apiKey?: string
  /** Default: 32 alphanumerics derived from the seed. */
  readonly secretKey?: string
  /** Experiment Management API keys (`Bearer`); a plain string means full access. */
  readonly managementKeys?: ReadonlyArray<string | Partial<ManagementKey> & { readonly key: string }>
  /** Taxonomy API enabled (Enterprise plan / Govern add-on). Default true. */
  readonly taxonomy?: boolean
  /** Seeded data options; `seed` defaults to the project id. */
  readonly data?: Partial<SeedOptions>
}

export interface Project {
  readonly id: string
  readonly name: string
  readonly region: Region
  readonly appId: number
  readonly apiKey: string
  readonly secretKey: string
  readonly managementKeys: ReadonlyArray<ManagementKey>
  readonly data: ProjectData
}

/** Project metadata safe to show in control API responses: no secret or management key. */
export interface ProjectInfo {
  readonly id: string
  readonly name: string
  readonly region: Region
  readonly appId: number
  readonly apiKey: string
  readonly taxonomy: boolean
  readonly managementKeyCount: number
  readonly counts: {
    readonly users: number
    readonly events: number
    readonly occurrences: number
    readonly cohorts: number
    readonly charts: number
    readonly experiments: number
    readonly annotations: number
  }
}

export interface AnnotationCategory {
  readonly id: number
  readonly name: string
}

export interface Annotation {
  readonly id: number
  readonly label: string
  /** ISO 8601 as sent by the client, e.g. `2026-06-15T00:00:00+00:00`. */
  readonly start: string
  readonly end: string | null
  readonly details: string | null
  readonly categoryId: number
  readonly chartId: string | null
}

/** Annotation as returned by inspection: with the category name resolved. */
export interface AnnotationView extends Annotation {
  readonly category: string
}

export interface ProjectState {
  readonly project: Project
  taxonomy: boolean
  readonly annotations: Map<number, Annotation>
  readonly annotationCategories: Array<AnnotationCategory>
  readonly taxonomyCategories: Array<{ id: number; name: string }>
  nextAnnotationId: number
  nextCategoryId: number
  nextTaxonomyCategoryId: number
  inFlight: number
  maxInFlight: number
  /** Sum over analytics requests of the milliseconds each was in flight, up to `busySince`. */
  busyMillis: number
  busySince: number
  readonly costLog: Array<{ readonly at: number; readonly cost: number }>
  readonly experimentHits: Array<number>
}

const keyRandom = (seed: string) => new Random(hashString(`keys:${seed}`))

const DATA_CACHE_SIZE = 16
const dataCache = new Map<string, ProjectData>()

/** Data sets are immutable, so emulators in one process share those built from equal options. */
const cachedProjectData = (options: SeedOptions): ProjectData => {
  const key = JSON.stringify(options)
  const cached = dataCache.get(key)
  if (cached !== undefined) return cached
  const data = generateProjectData(options)
  if (dataCache.size >= DATA_CACHE_SIZE) dataCache.delete(dataCache.keys().next().value!)
  dataCache.set(key, data)
  return data
}

/** The data an emulator seeds for `spec` (given `defaults`, the emulator's `data` option), e.g. to find seeded ids by name. */
export const projectData = (spec: ProjectSpec, defaults: Partial<SeedOptions> = {}, fallbackId = ""): ProjectData =>
  cachedProjectData({ ...defaults, ...spec.data, seed: spec.data?.seed ?? spec.id ?? fallbackId })

export const makeProject = (spec: ProjectSpec, fallbackId: string, defaults: Partial<SeedOptions>): Project => {
  const id = spec.id ?? fallbackId
  const keys = keyRandom(String(spec.data?.seed ?? id))
  const data = projectData(spec, defaults, fallbackId)
  return {
    id,
    name: spec.name ?? id,
    region: spec.region ?? "us",
    appId: data.appId,
    apiKey: spec.apiKey ?? keys.hex(32),
    secretKey: spec.secretKey ?? keys.string(32, ALPHANUMERIC),
    managementKeys: (spec.managementKeys ?? []).map((key) =>
      typeof key === "string"
        ? { key, access: "full", revoked: false }
        : { key: key.key, access: key.access ?? "full", revoked: key.revoked ?? false }
    ),
    data
  }
}

export const makeProjectState = (project: Project, taxonomy: boolean): ProjectState => ({
  project,
  taxonomy,
  annotations: new Map(),
  annotationCategories: [{ id: 1, name: "Uncategorized" }],
  taxonomyCategories: project.data.taxonomyCategories.map((c) => ({ ...c })),
  nextAnnotationId: 939_891,
  nextCategoryId: 1_247,
  nextTaxonomyCategoryId: 1_934_723,
  inFlight: 0,
  maxInFlight: 0,
  busyMillis: 0,
  busySince: performance.now(),
  costLog: [],
  experimentHits: []
})

export const projectInfo = (state: ProjectState): ProjectInfo => {
  const { data } = state.project
  return {
    id: state.project.id,
    name: state.project.name,
    region: state.project.region,
    appId: state.project.appId,
    apiKey: state.project.apiKey,
    taxonomy: state.taxonomy,
    managementKeyCount: state.project.managementKeys.length,
    counts: {
      users: data.users.length,
      events: data.events.length,
      occurrences: data.events.reduce((sum, e) => sum + e.occurrences.length, 0),
      cohorts: data.cohorts.length,
      charts: data.charts.length,
      experiments: data.experiments.length,
      annotations: state.annotations.size
    }
  }
}

export const annotationView = (state: ProjectState, annotation: Annotation): AnnotationView => ({
  ...annotation,
  category: state.annotationCategories.find((c) => c.id === annotation.categoryId)?.name ?? "Uncategorized"
})

/** Ready-made projects, started by default and printed by the CLI. */
export const DEMO_PROJECTS = {
  us: {
    id: "demo-us",
    name: "Findry Demo (US)",
    region: "us",
    apiKey: "3f9a1c7e52b84d06a1e9c4b7d2f08e63",
    secretKey: "Kq7vR2mXp9LwT4nZc8HsB3dYf6GjA1eU",
    managementKeys: ["ampex_9sK2mQ7xV4pL8nR3tW6yZ1cB5dF0hJqE"],
    taxonomy: true,
    data: { seed: "demo-us", appId: 829528, users: 200, experiments: 1_234 }
  },
  eu: {
    id: "demo-eu",
    name: "Findry Demo (EU)",
    region: "eu",
    apiKey: "b71e4d9a0c3f46e2958a7d1c6e0b4f29",
    secretKey: "Vn3Xk8Qp2Ws7Lr5Ty9Mb4Hd6Jf1Gc0Za",
    managementKeys: ["ampex_eU4kP9wN2qX7mS5vB8tR3yL6cJ1dH0aF"],
    taxonomy: true,
    data: { seed: "demo-eu", appId: 431907, users: 120, experiments: 40 }
  },
  starter: {
    id: "demo-starter",
    name: "Findry Starter (US, no Taxonomy API)",
    region: "us",
    apiKey: "e05c8b2d7a914f3c86d1b9e4a2c7f015",
    secretKey: "Ph6Tc2Wq9Nz4Kv7Rm3Xb8Ld5Fs1Gy0Ju",
    managementKeys: [{ key: "ampex_nA5cX8vB2mK7qW4rT9yL3pD6sF1gH0jZ", access: "none" }],
    taxonomy: false,
    data: { seed: "demo-starter", appId: 615243, users: 80, experiments: 12 }
  }
} as const satisfies Record<string, ProjectSpec>
