"""Logical names that fit the physical names pulumi-aws derives from them."""

import hashlib

# pulumi-aws autonames a resource `<logical name>-<7 random hex>` and refuses the preview when that is longer
# than the service allows (pulumi's resource.NewUniqueHex: "name '...' plus 7 random chars is longer than
# maximum length").
_AUTONAME_SUFFIX_LENGTH = len("-") + 7
_HASH_LENGTH = 4


def autonamed(logical_name: str, max_length: int) -> str:
    """`logical_name`, or when its autoname would exceed `max_length`, its head plus a hash of the whole.

    Names that already fit are returned unchanged, so resources of existing stacks keep their URNs.
    """
    budget = max_length - _AUTONAME_SUFFIX_LENGTH
    if len(logical_name) <= budget:
        return logical_name
    digest = hashlib.sha256(logical_name.encode()).hexdigest()[:_HASH_LENGTH]
    head = logical_name[: budget - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"
