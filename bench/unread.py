"""Issue 22's clients that ask for a large answer and never read it, against a fresh server.

    .venv/bin/python bench/unread.py                     # 12 clients, the 68 MB answer
    .venv/bin/python bench/unread.py --clients 30
    .venv/bin/python bench/unread.py --train 2           # 2 clients that start POST /train and never read
    .venv/bin/python bench/unread.py --root /tmp/main-wt # another checkout's server (a "before")

Each client opens a connection to 127.0.0.1, sends POST /graph/backward of a 100,000-term sum
(`x+x+...`, a 200 KB request whose answer is about 68 MB) and reads nothing (its socket's receive
buffer is made small, so the kernel holds little for it). The server's RSS is sampled every
100 ms for --hold seconds (idle: after one such request read to its end, which warms the server);
then the clients close, and RSS is sampled for 10 s more. With --train,
clients instead start the digits training run and read nothing, and after --hold seconds a new
/train from a reading client must finish. Printed: idle RSS, peak RSS while held, RSS 10 s after
closing, how many held connections the server had cut by the end of the hold (read then,
with what it had sent each), and the fresh request's answer. Bounded: at most 64 clients, --hold at most 120 s.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from server import running_server  # noqa: E402

from app.examples import EXAMPLES  # noqa: E402

MB = 1 << 20


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def request(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def cut_by_server(sock: socket.socket) -> tuple[bool, int]:
    """After the hold: (whether the server has closed the connection, the bytes it had sent),
    reading what is buffered for up to 2 s. Nothing is read before, while the client holds."""
    sock.settimeout(2.0)
    received = 0
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return True, received
            received += len(data)
    except TimeoutError:
        return False, received
    except OSError:
        return True, received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--train", type=int, default=0, help="clients that start /train instead (and read nothing)")
    parser.add_argument("--hold", type=float, default=40.0, help="seconds the clients stay connected (default 40)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    count = args.train or args.clients
    if not 0 < count <= 64 or not 0 < args.hold <= 120:
        raise SystemExit("bounded: 1-64 clients, --hold in (0, 120]")
    env = {"CHAINLENS_LOG_LEVEL": "error", **dict(item.split("=", 1) for item in args.env)}
    if args.train:
        example = next(e for e in EXAMPLES if e["id"] == "train-digits")
        path, body = "/train", json.dumps({k: example[k] for k in ("expression", "inputs", "train")}).encode()
    else:
        path, body = "/graph/backward", json.dumps({"expression": "x" + "+x" * 99_999, "inputs": {"x": 1}}).encode()
    with running_server(env=env, root=args.root) as (url, pid):
        port = int(url.rsplit(":", 1)[1])
        # Warm: one such request read to its end (the code paths it loads are not what clients leave).
        httpx.post(f"{url}{path}", content=body, headers={"content-type": "application/json"}, timeout=120)
        time.sleep(1)
        idle = rss(pid)
        sockets = []
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(request(path, body))
            sockets.append(sock)
        started = time.monotonic()
        peak = idle
        while time.monotonic() - started < args.hold:
            peak = max(peak, rss(pid))
            time.sleep(0.1)
        fresh = None
        if args.train:
            with httpx.Client(timeout=120) as client:
                sent = time.monotonic()
                response = client.post(f"{url}{path}", content=body, headers={"content-type": "application/json"})
                last = json.loads(response.content.splitlines()[-1])["type"] if response.status_code == 200 else None
                took = round(time.monotonic() - sent, 1)
                fresh = {"status": response.status_code, "last_line": last, "seconds": took}
        cut = [cut_by_server(sock) for sock in sockets]
        for sock in sockets:
            sock.close()
        closed = time.monotonic()
        after = []
        while time.monotonic() - closed < 10:
            time.sleep(0.5)
            after.append(rss(pid))
        healthz = httpx.get(f"{url}/healthz", timeout=5).status_code
    print(
        json.dumps(
            {
                "clients": count,
                "path": path,
                "hold_s": args.hold,
                "rss_mb": {
                    "idle": round(idle / MB),
                    "peak_held": round(peak / MB),
                    "10s_after_close": round(after[-1] / MB),
                    "after_close_each_2s": [round(value / MB) for value in after[3::4]],
                    "over_idle_10s_after_close": round((after[-1] - idle) / MB),
                },
                "cut_by_server_within_hold": sum(closed for closed, _ in cut),
                "mb_sent_to_each_before_cut": sorted({round(sent / MB, 1) for _, sent in cut}),
                "fresh_train": fresh,
                "healthz": healthz,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
