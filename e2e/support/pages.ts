// Every page of the app, for the phone-width and screenshot specs.
import type { APIRequestContext } from "@playwright/test";
import { invite, uniqueEmail } from "./auth";
import type { Workspace } from "./fixtures";

export interface AppPage {
  name: string;
  path: string;
  signedOut?: boolean;
}

export async function everyPage(request: APIRequestContext, workspace: Workspace): Promise<AppPage[]> {
  const inv = await invite(request, workspace.id, uniqueEmail("screens"));
  return [
    { name: "terminal", path: `/w/${workspace.id}` },
    { name: "targets", path: `/w/${workspace.id}/targets` },
    { name: "members", path: `/w/${workspace.id}/members` },
    { name: "tokens", path: `/w/${workspace.id}/tokens` },
    { name: "audit", path: `/w/${workspace.id}/audit` },
    { name: "not-found", path: "/no/such/page" },
    { name: "sign-in", path: "/sign-in", signedOut: true },
    { name: "setup", path: "/setup", signedOut: true },
    { name: "invite", path: `/invite/${inv.id}`, signedOut: true },
  ];
}
