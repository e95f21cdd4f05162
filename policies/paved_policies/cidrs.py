"""CIDR reasoning shared by the rules that ask "can everyone reach this?" (security groups, EKS endpoints)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any


def open_to_everyone(cidrs: Sequence[str]) -> list[str]:
    """The CIDRs that, alone or together, let every IPv4 or every IPv6 address in.

    A /0 whatever bits precede the slash (0.0.0.0/0, ::/0, 10.0.0.0/0), or halves that add up to all of
    it (0.0.0.0/1 + 128.0.0.0/1). Text that is not a CIDR lets nobody in (AWS rejects it).
    """
    by_version: dict[int, list[tuple[str, Any]]] = {4: [], 6: []}
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            continue
        by_version[network.version].append((cidr, network))
    found: list[str] = []
    for networks in by_version.values():
        alone = [cidr for cidr, net in networks if net.prefixlen == 0]
        if alone:
            found += alone
        elif any(net.prefixlen == 0 for net in ipaddress.collapse_addresses(net for _, net in networks)):
            found += [cidr for cidr, _ in networks]
    return found
