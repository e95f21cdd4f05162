"""What AWS accepts, read from the catalogues libraries ship rather than written by hand here.

Each is loaded on first use, so a stack pays only for the catalogues its config needs.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from importlib.resources import files

# paved builds `arn:aws:` ARNs, aws-partition service principals and endpoints: the other partitions
# (GovCloud, China, ISO, the European Sovereign Cloud) would need each of those changed, end to end.
SUPPORTED_PARTITION = "aws"


@functools.cache
def _regions_by_partition() -> dict[str, frozenset[str]]:
    """botocore's partitions.json: each partition's regions, as the SDKs know them, without the pseudo-regions
    (`aws-global`) that its `regionRegex` leaves out. Read as a file (~3 ms), not through botocore's loaders,
    which cost ~0.15 s more per preview."""
    document = json.loads((files("botocore") / "data" / "partitions.json").read_text(encoding="utf-8"))
    return {
        entry["id"]: frozenset(name for name in entry["regions"] if re.match(entry["regionRegex"], name))
        for entry in document["partitions"]
    }


def regions(partition: str = SUPPORTED_PARTITION) -> frozenset[str]:
    return _regions_by_partition()[partition]


def partition_of(region: str) -> str | None:
    """The partition that lists `region`, or None for a region no partition lists."""
    return next((id_ for id_, names in _regions_by_partition().items() if region in names), None)


def region_problem(region: str) -> tuple[str, str] | None:
    """Why `region` cannot hold a paved stack, with a hint; None when it can."""
    partition = partition_of(region)
    if partition == SUPPORTED_PARTITION:
        return None
    if partition is not None:
        return (
            f"{region!r} is in the {partition} partition",
            f"paved supports the {SUPPORTED_PARTITION} partition only (its ARNs, service principals and "
            "endpoints); choose a commercial region such as eu-west-1",
        )
    near = difflib.get_close_matches(region, sorted(regions()), n=3, cutoff=0.75)
    return (
        f"{region!r} is not an AWS region",
        f"did you mean {' or '.join(near)}?" if near else "use a region code such as eu-west-1",
    )
