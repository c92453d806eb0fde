import Link from "next/link";

export default function NotFound() {
  return (
    <main className="empty-page">
      <h1>Not found</h1>
      <p>
        There is no such workspace here. <Link href="/">Go to your workspace</Link>.
      </p>
    </main>
  );
}
