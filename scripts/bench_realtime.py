"""Realtime benchmark for `make bench`: N EventSource subscribers on one
branch channel (each authorized by nginx's auth_request through the
chanauth program) held by a second process that only counts what
arrives, then M events published through Nchan's private publisher
socket, each carrying its send time. Ten probe subscribers in this
process timestamp each event as it arrives: the latency is nginx's fan-out
to all N + 10, not a Python loop working through 1000 sockets (which
measured 27 ms at p50 on its own). Lost deliveries are counted over all.

usage: bench_realtime.py PORT STACK_DIR BRANCH_ID STAFF_TOKEN [N] [M]
"""

import asyncio
import json
import multiprocessing
import resource
import socket
import statistics
import sys
import time


async def subscribe(port, path, token, ready, samples, expected, done, measure=True):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                  f"Cookie: oshxona_token={token}\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"subscription refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass
    ready.release()
    got = 0
    while got < expected:
        line = await reader.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            now = time.time_ns()
            if measure:
                msg = json.loads(line[6:])
                samples.append((now - msg["data"]["t"]) / 1e6)
            else:
                samples.append(0)  # the bulk only counts: no parsing
            got += 1
    done.release()
    writer.close()


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


async def hold(port, branch, token, n, m, conn):
    """The bulk subscribers: connect n, report ready, count deliveries."""
    samples = []
    ready, done = asyncio.Semaphore(0), asyncio.Semaphore(0)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(subscribe(port, f"/sub/branch/{branch}", token, ready,
                                           samples, m, done, False)) for _ in range(n)]
    for _ in range(n):
        await asyncio.wait_for(ready.acquire(), 60)
    conn.send(time.monotonic() - t0)
    for _ in range(n):
        await asyncio.wait_for(done.acquire(), 120)
    for t in tasks:
        await t
    conn.send(len(samples))


def bulk(port, branch, token, n, m, conn):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    asyncio.run(hold(port, branch, token, n, m, conn))


async def main():
    port, stack_dir, branch, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    m = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    probes = 10
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=bulk, args=(port, branch, token, n, m, child))
    proc.start()
    connect_s = parent.recv()
    samples = []
    ready, done = asyncio.Semaphore(0), asyncio.Semaphore(0)
    tasks = [asyncio.create_task(subscribe(port, f"/sub/branch/{branch}", token, ready,
                                           samples, m, done)) for _ in range(probes)]
    for _ in range(probes):
        await asyncio.wait_for(ready.acquire(), 60)
    sock = f"{stack_dir}/run/nchan-publish.sock"
    loop = asyncio.get_running_loop()
    for _ in range(m):
        await loop.run_in_executor(None, publish, sock, branch, time.time_ns())
        # Spread the events out: this measures latency, not a burst.
        await asyncio.sleep(0.02)
    for _ in range(probes):
        await asyncio.wait_for(done.acquire(), 60)
    for t in tasks:
        await t
    bulk_got = parent.recv()
    proc.join()
    samples.sort()
    lost = (n + probes) * m - len(samples) - bulk_got
    q = statistics.quantiles(samples, n=100)
    print(f"realtime: {n} EventSource subscribers authorized and connected in {connect_s:.2f} s")
    print(f"realtime: {m} events to {n + probes} subscribers, {lost} deliveries lost; publish -> "
          f"receive p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, max {samples[-1]:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
