import { describe, expect, it } from "vitest";
import { hostIsOurs, originAllowed } from "./origin";

describe("origin checks", () => {
  it("allow scripts (no Origin) and same-origin pages on known hosts", () => {
    expect(originAllowed(undefined, "127.0.0.1:3000")).toBe(true);
    expect(originAllowed("http://127.0.0.1:3000", "127.0.0.1:3000")).toBe(true);
    expect(originAllowed("http://localhost:3000", "localhost:3000")).toBe(true);
    expect(originAllowed("http://[::1]:3000", "[::1]:3000")).toBe(true);
  });

  it("refuse other sites, opaque origins and other ports", () => {
    expect(originAllowed("http://evil.example", "127.0.0.1:3000")).toBe(false);
    expect(originAllowed("null", "127.0.0.1:3000")).toBe(false);
    expect(originAllowed("http://127.0.0.1:4000", "127.0.0.1:3000")).toBe(false);
  });

  it("refuse DNS rebinding: a foreign name that resolves to us is not same-origin", () => {
    expect(hostIsOurs("evil.example:3000")).toBe(false);
    expect(originAllowed("http://evil.example:3000", "evil.example:3000")).toBe(false);
  });
});
