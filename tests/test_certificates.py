"""The domain and its certificates (components/certificates.py): config rules."""

import pytest

from tests.stack_config import Mutation, assert_rule_reports_path_and_hint, case, section

# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

US_EAST_1_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
EU_WEST_1_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
NO_ZONE = {"paved:domain": {"name": "example.com"}}
RULE_CASES = [
    case("prod", section("paved:domain", {"name": "Example_com"}), "paved:domain.name", "domain-name"),
    case("prod", lambda raw: {**raw, **NO_ZONE}, "paved:domain.certificateArn", "zone-or-alb-cert"),
    case("prod", lambda raw: {**raw, **NO_ZONE}, "paved:domain.cloudfrontCertificateArn", "zone-or-cf-cert"),
    case(
        "prod",
        section("paved:domain", {"cloudfrontCertificateArn": EU_WEST_1_CERT}),
        "paved:domain.cloudfrontCertificateArn",
        "cloudfront-cert-in-us-east-1",
    ),
    case(
        "prod",
        section("paved:domain", {"certificateArn": US_EAST_1_CERT}),
        "paved:domain.certificateArn",
        "alb-cert-in-stack-region",
    ),
    case(
        "prod",
        section("paved:domain", {"certificateArn": "arn:aws:iam::1:x"}),
        "paved:domain.certificateArn",
        "arn",
    ),
    case("prod", section("paved:domain", {"hostedZoneId": "zone"}), "paved:domain.hostedZoneId", "zone-id"),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)
