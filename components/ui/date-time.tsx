import { formatDateTime } from "@/lib/format-date";

/** A <time> in the app's one date format (lib/format-date.ts). */
export function DateTime({ iso }: { iso: string }) {
  return <time dateTime={iso}>{formatDateTime(iso)}</time>;
}
