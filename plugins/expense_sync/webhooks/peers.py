"""Who sent a delivery: the client address, ``X-Forwarded-For`` believed only from trusted proxies,
and address allow-lists (CIDRs).

The socket peer is the sender unless it is one of the configured trusted proxies
(``EXPENSE_SYNC_WEBHOOK_TRUSTED_PROXIES``). Then ``X-Forwarded-For`` is read from the right: each
trusted proxy appended the address it saw, so the first address from the right that is not a
trusted proxy is the sender. Addresses further left were written by the client and are never
believed. A malformed entry ends the walk at the last good address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(entries: Iterable[str], what: str) -> tuple[Network, ...]:
    """CIDRs (or single addresses) parsed; a bad entry raises ValueError naming ``what``, not the value."""
    parsed = []
    for number, entry in enumerate(entries, 1):
        entry = entry.strip()
        if not entry:
            continue
        try:
            parsed.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{what} item {number} is not an IP address or CIDR") from None
    return tuple(parsed)


def address(text: str) -> Address | None:
    try:
        parsed = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def within(text: str, allowed: Sequence[Network]) -> bool:
    found = address(text)
    return found is not None and any(found.version == net.version and found in net for net in allowed)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The sender's address: ``peer``, or what trusted proxies said in ``X-Forwarded-For``."""
    if not trusted or not forwarded_for or not within(peer, trusted):
        return peer
    sender = peer
    for hop in reversed(forwarded_for.split(",")):
        found = address(hop)
        if found is None:
            break
        sender = str(found)
        if not within(sender, trusted):
            break
    return sender
