// The header of every workspace page: the workspace (and a switcher when there are
// several), the links between its pages, and who is signed in.
import Link from "next/link";
import { SignOutButton } from "@/components/auth/sign-out-button";
import { WorkspaceSwitcher } from "@/components/workspace/workspace-switcher";

export type WorkspacePageName = "terminal" | "targets" | "members" | "tokens" | "audit";

export function WorkspaceHeader({
  workspace,
  current,
  user,
  workspaces,
}: {
  workspace: { id: string; name: string };
  current: WorkspacePageName;
  user: { name: string; email: string };
  workspaces: { id: string; name: string }[];
}) {
  const link = (page: WorkspacePageName, href: string, label: string) => (
    <Link href={href} className="nav-link" aria-current={current === page ? "page" : undefined}>
      {label}
    </Link>
  );
  return (
    <header className="workspace-header">
      <span className="brand">Meshia</span>
      <span className="crumb">/</span>
      {workspaces.length > 1 ? <WorkspaceSwitcher current={workspace.id} workspaces={workspaces} /> : <h1>{workspace.name}</h1>}
      <nav className="workspace-nav" aria-label="Workspace">
        {link("terminal", `/w/${workspace.id}`, "Terminal")}
        {link("targets", `/w/${workspace.id}/targets`, "Targets")}
        {link("members", `/w/${workspace.id}/members`, "Members")}
        {link("tokens", `/w/${workspace.id}/tokens`, "API tokens")}
        {link("audit", `/w/${workspace.id}/audit`, "Audit")}
      </nav>
      <div className="user-menu">
        <span className="muted" title={user.email}>
          {user.name}
        </span>
        <SignOutButton />
      </div>
    </header>
  );
}
