// Small statistics and formatting helpers shared by the benchmarks.

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1; // nearest-rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** The middle value; for an even count, the mean of the two middle ones (runs and rounds come in small numbers). */
export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summary(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: Math.max(...values) };
}

export const ms = (v: number, digits = 1) => `${v.toFixed(digits)} ms`;
export const mib = (bytes: number, digits = 2) => `${(bytes / 1024 / 1024).toFixed(digits)} MiB`;

export function verdict(ok: boolean): string {
  return ok ? "PASS" : "MISS";
}

/** Fixed-width table rows for the summary. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
