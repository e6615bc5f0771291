// Boots the vendored Pyodide in Node, imports what the page imports at start,
// and writes the interpreter's memory as a snapshot the page starts from
// (assets/js/pyodide.mjs). Run by tools/snapshot.py:
//   node tools/snapshot.mjs PYODIDE_DIR OUT_FILE ZIP...
// The zips are unpacked where PyScript's [files] puts them ("./*": the home
// directory), so the modules' __file__ paths match the page's.
import { loadPyodide } from "../assets/vendor/pyodide/pyodide.mjs";
import fs from "node:fs";
import path from "node:path";

const [indexDir, outFile, ...zips] = process.argv.slice(2);

// What PyScript's bootstrap and the app import before <body data-app-ready>
// (sys.modules in the page), plus the vendored libraries the app uses.
const MODULES = [
  "asyncio", "base64", "bisect", "bz2", "codeop", "compression.zstd", "concurrent.futures",
  "contextvars", "copy", "ctypes", "ctypes.util", "dataclasses", "dis", "encodings.cp437",
  "glob", "hashlib", "heapq", "hmac", "html", "importlib.abc", "importlib.util", "inspect",
  "json", "locale", "logging", "lzma", "pathlib", "platform", "random", "shutil", "socket",
  "ssl", "string", "subprocess", "sysconfig", "tempfile", "textwrap", "tokenize", "traceback",
  "typing", "zipfile",
  "embit.bech32", "embit.base58", "embit.ec", "embit.hashes", "embit.networks", "embit.script",
  "embit.transaction", "embit.util.secp256k1", "segno",
];

const pyodide = await loadPyodide({
  indexURL: path.resolve(indexDir) + "/",
  _makeSnapshot: true,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
for (const zip of zips) {
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(zip)), "zip", { extractDir: "." });
}
pyodide.globals.set("MODULES", pyodide.toPy(MODULES));
pyodide.runPython(`
import importlib
for name in MODULES:
    importlib.import_module(name)
del MODULES, name, importlib
`);
const image = pyodide.makeMemorySnapshot();
fs.writeFileSync(outFile, image);
console.log(`${image.length} bytes`);
