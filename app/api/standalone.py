"""The standalone HTML file: the viewer, its styles and a computed graph in one page that needs no
server and no network. chainlens.save_html writes it from Python, POST /graph/html (the page's
Export → HTML) from the server; both call `standalone_page`.

The file holds static/dist/viewer.js (the viewer as one module: its CSS with KaTeX's fonts as
data: URLs, and ELK's layout worker started from its inlined source) inline, the graph body
(columns layout), the request that produced it, the op table (the inspector's docs and local
derivatives) and, for a from_torch result, PyTorch's gradients. The viewer is mounted without a
compute function: it shows the graph and steps through the whole timeline, and the tools that
would need chainlens say so.
"""

from __future__ import annotations

import functools
import json
import re
from html import escape
from pathlib import Path
from typing import Any

from app.api.meta import _OPS_BODY
from app.api.ui import STATIC_DIR
from app.engine.inputs import number

VIEWER = STATIC_DIR / "dist" / "viewer.js"

# The bundle ends with its one export; inlined in a page's module script it becomes a constant.
_EXPORT = re.compile(r"export\s*\{\s*([\w$]+)\s+as\s+mountViewer\s*\}\s*;?\s*$")

_ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='4' cy='8' "
    "r='3' fill='%232f5bd3'/%3E%3Ccircle cx='12' cy='8' r='3' fill='%23c2410c'/%3E%3Cpath d='M7 8h2' "
    "stroke='%23333' stroke-width='1.5'/%3E%3C/svg%3E"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{icon}">
<style>
  html, body {{ height: 100%; margin: 0; }}
  body {{ display: flex; flex-direction: column; font: 14px/1.45 system-ui, sans-serif; color: #1b2230;
         background: #eef1f5; }}
  .saved-head {{ flex: none; display: flex; gap: 12px; align-items: baseline; padding: 6px 12px;
                background: #151b2b; color: #e9edf5; }}
  .saved-head h1 {{ margin: 0; font-size: 16px; }}
  .saved-head details {{ min-width: 0; flex: 1; }}
  .saved-head summary {{ cursor: pointer; color: #c9d1df; }}
  .saved-head pre {{ margin: 4px 0; max-height: 30vh; overflow: auto; font: 13px/1.4 ui-monospace, Menlo, Consolas,
                    monospace; white-space: pre-wrap; }}
  #chainlens-viewer {{ flex: 1; min-height: 0; }}
</style>
</head>
<body>
<header class="saved-head">
  <h1>chainlens</h1>
  <details><summary>Program</summary><pre id="saved-program">{program}</pre></details>
</header>
<main id="chainlens-viewer" aria-label="The saved graph"></main>
<script type="application/json" id="chainlens-saved">{saved}</script>
<script type="module">
{viewer}
const saved = JSON.parse(document.getElementById('chainlens-saved').textContent);
const viewer = mountViewer(document.getElementById('chainlens-viewer'), saved);
window.__chainlens = viewer.probe; // what the browser tests read, as on the page
</script>
</body>
</html>
"""


class ViewerNotBuilt(FileNotFoundError):
    """static/dist/viewer.js is missing: the UI was not built (npm ci && npm run build)."""


@functools.cache
def _viewer_module(path: Path, mtime: float) -> str:
    """viewer.js as a page's inline module script: its export made a constant, `</script` and `<!--`
    written as a script reads them the same (`<\\/`, `<\\!--`)."""
    source = path.read_text(encoding="utf-8")
    inline, found = _EXPORT.subn(r"const mountViewer = \1;", source.rstrip())
    if not found:
        raise ValueError(f"{path} does not end with its mountViewer export: rebuild it (npm run build)")
    return re.sub(r"</(script)", r"<\\/\1", inline, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def viewer_module() -> str:
    if not VIEWER.is_file():
        raise ViewerNotBuilt(f"the viewer's bundle is not built ({VIEWER}): run `npm ci && npm run build`")
    return _viewer_module(VIEWER, VIEWER.stat().st_mtime)


def _written(value: Any) -> Any:
    """Numbers as a request writes them: NaN and the infinities as the API's strings ("NaN",
    "Infinity", "-Infinity"), which JSON.parse reads and the engine takes."""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        return {key: _written(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_written(item) for item in value]
    return value


def _inline_json(text: str) -> str:
    """JSON text safe inside a <script> element: every `<` escaped as JSON allows."""
    return text.replace("<", "\\u003c")


@functools.cache
def _ops() -> str:
    return json.dumps(json.loads(_OPS_BODY)["ops"], separators=(",", ":"))


def standalone_page(body: str, request: dict[str, Any], torch_grads: dict[str, Any] | None = None) -> str:
    """The standalone page for a graph `body` (the JSON text POST /graph/backward answers, either
    layout), the `request` that produced it (expression, inputs, grad_output, expand) and, for a
    from_torch result, PyTorch's gradients (input name → number or nested list)."""
    fields = [
        f'"body":{body}',
        f'"request":{json.dumps(_written(request), allow_nan=False)}',
        f'"ops":{_ops()}',
        *([f'"torchGrads":{json.dumps(_written(torch_grads), allow_nan=False)}'] if torch_grads else []),
    ]
    return _PAGE.format(
        title="chainlens — saved graph",
        icon=_ICON,
        # A lone surrogate (a careless client's "\ud800") is written as its escape: the page is UTF-8.
        program=escape(str(request.get("expression", "")).encode("utf-8", "backslashreplace").decode()),
        saved=_inline_json("{" + ",".join(fields) + "}"),
        viewer=viewer_module(),
    )
