"use client";
// Which file the commands point at. Browsers save a repeated download as
// "meshia_key (1).pem", so the copied command would silently use the old key:
// where the browser can (showSaveFilePicker) people choose the file and the
// commands use its name; otherwise, from the second download on, the dialog warns
// and lets them type the name their browser used.
import { useCallback, useState } from "react";
import { browserValuesChanged, useBrowserValue } from "@/components/ui/use-browser-value";
import { KEY_FILE_NAME, isSafeKeyFileName } from "@/lib/connect/key-file";

const DOWNLOADS_KEY = "meshia.keyDownloads";

interface SaveFilePicker {
  (opts: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }): Promise<{
    name: string;
    createWritable(): Promise<{ write(data: string): Promise<void>; close(): Promise<void> }>;
  }>;
}

function picker(): SaveFilePicker | null {
  const w = window as unknown as { showSaveFilePicker?: SaveFilePicker };
  return typeof w.showSaveFilePicker === "function" ? w.showSaveFilePicker.bind(window) : null;
}

function downloads(): number {
  try {
    return Number(localStorage.getItem(DOWNLOADS_KEY) ?? "0") || 0;
  } catch {
    return 0;
  }
}

function anchorDownload(pem: string): void {
  const url = URL.createObjectURL(new Blob([pem], { type: "application/x-pem-file" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = KEY_FILE_NAME;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Give the download a moment to start before the object URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface KeyFile {
  /** The file name the commands use (always a safe one). */
  name: string;
  /** What is in the name field (may be invalid while typed). */
  draft: string;
  draftValid: boolean;
  setDraft(name: string): void;
  /** Show the rename warning and the editable name. */
  renamed: boolean;
  canPick: boolean;
  /** A name chosen in the save dialog. */
  picked: boolean;
  download(pem: string): void;
  saveAs(pem: string): Promise<void>;
}

export function useKeyFile(): KeyFile {
  const [draft, setDraft] = useState(KEY_FILE_NAME);
  // The browser's abilities and this browser's earlier downloads.
  const canPick = useBrowserValue(() => picker() !== null, false);
  const renamed = useBrowserValue(() => downloads() >= 2, false);
  const [picked, setPicked] = useState(false);

  const download = useCallback((pem: string) => {
    anchorDownload(pem);
    const n = downloads() + 1;
    try {
      localStorage.setItem(DOWNLOADS_KEY, String(n));
    } catch {
      // Private mode: no count, no warning.
    }
    browserValuesChanged();
    setPicked(false);
  }, []);

  const saveAs = useCallback(async (pem: string) => {
    const pick = picker();
    if (!pick) return;
    try {
      const handle = await pick({ suggestedName: KEY_FILE_NAME, types: [{ description: "Private key", accept: { "application/x-pem-file": [".pem"] } }] });
      const w = await handle.createWritable();
      await w.write(pem);
      await w.close();
      setDraft(handle.name);
      setPicked(true);
    } catch {
      // Cancelled, or refused: nothing was saved, the name stays.
    }
  }, []);

  const draftValid = isSafeKeyFileName(draft);
  return { name: draftValid ? draft : KEY_FILE_NAME, draft, draftValid, setDraft, renamed, canPick, picked, download, saveAs };
}
