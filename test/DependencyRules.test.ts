import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Workspace {
  readonly name: string
  readonly dir: string
  readonly kind: "package" | "app"
  readonly dependencies: ReadonlySet<string>
  readonly devDependencies: ReadonlySet<string>
}

const workspaces: ReadonlyArray<Workspace> = ["packages", "apps"].flatMap((group) =>
  readdirSync(join(root, group)).map((folder) => {
    const dir = join(root, group, folder)
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    return {
      name: manifest.name,
      dir,
      kind: group === "apps" ? "app" as const : "package" as const,
      dependencies: new Set(Object.keys(manifest.dependencies ?? {})),
      devDependencies: new Set(Object.keys(manifest.devDependencies ?? {}))
    }
  })
)
const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]))

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry) ? [path] : []
  })

const importPattern = /(?:^|\s)(?:import|export)\s[^"'`]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm

/** Every bare module specifier imported by a workspace's `src`, with the file that imports it. */
const importsOf = (workspace: Workspace) =>
  sourceFiles(join(workspace.dir, "src")).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(importPattern)]
      .map((match) => match[1] ?? match[2]!)
      .filter((specifier) => !specifier.startsWith("."))
      .map((specifier) => ({ file: relative(root, file), specifier }))
  )

const packageOf = (specifier: string) =>
  specifier.startsWith("node:") ? "node:" : specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

const findryDeps = (workspace: Workspace) => [...workspace.dependencies].filter((name) => name.startsWith("@findry/"))

describe("dependency rules (docs/architecture.md)", () => {
  it("every workspace imports only what its package.json declares", () => {
    for (const workspace of workspaces) {
      for (const { file, specifier } of importsOf(workspace)) {
        const name = packageOf(specifier)
        if (name === "node:") continue
        assert.isTrue(
          workspace.dependencies.has(name),
          `${file} imports ${specifier}, not a dependency of ${workspace.name}`
        )
      }
    }
  })

  it("domain depends on effect and @effect/platform only", () => {
    const domain = byName.get("@findry/domain")!
    assert.sameMembers([...domain.dependencies], ["effect", "@effect/platform"])
  })

  it("crypto, persistence and the adapter depend on domain, never on each other (adapter → crypto excepted)", () => {
    const allowed: Record<string, ReadonlyArray<string>> = {
      "@findry/crypto": ["@findry/domain"],
      "@findry/persistence": ["@findry/domain"],
      "@findry/amplitude-adapter": ["@findry/domain", "@findry/crypto"],
      "@findry/amplitude-emulator": []
    }
    for (const [name, expected] of Object.entries(allowed)) {
      const workspace = byName.get(name)
      assert.isDefined(workspace, `${name} exists`)
      assert.sameMembers(findryDeps(workspace!), [...expected], `${name} depends on ${findryDeps(workspace!)}`)
    }
  })

  it("only the Amplitude adapter imports the credential-opening API of crypto", () => {
    for (const workspace of workspaces) {
      const openers = importsOf(workspace).filter(({ specifier }) => specifier === "@findry/crypto/opener")
      if (workspace.name === "@findry/amplitude-adapter") continue
      assert.deepStrictEqual(openers, [], `${workspace.name} must not open sealed credentials`)
    }
    const cryptoIndex = readFileSync(join(byName.get("@findry/crypto")!.dir, "src/index.ts"), "utf8")
    assert.notMatch(cryptoIndex, /SecretOpener/, "the opener is not re-exported from @findry/crypto")
  })

  it("the client depends on the contract, effect and @effect/platform only", () => {
    const client = byName.get("@findry/client")!
    assert.sameMembers([...client.dependencies], ["@findry/domain", "effect", "@effect/platform"])
  })

  it("the web app reaches the API only through the contract's client: domain, client, effect, platform, React", () => {
    const web = byName.get("@findry/web")!
    assert.sameMembers(findryDeps(web), ["@findry/domain", "@findry/client"])
    const allowed = new Set(["@findry/domain", "@findry/client", "effect", "@effect/platform", "react", "react-dom"])
    for (const { file, specifier } of importsOf(web)) {
      assert.isTrue(allowed.has(packageOf(specifier)), `${file} imports ${specifier}`)
    }
  })

  it("packages never depend on apps, and the emulator is only a dev dependency of apps", () => {
    const apps = new Set(workspaces.filter((w) => w.kind === "app").map((w) => w.name))
    for (const workspace of workspaces) {
      if (workspace.kind === "package") {
        for (const dependency of [...workspace.dependencies, ...workspace.devDependencies]) {
          assert.isFalse(apps.has(dependency), `${workspace.name} → ${dependency}`)
        }
      } else {
        assert.isFalse(workspace.dependencies.has("@findry/amplitude-emulator"), `${workspace.name} ships the emulator`)
      }
    }
  })

  it("has no dependency cycles between workspaces", () => {
    const visiting = new Set<string>()
    const done = new Set<string>()
    const visit = (name: string, path: ReadonlyArray<string>) => {
      if (done.has(name)) return
      assert.isFalse(visiting.has(name), `cycle: ${[...path, name].join(" → ")}`)
      visiting.add(name)
      for (const dependency of findryDeps(byName.get(name)!)) visit(dependency, [...path, name])
      visiting.delete(name)
      done.add(name)
    }
    for (const workspace of workspaces) visit(workspace.name, [])
  })
})
