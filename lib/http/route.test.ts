import { describe, expect, it } from "vitest";
import { z } from "zod";
import { validationError } from "./route";

describe("validationError", () => {
  const schema = z.strictObject({ name: z.string(), port: z.number().min(1, "port must be 1-65535") });

  it("names each unknown field (422)", () => {
    const err = validationError(schema.safeParse({ name: "a", port: 1, foo: 1, bar: 2 }).error!);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/^foo: /);
    expect(err.details).toEqual({
      fields: [
        { field: "foo", message: 'unknown field "foo"' },
        { field: "bar", message: 'unknown field "bar"' },
      ],
    });
  });

  it("names the field of an unacceptable value (400)", () => {
    const err = validationError(schema.safeParse({ name: "a", port: 0 }).error!);
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ fields: [{ field: "port", message: "port must be 1-65535" }] });
  });
});
