"""Where a resource lives: the region and the account credentials its provider (or its own `region` input)
gives it.

Account-level settings (EBS encryption by default, instance metadata defaults) hold for one account and one
region. A rule may count such a setting for a resource only when both are placed the same: pulumi-aws 7
takes a per-resource `region`, else the provider's; the account is whoever the provider's credentials are,
which a preview sees only as the provider's role and profile settings. Two resources whose providers set
none of them (the default provider, region from the environment) are placed alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from paved_policies.props import get, get_text, plain

# The provider inputs that choose the account (the engine sends each as a string, JSON for structures).
_ACCOUNT_INPUTS = ("assumeRoles", "assumeRoleWithWebIdentity", "profile", "allowedAccountIds")

Place = tuple[str | None, tuple[Any, ...]]


def region_of(
    props: Mapping[str, Any],
    provider: Mapping[str, Any],
    stack_config: Mapping[str, Any] = MappingProxyType({}),
) -> str | None:
    """The region a resource lives in: its own `region` input, else its provider's, else the stack's
    `aws:region` when `stack_config` is given; None when nothing says (the default provider's region, the same
    for every such resource). A region unknown in preview raises."""
    return get_text(props, "region") or get_text(provider, "region") or get_text(stack_config, "aws:region")


def place_of(props: Mapping[str, Any], provider: Mapping[str, Any]) -> Place:
    """(region, account settings) of a resource; a region unknown in preview raises."""
    return region_of(props, provider), tuple(repr(plain(get(provider, key))) for key in _ACCOUNT_INPUTS)
