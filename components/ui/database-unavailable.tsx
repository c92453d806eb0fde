// What a page shows when the server could not reach its database: not "sign in",
// which is what a lost session looks like, and not a bare error.
import { DATABASE_UNAVAILABLE_TEXT } from "@/lib/database-unavailable";

export function DatabaseUnavailable({ onRetry }: { onRetry?: () => void }) {
  return (
    <main className="empty-page" data-testid="database-unavailable">
      <h1>Meshia is unavailable</h1>
      <p>{DATABASE_UNAVAILABLE_TEXT} Your terminals and keys are safe; nothing needs to be done on your side.</p>
      <p>
        {onRetry ? (
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        ) : (
          <a href="">Try again</a>
        )}
      </p>
    </main>
  );
}
