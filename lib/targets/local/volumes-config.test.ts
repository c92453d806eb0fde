// Where volumes go (MESHIA_VOLUMES_DIR): outside the data directory, which the
// sandbox hides from shells and keeps root-only.
import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config";

describe("MESHIA_VOLUMES_DIR", () => {
  it("defaults beside, not inside, a data directory such as /var/lib/meshia", () => {
    const cfg = loadConfig({ MESHIA_DATA_DIR: "/var/lib/meshia", HOME: "/home/dev" } as unknown as NodeJS.ProcessEnv);
    expect(cfg.volumesDir).toBe(process.getuid?.() === 0 ? "/var/lib/meshia-volumes" : "/home/dev/.local/share/meshia-volumes");
  });

  it("is refused inside the data directory (or around it) while the embedded target is on", () => {
    expect(() => loadConfig({ MESHIA_DATA_DIR: "/srv/m", MESHIA_VOLUMES_DIR: "/srv/m/volumes" } as unknown as NodeJS.ProcessEnv)).toThrow(
      /must be outside MESHIA_DATA_DIR/,
    );
    expect(() => loadConfig({ MESHIA_DATA_DIR: "/srv/m/data", MESHIA_VOLUMES_DIR: "/srv/m" } as unknown as NodeJS.ProcessEnv)).toThrow(
      /must be outside MESHIA_DATA_DIR/,
    );
    expect(
      loadConfig({ MESHIA_DATA_DIR: "/srv/m", MESHIA_VOLUMES_DIR: "/srv/m/volumes", MESHIA_LOCAL_TARGET: "off" } as unknown as NodeJS.ProcessEnv).volumesDir,
    ).toBe("/srv/m/volumes");
    expect(loadConfig({ MESHIA_DATA_DIR: "/srv/m", MESHIA_VOLUMES_DIR: "/srv/volumes" } as unknown as NodeJS.ProcessEnv).volumesDir).toBe("/srv/volumes");
  });
});
