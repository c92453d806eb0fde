"use client";
// The error boundary of every page: an unreachable database gets its own message;
// anything else is a generic error with the id the server logged.
import { DatabaseUnavailable } from "@/components/ui/database-unavailable";
import { DATABASE_UNAVAILABLE_DIGEST } from "@/lib/database-unavailable";

export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  if (error.digest === DATABASE_UNAVAILABLE_DIGEST) return <DatabaseUnavailable onRetry={() => window.location.reload()} />;
  return (
    <main className="empty-page">
      <h1>Something went wrong</h1>
      <p>This page could not be shown{error.digest ? ` (error ${error.digest})` : ""}.</p>
      <p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </p>
    </main>
  );
}
