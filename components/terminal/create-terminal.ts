// Creating a tab's xterm: its options, its addons, and the renderer (WebGL, unless
// WebGL is emulated on the CPU, where the DOM renderer is faster).
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import { Terminal } from "@xterm/xterm";

export interface TerminalParts {
  term: Terminal;
  fit: FitAddon;
  search: SearchAddon;
}

/**
 * True when WebGL is emulated on the CPU (SwiftShader, llvmpipe: no GPU, a VM, a
 * blocklisted driver). There xterm's WebGL renderer parsed a flood (`yes`) at
 * 0.3-0.6 MB/s against 2.2 MB/s for the DOM renderer, so Ctrl-C took seconds to
 * show; keep the DOM renderer then. Browsers that hide the renderer get WebGL.
 */
function softwareWebgl(): boolean {
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return false; // the addon fails to load and the DOM renderer stays anyway
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  } catch {
    return false;
  }
}

/** Opens a terminal in `el`; the caller disposes `term` (which disposes its addons). */
export function createTerminal(el: HTMLElement): TerminalParts {
  const term = new Terminal({
    cursorBlink: true,
    allowProposedApi: true, // unicode11
    scrollback: 5000,
    fontFamily: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    // At 1x the underscore sits below the cell of a 1.0 line height and was cut
    // off ("x86_64" read "x86 64"); a little more height keeps it in the cell.
    lineHeight: 1.2,
    theme: { background: "#0b0e14", foreground: "#d6deeb", cursor: "#7fdbca", selectionBackground: "#264f78" },
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon((_ev, uri) => window.open(uri, "_blank", "noopener,noreferrer")));
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11";
  term.open(el);
  if (!softwareWebgl()) {
    try {
      const webgl = new WebglAddon();
      // On context loss the DOM renderer takes over again.
      webgl.onContextLoss(() => webgl.dispose());
      term.loadAddon(webgl);
    } catch {
      // No WebGL2 here: the DOM renderer is already in place.
    }
  }
  return { term, fit, search };
}
