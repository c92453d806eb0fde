import { describe, expect, it } from "vitest";
import { safeNext } from "./safe-next";

describe("safeNext", () => {
  it("keeps local paths with their query and fragment", () => {
    expect(safeNext("/w/abc/targets")).toBe("/w/abc/targets");
    expect(safeNext("/invite/x?y=1#z")).toBe("/invite/x?y=1#z");
    expect(safeNext("/%5Cnot-a-host")).toBe("/%5Cnot-a-host");
  });

  it("sends anything that could leave the site to /", () => {
    for (const next of ["//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "https://evil.example/", "\\\\evil.example", "evil.example", "", undefined, ["/a"]]) {
      expect(safeNext(next), JSON.stringify(next)).toBe("/");
    }
  });
});
