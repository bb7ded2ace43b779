// The Amplitude tile in a real Chromium, against the API and the Amplitude emulator over HTTP.
import { DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Effect } from "effect"
import type { Browser, BrowserContext, Locator, Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { launchChromium, screenshot, seriousViolations } from "./support/Browser.js"
import { freshUser, type Stack, startStack, tokenFor } from "./support/Stack.js"

const us = DEMO_PROJECTS.us
const eu = DEMO_PROJECTS.eu
const WAIT = { timeout: 15_000 }

let stack: Stack
let browser: Browser
let context: BrowserContext
let page: Page

beforeAll(async () => {
  stack = await startStack()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
})
beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  page = await context.newPage()
})
afterEach(async () => {
  await context.close()
  await Effect.runPromise(stack.emulator.clearFaults)
})

/** A workspace of its own per test (the API limits validation attempts per workspace), with `admin` as admin. */
const newWorkspace = async (admin: string) => {
  const answer = await stack.call("POST", "/v1/workspaces", { user: admin, body: { name: "Acme" } })
  return answer.body.id as string
}

const connectThroughApi = async (admin: string, workspaceId: string, project: typeof us | typeof eu = us) => {
  const answer = await stack.call("PUT", `/v1/workspaces/${workspaceId}/integrations/amplitude`, {
    user: admin,
    body: {
      region: project.region,
      apiKey: project.apiKey,
      secretKey: project.secretKey,
      displayName: "Checkout analytics"
    }
  })
  expect(answer.status).toBe(200)
}

/** A project, a metric and a bet on it through the API: promoting the bet fires its first annotation. */
const promoteBet = async (admin: string, workspaceId: string, title: string) => {
  const workspace = `/v1/workspaces/${workspaceId}`
  const project = await stack.call("POST", `${workspace}/projects`, { user: admin, body: { name: "Growth" } })
  const metric = await stack.call("POST", `${workspace}/metrics`, {
    user: admin,
    body: { name: "Purchases", unit: "integer" }
  })
  const predictedImpact = {
    metricId: metric.body.id,
    direction: "increase",
    magnitude: 5,
    magnitudeUnit: "percent",
    timeframeDays: 14
  }
  const bet = await stack.call("POST", `${workspace}/projects/${project.body.id}/bets`, {
    user: admin,
    body: { title, predictedImpact }
  })
  expect(bet.status).toBe(201)
}

