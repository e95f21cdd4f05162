"""The network (components/network.py): its config rules."""

import pytest

from tests.stack_config import Mutation, assert_rule_reports_path_and_hint, case, section

# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", section("paved:network", {"cidr": "10.0.0.0/24"}), "paved:network.cidr", "cidr-prefix"),
    case("prod", section("paved:network", {"cidr": "10.0.0.1/16"}), "paved:network.cidr", "cidr-host-bits"),
    case("prod", section("paved:network", {"cidr": "fd00::/16"}), "paved:network.cidr", "cidr-ipv4"),
    case("staging", section("paved:network", {"azCount": 4}), "paved:network.azCount", "az-count-range"),
    case("prod", section("paved:network", {"azCount": 2}), "paved:network.azCount", "prod-three-azs"),
    case(
        "prod",
        section("paved:network", {"natGateways": "single"}),
        "paved:network.natGateways",
        "prod-nat-per-az",
    ),
    case(
        "staging",
        section("paved:network", {"natGateways": "none"}),
        "paved:network.natGateways",
        "nat-values",
    ),
    case(
        "staging",
        section("paved:network", {"flowLogRetentionDays": 31}),
        "paved:network.flowLogRetentionDays",
        "cloudwatch-retention",
    ),
    case(
        "staging",
        section("paved:network", {"interfaceEndpoints": ["sts", "s3"]}),
        "paved:network.interfaceEndpoints[1]",
        "interface-endpoints",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)
