// The one way the app writes a date and time: ISO-like, in UTC, the same on the
// server and in every browser (so pages agree with each other and with the logs).
export function formatDateTime(iso: string | Date): string {
  const d = typeof iso === "string" ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return "";
  return `${d.toISOString().replace("T", " ").slice(0, 19)} UTC`;
}
