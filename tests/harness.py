"""What the Python test harnesses share: the failure list, free ports, waiting
for a line in a process's output, stopping processes, the work directory and
the final verdict. Each harness imports it from its own directory."""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

failures = []

# `sluice run --config demo.toml` with every sink writing nothing.
NO_SINK_OUTPUT = ["--set", 'sinks.enrichment.output="none"', "--set", 'sinks.notification.output="none"',
                  "--set", 'sinks.analytics.output="none"']


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_output(path, pattern, tries, flags=0):
    """The first group of `pattern` once it appears in the file at `path`,
    checked every 0.1 s up to `tries` times; None if it never does."""
    for _ in range(tries):
        m = re.search(pattern, open(path).read(), flags)
        if m:
            return m.group(1)
        time.sleep(0.1)
    return None


@contextlib.contextmanager
def processes(stop_timeout):
    """A list to append started processes to; on leaving, those still running
    are terminated and each is waited for, killed if it does not exit within
    `stop_timeout` seconds."""
    procs = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                p.kill()


@contextlib.contextmanager
def work_dir(prefix):
    """A temporary directory, kept for a look when something failed (or
    SLUICE_KEEP_TEST_FILES is set), removed otherwise."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        yield work
    finally:
        if failures or os.environ.get("SLUICE_KEEP_TEST_FILES"):
            print(f"files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def finish():
    """Exits 1 with the number of failures, or prints ok."""
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("ok")
