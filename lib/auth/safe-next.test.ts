import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeNext } from "./safe-next";

describe("safeNext", () => {
  it("keeps local paths with their query and fragment", () => {
    expect(safeNext("/w/abc/targets")).toBe("/w/abc/targets");
    expect(safeNext("/invite/x?y=1#z")).toBe("/invite/x?y=1#z");
    expect(safeNext("/%5Cnot-a-host")).toBe("/%5Cnot-a-host");
    expect(safeNext("/w/./abc/../abc")).toBe("/w/abc");
  });

  it("sends anything that could leave the site to /", () => {
    for (const next of [
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "https://evil.example/",
      "\\\\evil.example",
      "evil.example",
      "/.//evil.example/phish",
      "/..//evil.example/phish",
      "/%2e%2e//evil.example/phish",
      "/%2E//evil.example",
      "/./%2e/..//evil.example",
      "",
      undefined,
      ["/a"],
    ]) {
      expect(safeNext(next), JSON.stringify(next)).toBe("/");
    }
  });

  // Built from the pieces URL parsers disagree on: whatever the mix, a browser
  // resolving the answer against any page of the site stays on the site.
  const piece = fc.constantFrom(
    "/",
    "//",
    "\\",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%252e",
    "%00",
    "%",
    "\t",
    "\n",
    "\r",
    " ",
    "@",
    ":",
    "?",
    "#",
    "&",
    "evil.example",
    "w",
    "x",
    "http:",
    "https:",
    "javascript:",
    "\u3002",
    "\uff0f",
    "\u2215",
  );
  const candidate = fc.tuple(fc.boolean(), fc.array(piece, { maxLength: 12 })).map(([lead, parts]) => (lead ? "/" : "") + parts.join(""));

  it("property: the answer is a same-site path for every mix of slashes, dots, encodings and whitespace", () => {
    fc.assert(
      fc.property(
        candidate,
        fc.constantFrom("https://meshia.test/", "https://meshia.test/w/abc/members", "http://127.0.0.1:3000/sign-in?next=x"),
        (next, page) => {
          const out = safeNext(next);
          expect(out.startsWith("/")).toBe(true);
          expect(out.startsWith("//")).toBe(false);
          expect(out).not.toMatch(/[\\\u0000-\u001f\u007f]/);
          expect(new URL(out, page).origin).toBe(new URL(page).origin);
          expect(safeNext(out)).toBe(out);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
