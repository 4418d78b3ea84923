"""The UI's side of the column layout: reading a 40,000-step response in V8 (Node's engine, the
one Chromium runs), the object layout against the column layout turned into objects.

The response is the `h = tanh(h * w + b)` chain of 5,000 lines (15,003 nodes, 40,000 steps),
encoded in-process as the server encodes it. Timed in Node, in alternating rounds, medians:
JSON.parse of the object layout (what the UI did before), JSON.parse of the column layout, and
static/src/columns.js's fromColumns on its result (what api.js does now). The transfer is not
timed here (bench/run.py figure 3 has the server's side, and the body sizes are printed).

    .venv/bin/python bench/ui_columns.py [--lines 5000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import measure  # noqa: E402
import workloads  # noqa: E402

from app.api.compression import GZIP_LEVEL  # noqa: E402
from app.api.encode import graph_body  # noqa: E402
from app.core import evaluate  # noqa: E402
from app.settings import Settings  # noqa: E402

# Runs in Node: reads both bodies as text, then times the parses and the decoding in rounds.
TIMER = """
import { readFileSync } from 'node:fs';
import { fromColumns } from '%(columns)s';
const [objectsText, columnsText] = ['objects', 'columns'].map((name) => readFileSync(`%(dir)s/${name}.json`, 'utf8'));
const repeat = %(repeat)d;
const times = { objects_parse: [], columns_parse: [], columns_decode: [] };
let check = 0;
for (let round = 0; round <= repeat; round += 1) {  // round 0 warms up
  let start = performance.now();
  const objects = JSON.parse(objectsText);
  const objectsMs = performance.now() - start;
  start = performance.now();
  const columns = JSON.parse(columnsText);
  const parseMs = performance.now() - start;
  start = performance.now();
  const decoded = fromColumns(columns);
  const decodeMs = performance.now() - start;
  check += objects.steps.length + decoded.steps.length;
  if (round) {
    times.objects_parse.push(objectsMs); times.columns_parse.push(parseMs); times.columns_decode.push(decodeMs);
  }
}
const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const steps = JSON.parse(columnsText).forward.length + JSON.parse(columnsText).steps.node.length;
const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
console.log(JSON.stringify({ steps, check, ...medians }));
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=5000, help="lines of the chain (5,000: 40,000 steps)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    settings = Settings()
    result = evaluate("\n".join([workloads.CHAIN_LINE] * args.lines), dict(workloads.CHAIN_INPUTS), None)
    bodies = {
        layout: graph_body(result, settings.max_full_elements, settings.max_step_elements, layout=layout)
        for layout in ("objects", "columns")
    }
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    info = measure.machine(node=node)
    print("machine: " + ", ".join(f"{key}={value}" for key, value in info.items()))
    with tempfile.TemporaryDirectory() as directory:
        for layout, body in bodies.items():
            Path(directory, f"{layout}.json").write_bytes(body)
        script = Path(directory, "timer.mjs")
        script.write_text(
            TIMER % {"columns": (ROOT / "static/src/columns.js").as_uri(), "dir": directory, "repeat": args.repeat}
        )
        out = json.loads(subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout)
    print(f"{len(result.graph):,} nodes, {out['steps']:,} steps; medians of {args.repeat} rounds in Node")
    for layout, body in bodies.items():
        gzipped = len(gzip.compress(body, GZIP_LEVEL))
        print(f"  {layout:<8} {len(body):>12,} bytes, gzip level {GZIP_LEVEL}: {gzipped:>10,} bytes")
    columns = out["columns_parse"] + out["columns_decode"]
    print(f"  objects: JSON.parse {out['objects_parse']:.1f} ms")
    print(
        f"  columns: JSON.parse {out['columns_parse']:.1f} ms + fromColumns {out['columns_decode']:.1f} ms "
        f"= {columns:.1f} ms ({columns / out['objects_parse']:.2f}x the objects' parse)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
