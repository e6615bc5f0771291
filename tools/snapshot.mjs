// Boots the vendored Pyodide in Node, imports what the page imports at start,
// and writes the interpreter's memory as a snapshot the page starts from
// (assets/js/pyodide.mjs). Run by tools/snapshot.py:
//   node tools/snapshot.mjs PYODIDE_DIR PYSCRIPT_CORE_JS OUT_FILE ZIP... [--compile ZIP...]
// The zips are unpacked where PyScript's [files] puts them ("./*": the home
// directory), so the modules' __file__ paths match the page's. The --compile
// zips (the app) are only compiled, never unpacked or imported: their modules
// need the page, and their files come from the page's own [files].
import { loadPyodide } from "../assets/vendor/pyodide/pyodide.mjs";
import fs from "node:fs";
import path from "node:path";

const [indexDir, pyscriptCore, outFile, ...rest] = process.argv.slice(2);
const split = rest.includes("--compile") ? rest.indexOf("--compile") : rest.length;
const zips = rest.slice(0, split);
const compileZips = rest.slice(split + 1);

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

// PyScript writes its own \`pyscript\` package (kept as strings in its core
// bundle) into the page's file system and imports it before the page's script:
// compiling those 14 modules is most of the time between py:ready and the app.
// The app's modules (--compile) are compiled the same way.
// Compile them here; the import system takes a compiled module only when the
// source it is about to compile is byte for byte the one compiled here.
function pyscriptSources(bundle) {
  const start = bundle.indexOf('{pyscript:{"__init__.py":');
  if (start < 0) return {};
  let depth = 0, quote = null, end = start;
  for (; end < bundle.length; end++) {
    const c = bundle[end];
    if (quote) { if (c === "\\") end++; else if (c === quote) quote = null; continue; }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) break;
  }
  const files = {};
  const tree = Function(`"use strict"; return (${bundle.slice(start, end + 1)});`)();
  (function walk(node, dir) {
    for (const [name, value] of Object.entries(node)) {
      if (typeof value === "string") files[`${dir}/${name}`] = value;
      else walk(value, `${dir}/${name}`);
    }
  })(tree, pyodide.FS.cwd());
  return files;
}
pyodide.globals.set("SOURCES", pyodide.toPy(pyscriptSources(fs.readFileSync(pyscriptCore, "utf8"))));
pyodide.globals.set("COMPILE_ZIPS", compileZips.map((zip) => new Uint8Array(fs.readFileSync(zip))));
pyodide.runPython(`
def _streamium_zip_sources(zips, sources):
    import io, os, zipfile
    for data in zips:
        with zipfile.ZipFile(io.BytesIO(data.to_bytes())) as archive:
            for name in archive.namelist():
                if name.endswith(".py"):
                    sources[os.path.join(os.getcwd(), name)] = archive.read(name).decode()

_streamium_zip_sources(COMPILE_ZIPS, SOURCES)
del _streamium_zip_sources, COMPILE_ZIPS
`);
pyodide.runPython(`
def _streamium_code_cache(sources):
    import sys
    external = sys.modules["_frozen_importlib_external"]
    compiled = {path: (text.encode(), compile(text, path, "exec", dont_inherit=True))
                for path, text in sources.items() if path.endswith(".py")}
    source_to_code = external.SourceLoader.source_to_code

    def cached_source_to_code(self, data, path, *args, **kwargs):
        hit = compiled.get(path)
        if hit is not None and hit[0] == data:
            return hit[1]
        return source_to_code(self, data, path, *args, **kwargs)

    external.SourceLoader.source_to_code = cached_source_to_code
    return sorted(compiled)

print("precompiled:", len(_streamium_code_cache(SOURCES)), "modules")
del _streamium_code_cache, SOURCES
`);
const image = pyodide.makeMemorySnapshot();

// Written sparse: about half of the 30 MiB memory is pages of zeros, which
// assets/js/pyodide.mjs (expandSnapshot) puts back. Header: magic, page size,
// image length, page count (u32 little-endian), then the page numbers, then
// the pages.
const PAGE = 65536;
const pages = [];
for (let at = 0; at < image.length; at += PAGE) {
  if (image.subarray(at, at + PAGE).some((byte) => byte !== 0)) pages.push(at / PAGE);
}
const header = new Uint32Array([0x53525053, PAGE, image.length, pages.length, ...pages]);
const out = fs.openSync(outFile, "w");
fs.writeSync(out, new Uint8Array(header.buffer));
for (const page of pages) fs.writeSync(out, image.subarray(page * PAGE, (page + 1) * PAGE));
fs.closeSync(out);
console.log(`${image.length} bytes, ${pages.length} of ${Math.ceil(image.length / PAGE)} pages written`);
