import { describe, expect, it } from "vitest";
import { applyModifiers, barKeySequence } from "./touch-keys";

describe("touch keys", () => {
  it("sticky Ctrl makes control characters, Alt prefixes ESC", () => {
    expect(applyModifiers("c", { ctrl: true, alt: false })).toBe("\x03");
    expect(applyModifiers("C", { ctrl: true, alt: false })).toBe("\x03");
    expect(applyModifiers("d", { ctrl: true, alt: false })).toBe("\x04");
    expect(applyModifiers("[", { ctrl: true, alt: false })).toBe("\x1b");
    expect(applyModifiers(" ", { ctrl: true, alt: false })).toBe("\x00");
    expect(applyModifiers("b", { ctrl: false, alt: true })).toBe("\x1bb");
    expect(applyModifiers("x", { ctrl: true, alt: true })).toBe("\x1b\x18");
    expect(applyModifiers("ls", { ctrl: true, alt: false })).toBe("ls");
    expect(applyModifiers("q", { ctrl: false, alt: false })).toBe("q");
  });

  it("arrows follow the cursor-key mode; the rest are fixed", () => {
    expect(barKeySequence("up", false)).toBe("\x1b[A");
    expect(barKeySequence("up", true)).toBe("\x1bOA");
    expect(barKeySequence("left", false)).toBe("\x1b[D");
    expect(barKeySequence("esc", false)).toBe("\x1b");
    expect(barKeySequence("tab", true)).toBe("\t");
    expect(barKeySequence("pipe", false)).toBe("|");
    expect(barKeySequence("tilde", false)).toBe("~");
    expect(barKeySequence("slash", false)).toBe("/");
    // A modified bar key: Alt+Left moves a word back in readline.
    expect(applyModifiers(barKeySequence("left", false), { ctrl: false, alt: true })).toBe("\x1b\x1b[D");
  });
});
