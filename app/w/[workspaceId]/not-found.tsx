import Link from "next/link";
import { connection } from "next/server";

// Under /w/…: the workspace does not exist, or is not one of yours (the same answer).
export default async function WorkspaceNotFound() {
  // Rendered per request, for the CSP nonce (see app/not-found.tsx).
  await connection();
  return (
    <main className="empty-page">
      <h1>Not found</h1>
      <p>
        There is no such workspace here. <Link href="/">Go to your workspace</Link>.
      </p>
    </main>
  );
}
