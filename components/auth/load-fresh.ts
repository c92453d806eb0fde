// A full page load, on purpose: after the signed-in person changes (sign in, sign out,
// a new account, joining a workspace) nothing rendered for the previous one may
// survive, neither the router's cache of server-rendered pages nor open terminals.
export function loadFresh(path: string): void {
  window.location.assign(new URL(path, window.location.origin));
}
