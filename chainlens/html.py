"""save_html: the page, its built bundle and a computed graph in one file that needs no server.

The file is the page's own template and its built assets (static/dist: app.js, app.css with its
fonts as data: URLs, the layout worker), unchanged, with a small script in front of them that
stands in for the server:

- the view's state (program, inputs, upstream gradient) is put in the URL hash, which the page
  reads at start (static/src/urlstate.js), so it opens on the saved program;
- `fetch` answers the page's requests from what was computed here: POST /graph/backward for the
  saved request with the saved body (format=columns, as the page asks for it), GET /ops and
  GET /examples with the server's own bodies (the examples: the saved program alone); any other
  request, or a changed program, gets a 503 whose message says it needs chainlens running;
- the layout worker, which the page starts from a URL beside its bundle, is started from the
  inlined source instead.

Nothing in the file asks the network for anything.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2

from app.api.meta import _OPS_BODY
from app.api.ui import STATIC_DIR, TEMPLATES_DIR
from app.engine.inputs import number
from chainlens.compute import Result, run

_FONT = re.compile(r'url\("?\./(fonts/[^")]+)"?\)')
_FONT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}
_SOURCE_MAP = re.compile(r"\n?/[/*]# sourceMappingURL=[^\n]*")

_SHIM = """
(() => {
  const saved = JSON.parse(document.getElementById('chainlens-saved').textContent);
  const offline = 'This page was saved by chainlens.save_html: it shows the saved graph. Anything else needs '
    + 'chainlens running (pip install chainlens, then chainlens, or chainlens.backward in Python).';
  const canonical = (value) => JSON.stringify(value, (key, item) => (item && typeof item === 'object'
    && !Array.isArray(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1))) : item));
  const answer = (status, body) => new Response(typeof body === 'string' ? body : JSON.stringify(body),
    { status, headers: { 'content-type': 'application/json' } });
  if (!window.location.hash) history.replaceState(null, '', saved.hash);
  window.fetch = async (resource, options = {}) => {
    const url = new URL(typeof resource === 'string' ? resource : resource.url, 'http://saved.invalid/');
    if (url.pathname === '/ops') return answer(200, saved.ops);
    if (url.pathname === '/examples') return answer(200, { examples: [saved.example] });
    if (url.pathname === '/graph/backward' && url.searchParams.get('format') === 'columns') {
      const body = JSON.parse(options.body || '{}');
      const asked = { expression: body.expression, inputs: body.inputs, grad_output: body.grad_output ?? null };
      const kept = { expression: saved.example.expression, inputs: saved.example.inputs,
                     grad_output: saved.example.grad_output ?? null };
      if (!body.mode && !body.expand && canonical(asked) === canonical(kept)) return answer(200, saved.body);
    }
    return answer(503, { error: { kind: 'offline', message: offline } });
  };
  const Native = window.Worker;
  const workerUrl = URL.createObjectURL(new Blob([document.getElementById('chainlens-elk-worker').textContent],
    { type: 'text/javascript' }));
  window.Worker = class extends Native {
    constructor(url, options) {
      super(String(url).endsWith('elk-worker.min.js') ? workerUrl : url, options);
    }
  };
})();
"""


def _inline_script(text: str) -> str:
    """Script text safe inside a <script> element: the HTML parser ends one at `</script`, and
    `<!--` with `<script` change how it reads the rest; a script's `<\\/` and `<\\!` mean the same."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def _inline_json(data: Any) -> str:
    """JSON safe inside a <script> element: every `<` escaped as JSON allows."""
    return json.dumps(data, allow_nan=False).replace("<", "\\u003c")


def _css(dist: Path) -> str:
    css = _SOURCE_MAP.sub("", (dist / "app.css").read_text(encoding="utf-8"))

    def font(match: re.Match[str]) -> str:
        path = dist / match.group(1)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'url("data:{_FONT_TYPES.get(path.suffix, "application/octet-stream")};base64,{data}")'

    return _FONT.sub(font, css).replace("</", "<\\/")


def _written(value: Any) -> Any:
    """Inputs as the request writes them: NaN and the infinities as the API's strings ("NaN",
    "Infinity", "-Infinity"), which JSON.parse reads and the engine takes."""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        return {key: _written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_written(item) for item in value]
    return value


def page(result: Result) -> str:
    """The standalone page for a computed result (see the module docstring)."""
    dist = STATIC_DIR / "dist"
    if not (dist / "app.js").is_file():
        raise FileNotFoundError(f"the page's assets are not built ({dist}): run `npm ci && npm run build`")
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)
    html = environment.get_template("index.html").render(
        assets_built=True, url_for=lambda name, path: f"/{name}/{path}"
    )
    grad_output, inputs = _written(result.grad_output), _written(result.inputs)
    saved = {
        "hash": "#"
        + urlencode(
            {
                "e": result.program,
                "i": json.dumps(inputs, indent=1),
                **({"g": json.dumps(grad_output)} if grad_output is not None else {}),
            }
        ),
        "ops": json.loads(_OPS_BODY),
        "example": {
            "id": "saved",
            "title": "Saved graph",
            "description": "Saved by chainlens.save_html.",
            "expression": result.program,
            "inputs": inputs,
            "grad_output": grad_output,
        },
        "body": json.loads(result.to_json(format="columns")),
    }
    app_js = _SOURCE_MAP.sub("", (dist / "app.js").read_text(encoding="utf-8"))
    worker = (dist / "elk-worker.min.js").read_text(encoding="utf-8")
    head = (
        f"<style>{_css(dist)}</style>\n"
        f'<script type="application/json" id="chainlens-saved">{_inline_json(saved)}</script>\n'
        f'<script type="text/plain" id="chainlens-elk-worker">{_inline_script(worker)}</script>\n'
        f"<script>{_SHIM}</script>\n"
    )
    html = html.replace('<link rel="stylesheet" href="/static/dist/app.css">', head, 1)
    html = html.replace(
        '<script type="module" src="/static/dist/app.js"></script>',
        f'<script type="module">{_inline_script(app_js)}</script>',
        1,
    )
    return html


def save_html(
    result_or_program: Any, path: str | Path, inputs: dict[str, Any] | None = None, **named_inputs: Any
) -> Path:
    """Write one standalone HTML file for a Result (or a program and its inputs, computed first)."""
    result = (
        result_or_program
        if isinstance(result_or_program, Result)
        else run(result_or_program, inputs, named_inputs, backward=True)
    )
    target = Path(path)
    target.write_text(page(result), encoding="utf-8")
    return target
