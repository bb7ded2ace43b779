import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { redactedPrefix } from "../src/index.js"

describe("redactedPrefix", () => {
  it("shows the first 4 characters of values of 16 characters or more", () => {
    assert.strictEqual(redactedPrefix("0123456789abcdef0123456789abcdef"), "0123…")
    assert.strictEqual(redactedPrefix("abcdefghijklmnop"), "abcd…")
  })

  it("shows nothing of values shorter than 16 characters", () => {
    for (const value of ["", "a", "abcd", "abcde", "abcdefghijklmno"]) {
      assert.strictEqual(redactedPrefix(value), "…")
    }
  })

  it("counts code points and never splits a surrogate pair", () => {
    assert.strictEqual(redactedPrefix("😀".repeat(16)), "😀😀😀😀…")
    assert.strictEqual(redactedPrefix("😀".repeat(15)), "…")
    assert.strictEqual(redactedPrefix("a😀b😀cdefghijklmnop"), "a😀b😀…")
  })

  it.prop("reveals at most 4 leading characters and at most a quarter of the value", [
    FastCheck.string({ unit: "binary" })
  ], ([value]) => {
    const prefix = redactedPrefix(value)
    assert.isTrue(prefix.endsWith("…"))
    const shown = Array.from(prefix.slice(0, -1))
    assert.isAtMost(shown.length, 4)
    assert.isTrue(value.startsWith(shown.join("")))
    assert.isAtMost(shown.length * 4, Array.from(value).length)
  })
})
