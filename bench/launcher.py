"""A small process that starts the benchmarks' measured processes, so that their peak RSS is their own.

Linux keeps a process's peak RSS across ``fork`` and ``exec`` (``exec`` folds the old image's peak
into the new one's), so a process started by a driver that holds 150 MB reports a peak of at least
150 MB, whatever it uses itself. A driver therefore starts this launcher first, while it is still
small (a bare interpreter, about 10 MB), and has it start every measured command: each reports its
own wall time, CPU (user + sys) and peak RSS (``wait4``), and what it printed.

    launcher.start()                    # first thing in main(), before the heavy imports
    done = launcher.run(argv, env)      # .returncode, .stdout, .stderr, .wall_s, .cpu_s, .peak_rss_mb
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Any


def serve() -> None:
    """The launcher's loop: one JSON request per line on stdin (``argv``, ``env``), one reply per line."""
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.monotonic()
            process = subprocess.Popen(request["argv"], env=request["env"], stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            reply = {
                "returncode": os.waitstatus_to_exitcode(status),
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "stdout": out.read(),
                "stderr": err.read(),
            }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class Launcher:
    """The driver's handle on a launcher process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Run ``argv`` to its end; its returncode, wall_s, cpu_s, peak_rss_mb, stdout and stderr."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError("the launcher died")
        return json.loads(reply)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


_launcher: Launcher | None = None


def start() -> None:
    """Start this driver's launcher (call it before anything large is imported or allocated)."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()


def run(argv: list[str], env: dict[str, str]) -> SimpleNamespace:
    """Run ``argv`` through the launcher :func:`start` started (like ``subprocess.run`` with its
    output captured as text)."""
    if _launcher is None:
        raise RuntimeError("launcher.start() was not called at the start of main()")
    return SimpleNamespace(**_launcher.run([str(a) for a in argv], env))


if __name__ == "__main__":
    serve()
