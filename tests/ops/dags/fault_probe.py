"""
### fault_probe — a test probe: a task that dies as the run's ``conf["how"]`` says

``sigkill``: the task process is killed (the kernel's OOM killer, ``kill -9``); ``sigterm``: it is asked
to stop, as a worker being shut down or a pod being evicted is, and killed when the grace period
(2 s here) is over without it having stopped (Airflow 3 only calls the operator's ``on_kill`` on
SIGTERM; the task goes on); ``oom``: the task process is limited (``RLIMIT_AS``) to a little more
than it holds and then asks for far more, so it runs out of memory. No retries, so the failure is
final at once. Wired like every DAG of the package (DEFAULT_ARGS). Tests only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from expense_sync.dag_defaults import DEFAULT_ARGS

with DAG(
    dag_id="fault_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 0},
    tags=["test"],
    doc_md=__doc__,
):

    @task
    def die(**context) -> None:
        import os
        import resource
        import signal
        import time

        how = context["dag_run"].conf.get("how")
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif how == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(2)  # the grace period
            os.kill(os.getpid(), signal.SIGKILL)
        elif how == "oom":
            with open("/proc/self/statm") as statm:
                held = int(statm.read().split()[0]) * resource.getpagesize()
            resource.setrlimit(resource.RLIMIT_AS, (held + 64 * 2**20, resource.RLIM_INFINITY))
            hog = [bytearray(2**20) for _ in range(4096)]  # 4 GiB, far past the limit
            raise AssertionError(f"{len(hog)} MiB allocated under the limit")
        else:
            raise ValueError(f"unknown conf how={how!r}")

    die()
