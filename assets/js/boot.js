// Shows what the page is doing until Python takes over, and any failure to
// start (a missing runtime file, a Python error) on the page itself.
const status = document.getElementById("loading-text");
const failure = document.getElementById("startup-error");

function showStartupError(message) {
  if (document.body.dataset.appReady === "true") return;
  document.getElementById("loading").hidden = true;
  failure.hidden = false;
  failure.querySelector("[data-role=message]").textContent = message;
}

addEventListener("error", (event) => showStartupError(event.message || "The app failed to start."));
addEventListener("unhandledrejection", (event) =>
  showStartupError(String(event.reason && event.reason.message || event.reason)));
window.streamiumBoot = { showStartupError };

// A share link names its stream and pins the broadcaster's key: both can be shown before
// Python runs (the price cannot: it comes signed from the broadcaster). The same reading as
// app/channel/link.py's parse_link, and the fingerprint of app/receipts.py.
function showLinkedStream() {
  const found = /^#\/watch\/([^/#?]+)\/(0[23][0-9a-fA-F]{64})\/?$/.exec(location.hash);
  if (!found) return;
  let stream;
  try { stream = decodeURIComponent(found[1]); } catch { return; }
  if ([...stream].length < 1 || [...stream].length > 100) return;  // code points, as Python counts
  const key = found[2].toLowerCase();
  const fingerprint = [2, 6, 10, 14, 18].map((at) => key.slice(at, at + 4)).join(" ");
  // The name is the linker's text: on a line of its own, isolated (<bdi>) and without control or
  // format characters, so that it cannot pose as the fingerprint on the next line.
  const name = document.createElement("bdi");
  name.textContent = stream.replace(/[\p{Cc}\p{Cf}]/gu, "");
  const offer = document.getElementById("loading-offer");
  offer.replaceChildren("Opening ", name, document.createElement("br"),
    `Broadcaster's fingerprint: ${fingerprint}`, document.createElement("br"),
    "Its price comes from the broadcaster once the app has started.");
  offer.hidden = false;
}
try { showLinkedStream(); } catch (error) { console.warn("no stream preview:", error); }

// The runtime's files, requested at once (PyScript would find them only step after step). They
// are in a folder named by their contents that only assets/build/runtime.mjs names, so these
// preloads are made here rather than in index.html.
import("../build/runtime.mjs").then(({ runtime, snapshot }) => {
  const files = [["pyodide.mjs", "modulepreload"], ["pyodide.asm.mjs", "modulepreload"],
    ...(snapshot ? [["pyodide.snapshot.0"], ["pyodide.snapshot.1"]] : []),
    ["pyodide.asm.wasm"], ["pyodide-lock.json"], ["python_stdlib.zip"]];
  for (const [file, rel] of files) {
    const link = Object.assign(document.createElement("link"), { rel: rel || "preload", href: runtime + file });
    if (!rel) Object.assign(link, { as: "fetch", crossOrigin: "anonymous" });
    document.head.append(link);
  }
}).catch((error) => console.warn("runtime not preloaded:", error));

// What a first visit downloads before Python can start (9 MiB, seconds on a slow link): the
// page counts the parts that have arrived, as the browser finishes each (a return visit has
// them at once). Without the snapshot (assets/js/pyodide.mjs says so) its two parts drop out.
const progress = document.getElementById("loading-progress");
const parts = new Map([  // paths in the runtime folder (tools/runtime_dir.py) as runtime/<file>
  ["runtime/pyodide.asm.wasm", "the Python runtime"],
  ["runtime/pyodide.snapshot.0", "Python's prepared memory, 1 of 2"],
  ["runtime/pyodide.snapshot.1", "Python's prepared memory, 2 of 2"],
  ["runtime/python_stdlib.zip", "Python's standard library"],
  ["/assets/vendor/python/embit.zip", "the Bitcoin library"],
  ["/assets/build/app.zip", "the app"],
]);
const arrived = new Set();
let pythonUp = false;

function showDownloads() {
  if (pythonUp) return;
  const done = [...parts.keys()].filter((path) => arrived.has(path)).length;  // a part dropped may have come
  progress.max = parts.size;
  progress.value = done;
  const waiting = [...parts.keys()].filter((path) => !arrived.has(path)).map((path) => parts.get(path));
  status.textContent = waiting.length
    ? `Downloading Python and the app: ${done} of ${parts.size} parts (waiting for ${waiting.join(", ")})…`
    : "Starting Python…";
}

try {  // a browser without resource timings keeps the plain "Loading Python…"
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const path = new URL(entry.name).pathname.replace(/^.*(?=\/assets\/)/, "")
        .replace(/^\/assets\/build\/runtime\/[0-9a-f]+\//, "runtime/");
      if (parts.has(path) && entry.responseEnd > 0) arrived.add(path);
    }
    showDownloads();
  }).observe({ type: "resource", buffered: true });
} catch (error) {
  console.warn("no download progress:", error);
}
addEventListener("streamium:pyodide-source", (event) => {
  if (event.detail === "scratch") {
    parts.delete("runtime/pyodide.snapshot.0");
    parts.delete("runtime/pyodide.snapshot.1");
  }
  showDownloads();
});
addEventListener("py:ready", () => {
  pythonUp = true;
  progress.removeAttribute("value");  // nothing left to count: the app starts
  status.textContent = "Starting the app…";
});
showDownloads();

// The offline copy (sw.js): registered once the app is up, so it never competes with the
// start-up for bandwidth; from the next visit on, the page starts with no network at all.
// Browsers only allow it on https or on this machine (localhost): elsewhere nothing changes.
function registerOfflineCopy() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("./sw.js").catch((error) => console.warn("no offline copy:", error));
}
new MutationObserver((_, observer) => {
  if (document.body.dataset.appReady === "true") { observer.disconnect(); registerOfflineCopy(); }
}).observe(document.body, { attributes: true, attributeFilter: ["data-app-ready"] });
