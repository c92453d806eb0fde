// Structured logging: one JSON line per event on stdout. Never pass key material here.
import pino from "pino";
import { config } from "./config";
import { singleton } from "./global";

export type Logger = pino.Logger;

export function logger(): Logger {
  return singleton("logger", () =>
    pino({
      level: config().logLevel,
      base: { svc: "meshia" },
      // Defence in depth: should a PEM ever be attached to a log object by mistake,
      // it is censored rather than written.
      redact: { paths: ["pem", "privateKey", "*.pem", "*.privateKey", "token", "*.token"], censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    }),
  );
}
