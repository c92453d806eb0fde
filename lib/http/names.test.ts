import { describe, expect, it } from "vitest";
import { z } from "zod";
import { validationError } from "./route";
import { hasForbiddenCharacters, nameField } from "./names";

const BAD: [string, string][] = [
  ["NUL", "build\u0000box"],
  ["ESC", "\u001b[31mred"],
  ["a newline", "first\nsecond"],
  ["a trailing newline (not trimmed away)", "name\n"],
  ["a tab", "a\tb"],
  ["DEL", "a\u007fb"],
  ["NEL U+0085 (C1)", "a\u0085b"],
  ["CSI U+009B (C1)", "a\u009b31m"],
  ["right-to-left override U+202E", "evil\u202Egnp.exe"],
  ["left-to-right embedding U+202A", "a\u202Ab"],
  ["first strong isolate U+2068", "a\u2068b"],
  ["pop directional isolate U+2069", "a\u2069b"],
  ["left-to-right mark U+200E", "a\u200Eb"],
  ["right-to-left mark U+200F", "a\u200Fb"],
  ["Arabic letter mark U+061C", "a\u061Cb"],
];

describe("name fields", () => {
  const schema = z.strictObject({ name: nameField(64) });

  it.each(BAD)("refuse %s with a 400 naming the field", (_what, value) => {
    expect(hasForbiddenCharacters(value)).toBe(true);
    const parsed = schema.safeParse({ name: value });
    expect(parsed.success).toBe(false);
    const err = validationError(parsed.error!);
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_field");
    expect(err.message).toMatch(/^name: name must not contain control characters/);
  });

  it.each([
    ["plain", "build box"],
    ["accents and CJK", "Équipe 東京"],
    ["Hebrew without marks", "צוות"],
    ["emoji", "team 🚀"],
    ["zero-width joiner (emoji sequences)", "👩\u200D💻"],
  ])("accept %s", (_what, value) => {
    expect(schema.parse({ name: value }).name).toBe(value);
  });

  it("trims spaces and still checks length", () => {
    expect(schema.parse({ name: "  x  " }).name).toBe("x");
    expect(schema.safeParse({ name: "   " }).success).toBe(false);
    expect(schema.safeParse({ name: "x".repeat(65) }).success).toBe(false);
  });
});
