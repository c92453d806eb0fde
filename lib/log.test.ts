import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { serializeError, withoutParams } from "./log";

describe("error logging", () => {
  it("never writes a failed query's parameters (message, stack, params, detail)", () => {
    const keyHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const cause = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: "22021",
      detail: `Key (hash)=(${keyHash}) already exists.`,
    });
    const err = new DrizzleQueryError('insert into "apikey" ("name", "key") values ($1, $2)', ["bad\u0000name", keyHash], cause);
    expect(err.message).toContain(keyHash); // what used to be logged

    const lines: string[] = [];
    const log = pino({ serializers: { err: serializeError } }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    log.error({ err }, "unhandled error in route handler");
    const line = lines.join("");
    expect(line).not.toContain(keyHash);
    expect(line).not.toContain("bad\\u0000name");
    const parsed = JSON.parse(line) as { err: { message: string; query: string; params: string; cause: { code: string; detail: string; message: string } } };
    expect(parsed.err.message).toMatch(/^Failed query: insert into "apikey".*\nparams: \[redacted\]$/s);
    expect(parsed.err.params).toBe("[redacted]");
    expect(parsed.err.query).toContain("insert into");
    expect(parsed.err.cause.code).toBe("22021");
    expect(parsed.err.cause.detail).toBe("[redacted]");
    expect(parsed.err.cause.message).toMatch(/invalid byte sequence/);
  });

  it("leaves other messages alone", () => {
    expect(withoutParams("connect ECONNREFUSED 127.0.0.1:5432")).toBe("connect ECONNREFUSED 127.0.0.1:5432");
  });
});
