import { describe, expect, it } from "vitest";
import { formatDateTime } from "./format-date";

describe("formatDateTime", () => {
  it("one format, in UTC, whatever the input's offset", () => {
    expect(formatDateTime("2026-11-30T12:34:56.789Z")).toBe("2026-11-30 12:34:56 UTC");
    expect(formatDateTime("2026-11-30T13:34:56+01:00")).toBe("2026-11-30 12:34:56 UTC");
    expect(formatDateTime(new Date(0))).toBe("1970-01-01 00:00:00 UTC");
    expect(formatDateTime("not a date")).toBe("");
  });
});
