import type { Route } from "./Http.js"

export const dashboardRoutes: ReadonlyArray<Route> = []
