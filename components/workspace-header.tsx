// The header of every workspace page: brand, workspace name, and the links between its pages.
import Link from "next/link";

export function WorkspaceHeader({ workspace, current }: { workspace: { id: string; name: string }; current: "terminal" | "targets" }) {
  const link = (page: typeof current, href: string, label: string) => (
    <Link href={href} className="nav-link" aria-current={current === page ? "page" : undefined}>
      {label}
    </Link>
  );
  return (
    <header className="workspace-header">
      <span className="brand">Meshia</span>
      <span className="crumb">/</span>
      <h1>{workspace.name}</h1>
      <nav className="workspace-nav" aria-label="Workspace">
        {link("terminal", `/w/${workspace.id}`, "Terminal")}
        {link("targets", `/w/${workspace.id}/targets`, "Targets")}
      </nav>
    </header>
  );
}
