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
addEventListener("py:ready", () => { status.textContent = "Starting the app…"; });
window.streamiumBoot = { showStartupError };

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
