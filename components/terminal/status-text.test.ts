import { describe, expect, it } from "vitest";
import { secondsUntil, statusText } from "./status-text";

const now = 1_700_000_000_000;

describe("statusText", () => {
  it("says what each state means, in its tone", () => {
    expect(statusText({ kind: "connecting" }, now)).toEqual({ text: "Connecting…", tone: "neutral" });
    expect(statusText({ kind: "connecting", detail: "Opening the shell…" }, now)).toEqual({ text: "Opening the shell…", tone: "neutral" });
    expect(statusText({ kind: "live" }, now)).toEqual({ text: "Live", tone: "ok" });
    expect(statusText({ kind: "expired" }, now)).toEqual({ text: "This session expired.", tone: "warn" });
    expect(statusText({ kind: "expired", detail: "Gone after 15 min." }, now)).toEqual({ text: "Gone after 15 min.", tone: "warn" });
    expect(statusText({ kind: "compute-stopped" }, now)).toEqual({ text: "The compute target stopped.", tone: "error" });
    expect(statusText({ kind: "failed", detail: "Host key changed." }, now)).toEqual({ text: "Host key changed.", tone: "error" });
    expect(statusText({ kind: "limited", detail: "Too many terminals.", retryAt: now + 5000 }, now)).toEqual({ text: "Too many terminals.", tone: "warn" });
  });

  it("counts down to the next attempt in whole seconds, never below zero", () => {
    const s = (retryAt: number) => statusText({ kind: "reconnecting", attempt: 3, retryAt, reason: "connection lost" }, now).text;
    expect(s(now + 4000)).toBe("Reconnecting (attempt 3) in 4 s — connection lost");
    expect(s(now + 3001)).toBe("Reconnecting (attempt 3) in 4 s — connection lost");
    expect(s(now + 1)).toBe("Reconnecting (attempt 3) in 1 s — connection lost");
    expect(s(now)).toBe("Reconnecting (attempt 3) in 0 s — connection lost");
    expect(s(now - 2000)).toBe("Reconnecting (attempt 3) in 0 s — connection lost");
    expect(statusText({ kind: "reconnecting", attempt: 1, retryAt: now + 500, reason: "x" }, now).tone).toBe("warn");
  });

  it("names the exit code, else the signal, else the server's detail", () => {
    expect(statusText({ kind: "ended", exitCode: 0, signal: null }, now).text).toBe("Session ended with exit code 0");
    expect(statusText({ kind: "ended", exitCode: 130, signal: "INT" }, now).text).toBe("Session ended with exit code 130");
    expect(statusText({ kind: "ended", exitCode: null, signal: "KILL" }, now).text).toBe("Session ended by signal KILL");
    expect(statusText({ kind: "ended", exitCode: null, signal: null, detail: "You are no longer a member." }, now).text).toBe("You are no longer a member.");
    expect(statusText({ kind: "ended", exitCode: null, signal: null }, now)).toEqual({ text: "Session ended", tone: "neutral" });
  });
});

describe("secondsUntil", () => {
  it("rounds up and stops at zero", () => {
    expect(secondsUntil(now + 1500, now)).toBe(2);
    expect(secondsUntil(now + 1000, now)).toBe(1);
    expect(secondsUntil(now - 1, now)).toBe(0);
  });
});
