"""Run Python inside the page's own Pyodide, the way PyScript runs any <script type="py">.

The snippet runs in a fresh namespace; whatever it assigns to `result` comes
back JSON-decoded. A Python exception in the page fails the test with the
page's traceback.
"""

import json
from uuid import uuid4

WRAPPER = '''
import json, traceback
from pyscript import window

def _streamium_test_run():
    namespace = {{}}
    exec(compile({source!r}, "<test snippet>", "exec"), namespace)
    return namespace.get("result")

try:
    _out = {{"ok": True, "value": _streamium_test_run()}}
except BaseException:
    _out = {{"ok": False, "error": traceback.format_exc()}}
setattr(window, {name!r}, json.dumps(_out))
'''


def run_python(page, source, timeout=60_000):
    name = "__streamium_test_" + uuid4().hex
    page.evaluate(
        """([code]) => { const s = document.createElement("script");
                         s.type = "py"; s.textContent = code; document.body.append(s); }""",
        [WRAPPER.format(source=source, name=name)])
    page.wait_for_function(f"window.{name} !== undefined", timeout=timeout)
    out = json.loads(page.evaluate(f"window.{name}"))
    if not out["ok"]:
        raise AssertionError("Python in the page failed:\n" + out["error"])
    return out["value"]
