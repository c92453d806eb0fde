// The -L command for reaching a service on the target (Jupyter, TensorBoard, a web
// app) at localhost on one's own machine: the seed's tip, as a form.
import { connectCommand, type ClientOs, type Endpoint } from "./commands";
import { KEY_FILE_NAME } from "./key-file";

export const FORWARD_PRESETS = [
  { label: "Jupyter", port: 8888 },
  { label: "TensorBoard", port: 6006 },
  { label: "Web app", port: 8080 },
] as const;

export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** The connect command for `os` with `-N -L local:localhost:remote` added to its ssh call. */
export function forwardCommand(os: ClientOs, at: Endpoint, ports: { remote: number; local: number }, file = KEY_FILE_NAME): string {
  if (!isPort(ports.remote) || !isPort(ports.local)) throw new Error("invalid port to forward");
  const base = connectCommand(os, at, file);
  const i = base.lastIndexOf("ssh -i ");
  return `${base.slice(0, i)}ssh -N -L ${ports.local}:localhost:${ports.remote} ${base.slice(i + 4)}`;
}
