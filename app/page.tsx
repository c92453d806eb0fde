// The home page sends people to their (first) workspace, or to sign in.
import { redirect } from "next/navigation";
import { appDb } from "@/db/client";
import { currentUser } from "@/lib/auth/page-access";
import { hasUsers } from "@/lib/auth/setup";
import { workspacesOf } from "@/lib/workspaces/workspaces";

export default async function Home() {
  const user = await currentUser();
  const database = await appDb();
  if (!user) {
    if (await hasUsers(database)) redirect("/sign-in");
    return (
      <main className="auth-page">
        <h1>
          <span className="brand">Meshia</span> — first start
        </h1>
        <p>No account exists yet. Open the setup link the server printed when it started (…/setup?token=…) to create the owner account.</p>
      </main>
    );
  }
  const [first] = await workspacesOf(database, user.userId);
  if (first) redirect(`/w/${first.id}`);
  return (
    <main className="auth-page">
      <h1>No workspace yet</h1>
      <p>You are not a member of any workspace. Ask a workspace owner for an invitation.</p>
    </main>
  );
}
