import Link from "next/link";
import { connection } from "next/server";

export default async function NotFound() {
  // Rendered per request, not prerendered at build: Next puts the CSP nonce of this
  // request (proxy.ts) only on the scripts of dynamic renders, and the prerendered
  // 404 page's scripts were all refused by the browser.
  await connection();
  return (
    <main className="empty-page">
      <h1>Not found</h1>
      <p>
        There is no page at this address. <Link href="/">Go to your workspace</Link>.
      </p>
    </main>
  );
}
