import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/http/errors";
import { BrandedError } from "./branded-error";

class Plain extends BrandedError {}
class Named extends BrandedError {
  static override readonly brand: string = "Named";
}
class Sub extends ApiError {
  static override readonly brand: string = "Sub";
  constructor() {
    super("conflict", "sub");
  }
}

describe("BrandedError", () => {
  it("holds instanceof along the class chain, and only along it", () => {
    const sub = new Sub();
    expect(sub).toBeInstanceOf(Sub);
    expect(sub).toBeInstanceOf(ApiError);
    expect(sub).toBeInstanceOf(BrandedError);
    expect(sub).toBeInstanceOf(Error);
    expect(sub.name).toBe("Sub");
    expect(new ApiError("conflict", "x")).not.toBeInstanceOf(Sub);
    expect(new Named("x")).not.toBeInstanceOf(ApiError);
    expect(new Error("x")).not.toBeInstanceOf(BrandedError);
    expect(null).not.toBeInstanceOf(ApiError);
  });

  it("falls back to the prototype check for a subclass that did not name itself", () => {
    expect(new Plain("x")).toBeInstanceOf(Plain);
    expect(new Named("x")).not.toBeInstanceOf(Plain);
  });

  it("recognises an error made by another copy of the module (Next's bundle and server.ts each load one)", async () => {
    vi.resetModules();
    const other = await import("@/lib/targets/registry");
    const mine = await import("@/lib/http/errors");
    vi.resetModules();
    const again = await import("@/lib/targets/registry");
    expect(again.HostKeyChangedError).not.toBe(other.HostKeyChangedError);
    const err = new other.HostKeyChangedError("t");
    expect(err).toBeInstanceOf(again.HostKeyChangedError);
    expect(err).toBeInstanceOf(mine.ApiError);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
  });
});
