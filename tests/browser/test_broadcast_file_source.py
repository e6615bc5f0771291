"""A local video file as the source: played in a <video>, captured with captureStream()."""

import base64

import pytest

from tests.browser.e2e_support import regtest_address

pytestmark = pytest.mark.browser

# Record two seconds of the fake camera in the page itself: a real WebM, no file in the repo.
RECORD_WEBM = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  const recorder = new MediaRecorder(stream, {mimeType: 'video/webm'});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise((resolve) => recorder.onstop = resolve);
  recorder.start(250);
  await new Promise((r) => setTimeout(r, 2000));
  recorder.stop();
  await done;
  stream.getTracks().forEach((t) => t.stop());
  const bytes = new Uint8Array(await new Blob(chunks, {type: 'video/webm'}).arrayBuffer());
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""


def test_broadcast_from_a_local_file(app_page):
    webm = base64.b64decode(app_page.evaluate(RECORD_WEBM))
    app_page.click("[data-testid=home-broadcast]")
    app_page.fill("[data-testid=bc-name]", "File source")
    app_page.fill("[data-testid=bc-payout]", regtest_address())
    app_page.select_option("[data-testid=bc-source]", "file")
    app_page.set_input_files("#bc-file", files=[{"name": "clip.webm", "mimeType": "video/webm", "buffer": webm}])
    app_page.click("[data-testid=bc-start]")
    app_page.wait_for_selector("[data-testid=share-link]:visible", timeout=30_000)
    app_page.wait_for_function("() => document.getElementById('bc-preview').videoWidth > 0", timeout=15_000)
    tracks = app_page.evaluate("document.getElementById('bc-preview').srcObject.getVideoTracks().length")
    assert tracks == 1
