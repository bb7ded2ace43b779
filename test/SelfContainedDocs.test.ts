import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Files under version control, plus new ones not ignored by git (so a citation is caught before it is committed). */
const repositoryFiles: ReadonlyArray<string> = execFileSync(
  "git",
  ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
  { cwd: root, encoding: "utf8" }
)
  .split("\0")
  .filter((path) => path !== "" && !path.split("/").includes("node_modules") && existsSync(join(root, path)))

const texts: ReadonlyArray<{ readonly path: string; readonly lines: ReadonlyArray<string> }> = repositoryFiles
  .map((path) => ({ path, bytes: readFileSync(join(root, path)) }))
  .filter(({ bytes }) => !bytes.includes(0))
  .map(({ bytes, path }) => ({ path, lines: bytes.toString("utf8").split("\n") }))

const fileNames = new Set(repositoryFiles.map((path) => basename(path)))

/**
 * Names of planning documents kept outside this repository. A mention is allowed only when it is spelled
 * exactly like a file of the repository (`docs/architecture.md`, `docs/scheduler.md`, …).
 */
const outsideDocument = /(?<![\w-])(?:product|amplitude-api|scheduler|architecture|http-api|toolchain|style)\.md\b/gi
/** A section sign before a number only ever pointed into those documents. */
const sectionNumber = /\u00a7\s*\d/g
const seedDocument = /seed-connect-[a-z]+\.txt/gi

/** Every `docs/<name>.md[#anchor]` mention, and in `docs/` the links between its pages. */
const docsMention = /(?<![\w-])docs\/([\w-]+\.md)(?:#([\w-]+))?/g
const siblingLink = /\]\(([\w-]+\.md)(?:#([\w-]+))?\)/g

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes. */
const anchorOf = (heading: string) =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")

const anchorsOf = (name: string): ReadonlySet<string> =>
  new Set(
    readFileSync(join(root, "docs", name), "utf8")
      .split("\n")
      .flatMap((line) => {
        const heading = /^#{1,6}\s+(.*)$/.exec(line)
        return heading === null ? [] : [anchorOf(heading[1]!)]
      })
  )

describe("the repository stands alone", () => {
  it("no file cites a document that is not in the repository", () => {
    const citations = texts.flatMap(({ lines, path }) =>
      lines.flatMap((line, index) =>
        [
          ...[...line.matchAll(outsideDocument)].map((match) => match[0]).filter((name) => !fileNames.has(name)),
          ...[...line.matchAll(sectionNumber)].map((match) => match[0]),
          ...[...line.matchAll(seedDocument)].map((match) => match[0])
        ].map((cited) => `${path}:${index + 1} cites ${cited}`)
      )
    )
    assert.deepStrictEqual(
      citations,
      [],
      "write what the code relies on in docs/ (product-rules.md, amplitude-api.md, scheduler.md, …) and point there"
    )
  })

  it("docs/architecture.md draws the packages' dependencies as their package.json files declare them", () => {
    const diagram = [...readFileSync(join(root, "docs/architecture.md"), "utf8").matchAll(/```mermaid\n([\s\S]*?)```/g)]
      .map((block) => block[1]!)
      .find((block) => block.includes("\"@findry/domain\""))
    assert.isDefined(diagram, "a Mermaid diagram of the packages")
    const nodes = new Map([...diagram!.matchAll(/^\s*(\w+)\["(@findry\/[\w-]+)"\]\s*$/gm)].map((m) => [m[1]!, m[2]!]))
    const drawn = [...diagram!.matchAll(/^\s*(\w+)\s*-->(?:\|[^|]*\|)?\s*(\w+)\s*$/gm)]
      .map(([, from, to]) => `${nodes.get(from!) ?? from} → ${nodes.get(to!) ?? to}`)
    const manifests: ReadonlyArray<{ name: string; dependencies?: Record<string, string> }> = ["packages", "apps"]
      .flatMap((group) =>
        readdirSync(join(root, group)).map((folder) =>
          JSON.parse(readFileSync(join(root, group, folder, "package.json"), "utf8"))
        )
      )
    const declared = manifests.flatMap((manifest) =>
      Object.keys(manifest.dependencies ?? {})
        .filter((name) => name.startsWith("@findry/"))
        .map((name) => `${manifest.name} → ${name}`)
    )
    assert.deepStrictEqual(
      {
        notDrawn: declared.filter((edge) => !drawn.includes(edge)),
        notDeclared: drawn.filter((edge) => !declared.includes(edge))
      },
      { notDrawn: [], notDeclared: [] }
    )
    assert.sameMembers([...nodes.values()], manifests.map((manifest) => manifest.name), "every workspace is drawn")
  })

  it("every page and heading of docs/ that a file points to exists", () => {
    const broken = texts.flatMap(({ lines, path }) =>
      lines.flatMap((line, index) =>
        [
          ...line.matchAll(docsMention),
          ...(path.startsWith("docs/") ? line.matchAll(siblingLink) : [])
        ].flatMap(([text, name, anchor]) => {
          const where = `${path}:${index + 1} points to ${text}`
          if (!existsSync(join(root, "docs", name!))) return [`${where}: no such page`]
          return anchor === undefined || anchorsOf(name!).has(anchor) ? [] : [`${where}: no such heading`]
        })
      )
    )
    assert.deepStrictEqual(broken, [])
  })
})
