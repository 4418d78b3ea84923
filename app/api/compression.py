"""gzip for large response bodies, done in the job's worker thread, block by block.

Starlette's GZipMiddleware would compress on the event loop (a 6 MB graph body held it for tens
of milliseconds, and /healthz waited), at level 9, and it holds back the lines of a streamed
NDJSON run until its buffer fills. Graph bodies are instead compressed where they are written:
in the job, one zlib call per body chunk (zlib releases the GIL while it works), so the event
loop only sends the compressed chunks.

Level 1: JSON of a graph repeats itself so much that level 1 already makes it 5-7× smaller, at
a fraction of level 6's time (measured on the 10k-node chain: see bench/run.py figure 3g).
Bodies under GZIP_MIN_BYTES are sent as they are: compressing them saves no noticeable time.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

GZIP_LEVEL = 1
GZIP_MIN_BYTES = 4096
_GZIP_WINDOW = 16 + zlib.MAX_WBITS  # zlib's wbits for a gzip header and trailer


def accepts_gzip(request: Request) -> bool:
    """Whether the client's Accept-Encoding takes gzip (`gzip` or `*`, with a q above 0)."""
    accepted = {}
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, parameters = part.partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        accepted[coding.strip().lower()] = quality
    return accepted.get("gzip", accepted.get("*", 0.0)) > 0


def gzipped(chunks: list[bytes], wanted: bool) -> tuple[list[bytes], bool]:
    """(the chunks gzip-compressed, True) when `wanted` and the body is large enough, else
    (the chunks, False). One compressed chunk per chunk, so the body is still sent in pieces;
    each chunk is dropped from `chunks` once compressed, so the body and its compressed copy are
    never both whole in memory (app/api/budget.py counts no extra copy)."""
    if not wanted or sum(map(len, chunks)) < GZIP_MIN_BYTES:
        return chunks, False
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WINDOW)
    out = []
    for index in range(len(chunks)):
        out.append(compressor.compress(chunks[index]))
        chunks[index] = b""
    out.append(compressor.flush())
    return [chunk for chunk in out if chunk], True
