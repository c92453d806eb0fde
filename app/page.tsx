// The home page sends people to their (first) workspace.
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { db } from "@/db/client";
import { listWorkspaces } from "@/lib/workspaces";

export default async function Home() {
  await connection();
  const [first] = await listWorkspaces(await db());
  if (first) redirect(`/w/${first.id}`);
  return (
    <main className="empty-page">
      <h1>No workspace yet</h1>
      <p>Start the server once to create the default workspace.</p>
    </main>
  );
}
