"use client";
import { useRouter } from "next/navigation";

export function WorkspaceSwitcher({ current, workspaces }: { current: string; workspaces: { id: string; name: string }[] }) {
  const router = useRouter();
  return (
    <select className="workspace-switcher" aria-label="Workspace" value={current} onChange={(e) => router.push(`/w/${e.target.value}`)}>
      {workspaces.map((w) => (
        <option key={w.id} value={w.id}>
          {w.name}
        </option>
      ))}
    </select>
  );
}
