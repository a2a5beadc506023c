"""API calls per vendor made while a step runs: what the run ledger records as ``vendor_api``.

Every :class:`~expense_sync.hooks.base.VendorHook` counts its calls, throttles and retries in its
own ``stats``; a step may use several hooks (and hooks made deep inside the engine), so
:func:`metered` collects what every hook of the process counts while it is open::

    with usage.metered() as used:
        counts = work(conn)
    used  # {"kingdee": {"calls": 12, "throttled": 1, "retries": 1}}

Airflow runs one task per process, so the meters are process-wide (a hook's worker threads count
into them too); nested or concurrent meters each see every call made while they are open.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

METERED = ("calls", "throttled", "retries")  # the hook statistics the ledger keeps

_lock = threading.Lock()
_meters: list[defaultdict[str, Counter[str]]] = []


def add(vendor: str, key: str, n: int = 1) -> None:
    """Count ``n`` of ``key`` for ``vendor`` in every open meter (hooks call this from ``count``)."""
    if key not in METERED:
        return
    with _lock:
        for meter in _meters:
            meter[vendor][key] += n


@contextmanager
def metered() -> Iterator[dict[str, dict[str, int]]]:
    """Meter the vendor calls made inside the block; the yielded dict is filled when the block ends
    (vendor → {calls, throttled, retries}, every key present; vendors not called are absent)."""
    meter: defaultdict[str, Counter[str]] = defaultdict(Counter)
    used: dict[str, dict[str, int]] = {}
    with _lock:
        _meters.append(meter)
    try:
        yield used
    finally:
        with _lock:
            _meters.remove(meter)
        used.update({vendor: {key: counter[key] for key in METERED} for vendor, counter in sorted(meter.items())})
