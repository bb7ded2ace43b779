import type { Experiment } from "@findry/amplitude-adapter"
import { ExperimentSummary, ExperimentVariant, LinkedExperiment } from "@findry/domain"
import type { ExperimentFields, ExperimentSnapshotRow } from "@findry/persistence"

/** What Findry keeps of an Amplitude experiment on a linked test. */
export const experimentFields = (experiment: Experiment): ExperimentFields => ({
  experimentId: experiment.id,
  key: experiment.key,
  name: experiment.name,
  state: experiment.state,
  decision: experiment.decision,
  startDate: experiment.startDate,
  endDate: experiment.endDate,
  variants: experiment.variants.map((variant) =>
    variant.name === null ? { key: variant.key } : { key: variant.key, name: variant.name }
  ),
  archived: experiment.archived,
  deleted: experiment.deleted
})

/** The state a person sees: Amplitude's, unless the experiment was deleted or archived there. */
export const shownState = (snapshot: {
  readonly state: string | null
  readonly archived: boolean
  readonly deleted: boolean
}): string | null => snapshot.deleted ? "deleted" : snapshot.archived ? "archived" : snapshot.state

/** An Amplitude experiment as the experiment picker shows it. */
export const experimentSummary = (experiment: Experiment): ExperimentSummary => {
  const fields = experimentFields(experiment)
  return new ExperimentSummary({
    id: fields.experimentId,
    key: fields.key,
    name: fields.name,
    state: shownState(fields),
    decision: fields.decision,
    startDate: fields.startDate,
    endDate: fields.endDate,
    variants: fields.variants.map((variant) => new ExperimentVariant(variant))
  })
}

export const linkedExperiment = (snapshot: ExperimentSnapshotRow): LinkedExperiment =>
  new LinkedExperiment({
    id: snapshot.experimentId,
    key: snapshot.key,
    name: snapshot.name,
    state: shownState(snapshot),
    decision: snapshot.decision,
    startDate: snapshot.startDate,
    endDate: snapshot.endDate,
    variants: snapshot.variants.map((variant) => new ExperimentVariant(variant)),
    syncedAt: snapshot.syncedAt,
    archived: snapshot.archived,
    deleted: snapshot.deleted,
    syncStatus: snapshot.syncStatus,
    syncError: snapshot.syncError,
    lastSyncAttemptAt: snapshot.lastAttemptAt
  })
