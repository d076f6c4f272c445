"""Realtime benchmark for `make bench`: N EventSource subscribers on one
branch channel (each authorized by nginx's auth_request through the
chanauth program), held by build/bin/bench-subscribers (C, epoll: reading
1000 sockets in Python took tens of milliseconds by itself and made the
figure the client's), then M events published through Nchan's private
publisher socket, each carrying its send time; prints the publish ->
receive latency over every (subscriber, event) pair and what was lost.

usage: bench_realtime.py PORT STACK_DIR BRANCH_ID STAFF_TOKEN [N] [M]
"""

import json
import pathlib
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def publish(sock_path, branch, t):
    body = json.dumps({"event": "bench", "data": {"t": t}}).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall((f"POST /pub/branch/{branch} HTTP/1.1\r\nHost: localhost\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body)
    reply = s.recv(4096)
    s.close()
    if not (reply.startswith(b"HTTP/1.1 201") or reply.startswith(b"HTTP/1.1 202")):
        raise RuntimeError(f"publish refused: {reply[:80]!r}")


def main():
    port, stack_dir, branch, token = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    m = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    binary = pathlib.Path(__import__("os").environ.get("OSHXONA_BIN", ROOT / "build" / "bin"))
    t0 = time.monotonic()
    sub = subprocess.Popen([str(binary / "bench-subscribers"), port, f"/sub/branch/{branch}",
                            token, str(n), str(m), "120"], stdout=subprocess.PIPE, text=True)
    line = sub.stdout.readline().strip()
    if line != "ready":
        sub.kill()
        raise RuntimeError(f"subscribers not ready: {line!r}")
    connect_s = time.monotonic() - t0
    sock = f"{stack_dir}/run/nchan-publish.sock"
    for _ in range(m):
        publish(sock, branch, time.time_ns())
        # Spread the events out: this measures latency, not a burst.
        time.sleep(0.02)
    result = sub.stdout.read().strip()
    sub.wait(timeout=150)
    print(f"realtime: {n} EventSource subscribers authorized and connected in {connect_s:.2f} s")
    print(f"realtime: {m} events to {n} subscribers: {result}")


if __name__ == "__main__":
    main()