/** Presses `refresh` until `target` shows up (the annotation push is asynchronous), within the deadline. */
const refreshUntil = async (refresh: Locator, target: Locator) => {
  const deadline = Date.now() + WAIT.timeout
  for (;;) {
    await refresh.click()
    try {
      return await target.waitFor({ timeout: 500 })
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
  }
}

/** Signs `admin` in to a new workspace connected to the US demo project. */
const signInConnected = async (admin: string) => {
  const workspaceId = await newWorkspace(admin)
  await connectThroughApi(admin, workspaceId)
  await signIn(admin, workspaceId)
  return workspaceId
}

const signIn = async (user: string, workspaceId: string) => {
  await page.goto(`${stack.baseUrl}/app/`)
  await page.getByLabel("Bearer token").fill(tokenFor(user))
  await page.getByLabel("Workspace ID").fill(workspaceId)
  await page.getByRole("button", { name: "Sign in" }).click()
  await tile().getByText(/connected/).first().waitFor(WAIT)
}

const tile = () => page.getByRole("region", { name: "Amplitude", exact: true })

const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([])

/** Opens the connect form and saves the keys, typing them as a user would. */
const submitKeys = async (apiKey: string, secretKey: string, region: "US Cloud" | "EU Cloud" = "US Cloud") => {
  await tile().getByRole("button", { name: "Connect" }).click()
  await tile().getByLabel("Region").selectOption({ label: region })
  await tile().getByLabel("API Key").fill(apiKey)
  await tile().getByLabel("Secret Key").fill(secretKey)
  await tile().getByRole("button", { name: "Save" }).click()
}

const alert = () => tile().getByRole("alert")

const focusIsOnTheAlert = () =>
  page.waitForFunction(() => document.activeElement?.getAttribute("role") === "alert", undefined, WAIT)

describe("the Amplitude tile", () => {
  it("connects with the keyboard alone, shows the display name and never shows the keys again", async () => {
    const admin = freshUser("web-admin")
    const workspaceId = await newWorkspace(admin)
    await signIn(admin, workspaceId)
    await tile().getByText("not connected").waitFor(WAIT)
    await screenshot(page, "not-connected")
    await expectAccessible()

    await tile().getByRole("button", { name: "Connect" }).focus()
    await page.keyboard.press("Enter")
    await page.waitForFunction(() => document.activeElement?.tagName === "SELECT", undefined, WAIT)
    await page.keyboard.press("Tab")
    await page.keyboard.type(us.apiKey)
    await page.keyboard.press("Tab")
    await page.keyboard.type(us.secretKey)
    await page.keyboard.press("Enter")

    await tile().getByTestId("display-name").waitFor(WAIT)
    expect(await tile().getByTestId("display-name").textContent()).toBe(`Amplitude project ${us.data.appId}`)
    expect(await tile().textContent()).toContain("US Cloud")
    expect(await tile().textContent()).toContain(`${us.apiKey.slice(0, 4)}…`)
    const html = await page.content()
    expect(html).not.toContain(us.apiKey)
    expect(html).not.toContain(us.secretKey)
    await screenshot(page, "connected")
    await screenshot(tile(), "connected-tile")
    await expectAccessible()

    await page.setViewportSize({ width: 375, height: 800 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
    await screenshot(page, "connected-375px")
    await expectAccessible()
  })

  it("EU keys on US show the wrong-region message naming EU and offer to switch", async () => {
    const admin = freshUser("web-admin")
    await signIn(admin, await newWorkspace(admin))
    await submitKeys(eu.apiKey, eu.secretKey)

    await alert().waitFor(WAIT)
    expect(await alert().textContent()).toContain("Wrong region: these keys belong to Amplitude EU Cloud")
    await focusIsOnTheAlert()
    await screenshot(page, "wrong-region")
    await expectAccessible()

    await alert().getByRole("button", { name: "Switch to EU Cloud" }).click()
    expect(await tile().getByLabel("Region").inputValue()).toBe("eu")
    await tile().getByRole("button", { name: "Save" }).click()
    await tile().getByTestId("display-name").waitFor(WAIT)
    expect(await tile().textContent()).toContain("EU Cloud")
  })

  it("bad keys show that Amplitude rejected the key, with the four checks", async () => {
    const admin = freshUser("web-admin")
    await signIn(admin, await newWorkspace(admin))
    await submitKeys(us.apiKey, "not-the-secret-key")

    await alert().waitFor(WAIT)
    expect(await alert().getByRole("heading").textContent()).toBe("Amplitude rejected the API key")
    const checks = await alert().getByRole("listitem").allTextContents()
    expect(checks).toHaveLength(4)
    expect(checks.join(" ")).toMatch(/copied correctly.*same project.*archived.*regenerated/s)
    await focusIsOnTheAlert()
    await screenshot(page, "rejected-key")
    await expectAccessible()
  })

  it("a 429 from Amplitude shows a countdown from retryAfterSeconds", async () => {
    const admin = freshUser("web-admin")
    await signIn(admin, await newWorkspace(admin))
    await Effect.runPromise(
      stack.emulator.injectFault({ project: us.id, kind: "status", status: 429, retryAfterSeconds: 30 })
    )
    await submitKeys(us.apiKey, us.secretKey)

    const countdown = tile().getByTestId("retry-countdown")
    await countdown.waitFor(WAIT)
    expect(await alert().getByRole("heading").textContent()).toBe("Amplitude rate-limited the validation call (429)")
    const first = Number(/Wait (\d+) seconds/.exec((await countdown.textContent()) ?? "")?.[1])
    expect(first).toBeGreaterThanOrEqual(28)
    expect(first).toBeLessThanOrEqual(30)
    await page.waitForFunction(
      (start) => {
        const text = document.querySelector("[data-testid=retry-countdown]")?.textContent ?? ""
        const left = Number(/Wait (\d+) seconds/.exec(text)?.[1])
        return left < start
      },
      first,
      WAIT
    )
    await screenshot(page, "rate-limited")
    await expectAccessible()
  })

  it("Amplitude down, then out of reach, shows each failure in the product's words", async () => {
    const admin = freshUser("web-admin")
    await signIn(admin, await newWorkspace(admin))
    await Effect.runPromise(stack.emulator.injectFault({ project: us.id, kind: "status", status: 503, times: 100 }))
    await submitKeys(us.apiKey, us.secretKey)
    await alert().filter({ hasText: "Amplitude is unavailable right now" }).waitFor(WAIT)
    expect(await alert().textContent()).toContain("(503)")
    await expectAccessible()

    await Effect.runPromise(stack.emulator.clearFaults)
    await Effect.runPromise(stack.emulator.injectFault({ project: us.id, kind: "hang", times: 100 }))
    await tile().getByRole("button", { name: "Save" }).click()
    await alert().filter({ hasText: "Couldn't reach Amplitude: network timeout" }).waitFor(WAIT)
    expect(await alert().textContent()).toContain("custom hosts aren't supported yet")
    await focusIsOnTheAlert()
    await screenshot(page, "unreachable")
  })

  it("the annotations toggle persists across a reload; a bet promoted while off is listed as skipped, with why", async () => {
    const admin = freshUser("web-admin")
    const workspaceId = await signInConnected(admin)
    const toggle = () => tile().getByRole("switch", { name: "Push annotations to Amplitude" })
    await toggle().waitFor(WAIT)
    expect(await toggle().isChecked()).toBe(true)

    await toggle().click()
    await tile().getByText("Annotation push is off.").waitFor(WAIT)
    await page.reload()
    await toggle().waitFor(WAIT)
    expect(await toggle().isChecked()).toBe(false)
    await screenshot(page, "annotations-off")
    await expectAccessible()

    await promoteBet(admin, workspaceId, "Faster checkout")
    const activity = page.getByRole("region", { name: "Annotation activity" })
    const row = activity.getByRole("row").filter({ hasText: "▲ Faster checkout" })
    await refreshUntil(activity.getByRole("button", { name: "Refresh" }), row.filter({ hasText: "skipped" }))
    expect(await row.textContent()).toContain("Annotation push is turned off for this workspace")
    await screenshot(page, "annotation-activity")
    await expectAccessible()
  })

  it("a member sees the tile read-only, with the reason", async () => {
    const admin = freshUser("web-admin")
    const member = freshUser("web-member")
    const workspaceId = await newWorkspace(admin)
    await stack.call("PUT", `/v1/workspaces/${workspaceId}/members/${member}`, {
      user: admin,
      body: { role: "member" }
    })
    await connectThroughApi(admin, workspaceId)
    await signIn(member, workspaceId)

    await tile().getByTestId("display-name").waitFor(WAIT)
    expect(await tile().getByTestId("display-name").textContent()).toBe("Checkout analytics")
    expect(await tile().textContent()).toContain("Only a workspace admin can connect")
    for (const control of ["Replace keys", "Disconnect", "Save management key"]) {
      expect(await tile().getByRole("button", { name: control }).isDisabled(), control).toBe(true)
    }
    expect(await tile().getByRole("switch", { name: "Push annotations to Amplitude" }).isDisabled()).toBe(true)
    expect(await page.getByRole("region", { name: "Audit log" }).count()).toBe(0)
    await screenshot(page, "member-read-only")
    await expectAccessible()
  })

  it("disconnect asks first, listing what survives and what stops, then shows not connected", async () => {
    const admin = freshUser("web-admin")
    const workspaceId = await signInConnected(admin)

    await tile().getByRole("button", { name: "Disconnect" }).click()
    const dialog = page.getByRole("dialog", { name: "Disconnect Amplitude?" })
    await dialog.waitFor(WAIT)
    const text = await dialog.textContent()
    expect(text).toContain("What survives disconnect")
    expect(text).toContain("Annotations already pushed to Amplitude")
    expect(text).toContain("What stops working")
    expect(text).toContain("nightly experiment sync")
    await screenshot(page, "disconnect-confirmation")
    await expectAccessible()
    expect(await tile().getByText("connected", { exact: true }).count()).toBe(1)

    await dialog.getByRole("button", { name: "Disconnect" }).click()
    await tile().getByText("not connected").waitFor(WAIT)
    const view = await stack.call("GET", `/v1/workspaces/${workspaceId}/integrations/amplitude`, { user: admin })
    expect(view.body.status).toBe("disconnected")
    await screenshot(page, "disconnected")
  })

  it("a mapping to an unknown event is saved with its warning", async () => {
    const admin = freshUser("web-admin")
    await signInConnected(admin)
    const metrics = page.getByRole("region", { name: "Metric mappings" })

    await metrics.getByLabel("Metric name").fill("Checkouts")
    await metrics.getByRole("button", { name: "Add metric" }).click()
    await metrics.getByLabel("Metric", { exact: true }).waitFor(WAIT)
    await metrics.getByLabel("Kind").selectOption("event")
    await metrics.getByLabel("Event name").fill("Checkout Compleeted")
    await metrics.getByLabel("Aggregation").selectOption("count")
    await metrics.getByRole("button", { name: "Save mapping" }).click()

    const status = metrics.getByRole("status")
    await status.waitFor(WAIT)
    expect(await status.textContent()).toContain("event not recognized: Checkout Compleeted")
    await metrics.getByText(/Checkouts.*event "Checkout Compleeted", count/).waitFor(WAIT)
    await screenshot(page, "mapping-warning")
    await expectAccessible()
  })

  it("the management key opens the experiment picker on a test, and the audit log records it all", async () => {
    const admin = freshUser("web-admin")
    const workspaceId = await newWorkspace(admin)
    await connectThroughApi(admin, workspaceId, eu)
    await signIn(admin, workspaceId)

    await tile().getByLabel("Management API key", { exact: true }).fill(eu.managementKeys[0])
    await tile().getByRole("button", { name: "Save management key" }).click()
    await tile().getByText(`${eu.managementKeys[0].slice(0, 4)}…`).waitFor(WAIT)
    expect(await page.content()).not.toContain(eu.managementKeys[0])

    const tests = page.getByRole("region", { name: "Tests and Amplitude experiments" })
    await tests.getByLabel("New project name").fill("Growth")
    await tests.getByRole("button", { name: "Add project" }).click()
    await tests.getByLabel("Project", { exact: true }).waitFor(WAIT)
    const picker = tests.getByLabel("Amplitude experiment")
    await page.waitForFunction(() => document.querySelectorAll("option").length > 20, undefined, WAIT)
    const experiment = (await picker.locator("option").nth(1).textContent())!
    await picker.selectOption({ index: 1 })
    await tests.getByLabel("Test name").fill("Checkout copy")
    await tests.getByRole("button", { name: "Add test" }).click()
    const experimentName = experiment.slice(0, experiment.lastIndexOf(" ("))
    await tests.getByRole("listitem").filter({ hasText: `Checkout copy — ${experimentName}` }).waitFor(WAIT)
    await screenshot(page, "experiment-picker")
    await expectAccessible()

    const audit = page.getByRole("region", { name: "Audit log", exact: true })
    await audit.getByText("amplitude.management_key_set").waitFor(WAIT)
    expect(await audit.textContent()).toContain("amplitude.connected")
    expect(await audit.textContent()).not.toContain(eu.managementKeys[0])
  })
})
