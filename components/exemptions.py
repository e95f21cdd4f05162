"""Tags that let one resource off named policies of the policy pack, with the reason the pack prints beside
every exemption (policies/paved_policies/exemptions.py reads them)."""

from collections.abc import Sequence

_NAMES_TAG = "paved:exempt"
_REASON_TAG = "paved:exempt-reason"
# AWS tag values: at most 256 characters of letters, digits, spaces and `+ - = . _ : / @`.
_TAG_VALUE_LENGTH = 256


def exemption_tags(policies: Sequence[str], reason: str) -> dict[str, str]:
    names = " ".join(policies)
    for value in (names, reason):
        if len(value) > _TAG_VALUE_LENGTH or "," in value:
            raise ValueError(f"exemption tag value {value!r} is not one AWS accepts on every service")
    return {_NAMES_TAG: names, _REASON_TAG: reason}
