// Workspace volumes: the embedded target's HOME, one per workspace, under the
// volumes directory (MESHIA_VOLUMES_DIR), which lies outside the root-only data
// directory so that `mesh` can reach its volume whatever the data directory's
// parents allow. Volumes from before (MESHIA_DATA_DIR/workspaces/<id>/volume) move.
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { Logger } from "@/lib/log";

export function volumeDir(volumesDir: string, workspaceId: string): string {
  return path.join(volumesDir, workspaceId);
}

/** Where a workspace's volume used to be, inside the data directory. */
export function legacyVolumeDir(dataDir: string, workspaceId: string): string {
  return path.join(dataDir, "workspaces", workspaceId, "volume");
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else {
      try {
        // lchown: a symlink in the volume must not make us chown what it points at.
        const st = lstatSync(p);
        if (st.isSymbolicLink()) continue;
        chownSync(p, uid, gid);
      } catch {
        // vanished meanwhile
      }
    }
  }
}

/** The volumes directory: traversable by the shell user, but not listable. */
export function prepareVolumesRoot(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
}

/**
 * Makes the volume ready: the volumes directory traversable but not listable
 * (0711), the volume the shell user's own, 0700; an old volume moved in first.
 */
export function prepareVolume(opts: {
  dataDir: string;
  volumesDir: string;
  workspaceId: string;
  owner: { uid: number; gid: number } | null;
  log: Logger;
}): string {
  const volume = volumeDir(opts.volumesDir, opts.workspaceId);
  prepareVolumesRoot(opts.volumesDir);
  const legacy = legacyVolumeDir(opts.dataDir, opts.workspaceId);
  if (!existsSync(volume) && existsSync(legacy)) {
    try {
      renameSync(legacy, volume);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      cpSync(legacy, volume, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      rmSync(legacy, { recursive: true, force: true });
    }
    try {
      rmdirSync(path.dirname(legacy));
      rmdirSync(path.dirname(path.dirname(legacy)));
    } catch {
      // other things still there: leave them
    }
    if (opts.owner) chownTree(volume, opts.owner.uid, opts.owner.gid);
    opts.log.info({ from: legacy, to: volume }, "moved the workspace volume out of the data directory");
  }
  mkdirSync(volume, { recursive: true, mode: 0o700 });
  chmodSync(volume, 0o700);
  if (opts.owner) {
    // A `mesh` made anew (another uid) after the old one was removed must still own its files.
    const st = statSync(volume);
    if (st.uid !== opts.owner.uid || st.gid !== opts.owner.gid) chownTree(volume, opts.owner.uid, opts.owner.gid);
  }
  return volume;
}
