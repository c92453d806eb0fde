"use client";
// Errors the page boundary (app/error.tsx) cannot catch, in the root layout itself.
import { DatabaseUnavailable } from "@/components/ui/database-unavailable";
import { DATABASE_UNAVAILABLE_DIGEST } from "@/lib/database-unavailable";

export default function GlobalError({ error }: { error: Error & { digest?: string } }) {
  return (
    <html lang="en">
      <body>
        {error.digest === DATABASE_UNAVAILABLE_DIGEST ? (
          <DatabaseUnavailable onRetry={() => window.location.reload()} />
        ) : (
          <main className="empty-page">
            <h1>Something went wrong</h1>
            <p>This page could not be shown{error.digest ? ` (error ${error.digest})` : ""}.</p>
          </main>
        )}
      </body>
    </html>
  );
}
