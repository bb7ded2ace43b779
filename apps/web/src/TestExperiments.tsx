import { CreateTest, type ProjectId } from "@findry/domain"
import { Effect, Either } from "effect"
import { useId, useState } from "react"
import { FailureNotice } from "./FailureNotice.js"
import { type Failure, run } from "./FindryClient.js"
import { useLoad } from "./useLoad.js"
import type { WorkspaceContext } from "./WorkspaceContext.js"

/** A test of a project, linked to an Amplitude experiment chosen from the experiment picker. */
export const TestExperiments = ({ context }: { readonly context: WorkspaceContext }) => {
  const path = { workspaceId: context.workspaceId }
  const projects = useLoad(() => run(context.client.workspaces.listProjects({ path })), [context.client])
  const experiments = useLoad(
    () => run(context.client.amplitudeConnection.experiments({ path, urlParams: {} })),
    [context.revision]
  )
  const [projectId, setProjectId] = useState("")
  const [failure, setFailure] = useState<Failure | null>(null)
  const id = useId()

  const projectList = projects.value?.projects ?? []
  const project = projectList.find((candidate) => candidate.id === projectId) ?? projectList[0]
  const tests = useLoad(
    () =>
      project === undefined
        ? Promise.resolve(Either.right({ tests: [] }))
        : run(context.client.tests.list({ path: { workspaceId: context.workspaceId, projectId: project.id } })),
    [project?.id]
  )

  const createProject = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const name = String(new FormData(form).get("projectName") ?? "").trim()
    const answer = await run(context.client.workspaces.createProject({ path, payload: { name } }))
    if (answer._tag === "Left") return setFailure(answer.left)
    setFailure(null)
    form.reset()
    setProjectId(answer.right.id)
    projects.reload()
  }

  const createTest = async (event: React.FormEvent<HTMLFormElement>, projectId: ProjectId) => {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const experimentId = String(data.get("experimentId") ?? "")
    const answer = await run(Effect.suspend(() =>
      context.client.tests.create({
        path: { workspaceId: context.workspaceId, projectId },
        payload: new CreateTest({
          name: String(data.get("testName") ?? "").trim(),
          type: "ab_experiment",
          ...(experimentId === "" ? {} : { amplitudeExperimentId: experimentId })
        })
      })
    ))
    if (answer._tag === "Left") return setFailure(answer.left)
    setFailure(null)
    form.reset()
    tests.reload()
  }

  const picker = experiments.value
  return (
    <section className="card" aria-labelledby="tests-title">
      <h2 id="tests-title">Tests and Amplitude experiments</h2>
      {context.isAdmin && (
        <form className="inline" onSubmit={createProject} aria-label="New project">
          <label htmlFor={`${id}-project-name`}>New project name</label>
          <input id={`${id}-project-name`} name="projectName" required maxLength={200} />
          <button type="submit">Add project</button>
        </form>
      )}
      {project === undefined ? <p>No projects yet.</p> : (
        <>
          <label htmlFor={`${id}-project`}>Project</label>
          <select id={`${id}-project`} value={project.id} onChange={(event) => setProjectId(event.target.value)}>
            {projectList.map((candidate) => <option key={candidate.id} value={candidate.id}>{candidate.name}</option>)}
          </select>
          <ul className="rows" aria-label="Tests of the project">
            {(tests.value?.tests ?? []).map((test) => (
              <li key={test.id}>
                <strong>{test.name}</strong>
                {test.amplitudeExperiment === null
                  ? " — no experiment linked"
                  : ` — ${test.amplitudeExperiment.name} (${test.amplitudeExperiment.state ?? "unknown state"})`}
              </li>
            ))}
          </ul>
          <form onSubmit={(event) => createTest(event, project.id)} aria-labelledby={`${id}-test-title`}>
            <h3 id={`${id}-test-title`}>New A/B test</h3>
            <label htmlFor={`${id}-test-name`}>Test name</label>
            <input id={`${id}-test-name`} name="testName" required maxLength={200} />
            <label htmlFor={`${id}-experiment`}>Amplitude experiment</label>
            <select
              id={`${id}-experiment`}
              name="experimentId"
              aria-describedby={picker?.available === false ? `${id}-experiment-reason` : undefined}
            >
              <option value="">No experiment</option>
              {(picker?.experiments ?? []).map((experiment) => (
                <option key={experiment.id} value={experiment.id}>
                  {experiment.name} ({experiment.key}, {experiment.state ?? "unknown state"})
                </option>
              ))}
            </select>
            {picker?.available === false && (
              <p id={`${id}-experiment-reason`} className="help">
                {picker.reason === "no_management_key"
                  ? "Add a Management API key in the Amplitude tile to pick experiments."
                  : picker.reason === "not_connected"
                  ? "Connect Amplitude to pick experiments."
                  : `Experiments can't be listed right now: ${picker.reason}.`}
              </p>
            )}
            <div className="actions">
              <button type="submit">Add test</button>
            </div>
          </form>
        </>
      )}
      {failure && <FailureNotice failure={failure} />}
    </section>
  )
}
