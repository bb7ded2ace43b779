export type { EmulatorUrls, ProjectUsage, RequestFilter } from "./Core.js"
export { AmplitudeEmulator, type Emulator, type EmulatorOptions, make, UnknownProject } from "./Emulator.js"
export { type EmulatorProcess, type EmulatorProcessOptions, startEmulatorProcess } from "./EmulatorProcess.js"
export type { Fault, FaultSpec, FaultTarget, ForcedStatus, HostKind } from "./Faults.js"
export { DEFAULT_LIMITS, type Limits } from "./Limits.js"
export {
  machineLoad,
  megabytes,
  meterThisProcess,
  processCpuMs,
  processPeakRss,
  type ProcessUsage
} from "./ProcessMeter.js"
export {
  type Annotation,
  type AnnotationCategory,
  type AnnotationView,
  DEMO_PROJECTS,
  type ManagementKey,
  type Project,
  projectData,
  type ProjectInfo,
  type ProjectSpec,
  type Region
} from "./Project.js"
export type { RecordedRequest, RequestOutcome } from "./RequestLog.js"
export * from "./Seed.js"
export { DEFAULT_SWITCHES, type Switches } from "./Switches.js"
