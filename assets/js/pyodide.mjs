// Pyodide for PyScript, started from a memory snapshot (tools/snapshot.py).
//
// pyscript.toml's `interpreter` points here, not at the vendored pyodide.mjs,
// because PyScript calls loadPyodide with only indexURL, stdout and stderr: it
// has no way to pass `_loadSnapshot`. This module re-exports the vendored
// Pyodide's `version` and a `loadPyodide` that adds the snapshot, or boots from
// scratch when there is none (no Node at build time) or it is unusable.
//
// Pyodide and the snapshot come from this build's runtime folder, named by their
// contents (tools/runtime_dir.py), which the browser keeps without asking again.
import { runtime, snapshot } from "../build/runtime.mjs";

const indexURL = runtime;
// Two files (tools/snapshot.py says why), requested as soon as PyScript imports
// this module (assets/js/boot.js preloads them).
const parts = snapshot
  ? [0, 1].map((i) => fetch(`${runtime}pyodide.snapshot.${i}`).catch(() => null))
  : [null];
const { loadPyodide: load, version } = await import(`${runtime}pyodide.mjs`);

// State a snapshot would otherwise share between all visitors: `random`'s seed
// (embit's pure-Python ECKey.generate draws from it; the app's own keys come from
// os.urandom, i.e. crypto.getRandomValues) and tempfile's name sequence.
const RESEED = "import random, tempfile\nrandom.seed()\ntempfile._name_sequence = None";

export { version };

// The parts joined; tools/snapshot.mjs leaves out the pages of zeros (half of the image).
export function expandSnapshot(buffers) {
  const joined = new Uint8Array(buffers.reduce((sum, b) => sum + b.byteLength, 0));
  buffers.reduce((at, b) => (joined.set(new Uint8Array(b), at), at + b.byteLength), 0);
  const buffer = joined.buffer;
  const [magic, page, length, count] = new Uint32Array(buffer, 0, 4);
  if (magic !== 0x53525053) throw new Error("not a sparse Pyodide snapshot");
  const image = new Uint8Array(length);
  let at = 16 + 4 * count;
  for (const index of new Uint32Array(buffer, 16, count)) {
    const size = Math.min(page, length - index * page);
    image.set(new Uint8Array(buffer, at, size), index * page);
    at += size;
  }
  return image;
}

export async function loadPyodide(options = {}) {
  performance.mark("streamium:pyodide-start");
  const responses = await Promise.all(parts);
  const usable = responses.every((response) => response && response.ok);
  // assets/js/boot.js counts the downloads: without a snapshot there are two fewer
  dispatchEvent(new CustomEvent("streamium:pyodide-source", { detail: usable ? "snapshot" : "scratch" }));
  let pyodide;
  if (usable) {
    try {
      const image = Promise.all(responses.map((r) => r.arrayBuffer())).then(expandSnapshot);
      pyodide = await load({ ...options, indexURL, _loadSnapshot: image });
      pyodide.runPython(RESEED);
      globalThis.streamiumPyodideStart = "snapshot";
    } catch (error) {
      console.warn("Pyodide snapshot not usable, starting from scratch:", error);
    }
  }
  if (!pyodide) {
    pyodide = await load({ ...options, indexURL });
    globalThis.streamiumPyodideStart = "scratch";
  }
  performance.mark("streamium:pyodide-ready");
  return pyodide;
}
