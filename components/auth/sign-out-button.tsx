"use client";
import { loadFresh } from "./load-fresh";
import { useState } from "react";

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="button small"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        await fetch("/api/auth/sign-out", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }).catch(() => undefined);
        // Open terminals keep their server-side sessions for the grace period; the
        // next visit (signed in again) resumes them.
        loadFresh("/sign-in");
      }}
    >
      Sign out
    </button>
  );
}
