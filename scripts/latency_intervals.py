#!/usr/bin/env python3
"""Interval histograms from sluice's stats socket, for scripts/latency-curve.sh.

poll:  latency_intervals.py SOCKET OUT.tsv
    asks `interval` every 0.25 s on one connection until SIGTERM; writes one
    line per interval and stage: END_S STAGE HDR (HdrHistogram V2 base64).
steps: latency_intervals.py --steps RATES STEP_S START_S OUT.tsv
    merges the intervals that ended within each step (START_S: when the
    loadgen schedule started, seconds since the epoch; the last step also
    takes the drain after it) and prints offered rate, completed rate,
    events, and end-to-end and in-pipeline p50/p99/p99.9 in ms. An event
    counts in the step in which it completed.
"""
import base64
import math
import signal
import socket
import struct
import sys
import time
import zlib

STAGES = ("end_to_end", "in_pipeline")


def decode(text):
    """HdrHistogram V2 compressed base64 -> {counts index: count}."""
    raw = base64.b64decode(text)
    cookie, length = struct.unpack(">ii", raw[:8])
    if cookie & ~0xF0 != 0x1C849304 & ~0xF0:
        raise ValueError("not a V2 compressed histogram")
    body = zlib.decompress(raw[8:8 + length])
    payload_len = struct.unpack(">i", body[4:8])[0]
    pos, end, index, counts = 40, 40 + payload_len, 0, {}
    while pos < end:
        shift = value = 0
        for i in range(9):
            b = body[pos]
            pos += 1
            if i == 8:
                value |= b << 56
                break
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        v = (value >> 1) ^ -(value & 1)
        if v < 0:
            index += -v
        else:
            if v:
                counts[index] = counts.get(index, 0) + v
            index += 1
    return counts


def highest_of(index):
    bucket = 0 if index < 2048 else index // 1024 - 1
    return ((index - bucket * 1024) << bucket) + (1 << bucket) - 1


def percentile(counts, p):
    total = sum(counts.values())
    if not total:
        return float("nan")
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for i in sorted(counts):
        seen += counts[i]
        if seen >= rank:
            return highest_of(i)


def poll(sock_path, out_path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    buf = b""
    with open(out_path, "w") as out:
        while True:
            s.sendall(b"interval\n")
            while b"\n\n" not in buf:
                buf += s.recv(1 << 20)
            answer, buf = buf.split(b"\n\n", 1)
            for line in answer.decode().splitlines():
                name, _, end_s, _, hdr = line.split()
                if name in STAGES:
                    out.write(f"{end_s}\t{name}\t{hdr}\n")
            out.flush()
            if stop:
                return
            time.sleep(0.25)


def steps(rates, step_s, start, path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)]
    intervals = [(float(t), name, decode(h)) for t, name, h in rows]
    print("offered_per_s\tcompleted_per_s\tevents\te2e_p50_ms\te2e_p99_ms\te2e_p999_ms\tpipe_p50_ms\tpipe_p99_ms\tpipe_p999_ms")
    for k, rate in enumerate(float(r) for r in rates.split(",")):
        lo, hi = start + k * step_s, start + (k + 1) * step_s
        # The last step also takes the drain after it.
        if k == len(rates.split(",")) - 1:
            hi = math.inf
        merged = {name: {} for name in STAGES}
        for t, name, c in intervals:
            if lo < t <= hi:
                for i, n in c.items():
                    merged[name][i] = merged[name].get(i, 0) + n
        n = sum(merged["end_to_end"].values())
        cols = [f"{rate:.0f}", f"{n / step_s:.0f}", str(n)]
        for name in STAGES:
            cols += [f"{percentile(merged[name], p) / 1e6:.3f}" for p in (50, 99, 99.9)]
        print("\t".join(cols))


if sys.argv[1] == "--steps":
    steps(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
else:
    poll(sys.argv[1], sys.argv[2])
