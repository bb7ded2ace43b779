import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Locator, type Page } from "playwright-core"

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]

/** Debian's `chromium` (or `CHROMIUM_PATH`); never a downloaded browser build. */
export const chromiumPath = (): string => {
  const configured = process.env["CHROMIUM_PATH"]
  const found = configured !== undefined ? [configured] : CANDIDATES.filter((path) => existsSync(path))
  if (found.length === 0 || !existsSync(found[0]!)) {
    throw new Error(
      "The browser tests need Chromium and found none (looked at " +
        `${configured ?? CANDIDATES.join(", ")}). Install Debian's package: ` +
        "apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium binary)."
    )
  }
  return found[0]!
}

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
  })

export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))

/** Saves a screenshot of the whole page, or of one element, as a test artifact. */
export const screenshot = async (target: Page | Locator, name: string): Promise<void> => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await ("goto" in target ? target.screenshot({ path, fullPage: true }) : target.screenshot({ path }))
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<{ readonly target: ReadonlyArray<string> }>
}

/** Runs axe-core on the page as it is; returns the serious and critical violations. */
export const seriousViolations = async (page: Page): Promise<ReadonlyArray<string>> => {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: axeSource })
  const violations = await page.evaluate(async () => {
    const axe =
      (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: Array<AxeViolation> }> } })
        .axe
    return (await axe.run(document)).violations
  })
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) =>
      `${violation.id} (${violation.impact}): ${violation.help} at ${
        violation.nodes.map((node) => node.target.join(" ")).join(", ")
      }`
    )
}
