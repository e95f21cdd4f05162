"""ACM certificate rules: renewal before expiry, and RSA key length.

A certificate is either requested from ACM (`domainName`, validated by DNS or email, or issued by a private
CA) or imported (`certificateBody` and `privateKey`). ACM renews the first kind itself, when it can still
validate the domain; it never renews an imported one. An imported certificate's expiry and key are read off
its PEM (paved_policies.x509) when the preview knows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from paved_policies.props import as_int, get, get_str, get_text, has_value
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)
from paved_policies.x509 import Certificate, parse_certificate

CERTIFICATE = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
ROUTE53_RECORD = "aws:route53/record:Record"

DAYS_CONFIG = "daysToExpiration"
# ACM.1's parameter: Security Hub's default and the range it accepts.
DEFAULT_DAYS, MIN_DAYS, MAX_DAYS = 30, 14, 365
MIN_RSA_BITS = 2048


def _imported(props: Mapping[str, Any], ctx_name: str) -> Certificate | Finding:
    """An imported certificate's parsed PEM, or the violation when it is none; a PEM unknown in preview
    raises."""
    parsed = parse_certificate(get_str(props, "certificateBody") or "")
    if parsed is None:
        return violation(f"Certificate '{ctx_name}': certificateBody is not a PEM certificate.")
    return parsed


def _days(config: Mapping[str, Any]) -> int:
    days = as_int(get(config, DAYS_CONFIG))
    return days if days is not None and MIN_DAYS <= days <= MAX_DAYS else DEFAULT_DAYS


def _validation_in_program(ctx: StackContext) -> bool:
    """Whether the program creates the DNS validation records (from the certificate's
    domainValidationOptions) or waits on them with a CertificateValidation."""
    if ctx.referrers("certificateArn", (CERTIFICATE_VALIDATION,)):
        return True
    return any(ctx.referrers(prop, (ROUTE53_RECORD,)) for prop in ("name", "records"))


@stack_rule(
    name="acm-certificate-renewal",
    description=(
        "ACM certificates renew before they expire: requested ones validate by DNS with the validation "
        "records in the program (or come from a private CA), imported ones are valid for the next 30 days."
    ),
    severity="medium",
    remediation=(
        "Request the certificate with validation_method='DNS', create the Route 53 records from its "
        "domain_validation_options and an aws.acm.CertificateValidation, and keep those records: ACM renews "
        "such certificates itself. Email validation needs someone to approve every renewal. An imported "
        "certificate is never renewed by ACM: re-import a new one before it expires."
    ),
    resource_types=(CERTIFICATE,),
    fsbp=("ACM.1",),
    url="https://docs.aws.amazon.com/acm/latest/userguide/managed-renewal.html",
    config_schema={
        DAYS_CONFIG: {
            "type": "integer",
            "minimum": MIN_DAYS,
            "maximum": MAX_DAYS,
            "default": DEFAULT_DAYS,
            "description": "Days an imported certificate must stay valid (ACM.1's parameter).",
        }
    },
)
def acm_certificate_renewal(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if has_value(props, "certificateBody"):
        imported = _imported(props, ctx.name)
        if isinstance(imported, Finding):
            return imported
        days = _days(ctx.config)
        if imported.not_after - datetime.now(UTC) < timedelta(days=days):
            return violation(
                f"Imported certificate '{ctx.name}' expires {imported.not_after:%Y-%m-%d}, within {days} "
                "days, and ACM never renews imported certificates."
            )
        return compliant()
    # ACM renews private certificates itself while it may use the CA.
    if has_value(props, "certificateAuthorityArn"):
        return compliant()
    method = (get_text(props, "validationMethod") or "").upper()
    if method == "DNS":
        if _validation_in_program(ctx):
            return compliant()
        return violation(
            f"Certificate '{ctx.name}' validates by DNS, but no {ROUTE53_RECORD} or {CERTIFICATE_VALIDATION} "
            "of this program is built from it, so nothing shows the validation records ACM renews with exist."
        )
    return violation(
        f"Certificate '{ctx.name}' has validationMethod {method or '<unset>'}: ACM renews it only after "
        "someone approves the validation email."
    )


@resource_rule(
    name="acm-certificate-rsa-2048",
    description="ACM certificates with RSA keys use at least 2048 bits.",
    severity="high",
    remediation=(
        "Request certificates with key_algorithm unset (RSA_2048) or an RSA_2048+/EC algorithm; re-issue an "
        "imported certificate with an RSA key of 2048 bits or more (or an EC key) and import that."
    ),
    resource_types=(CERTIFICATE,),
    fsbp=("ACM.2",),
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/acm-controls.html#acm-2",
)
def acm_certificate_rsa_2048(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "certificateBody"):
        imported = _imported(props, ctx.name)
        if isinstance(imported, Finding):
            return imported
        if imported.rsa_bits is not None and imported.rsa_bits < MIN_RSA_BITS:
            return violation(f"Imported certificate '{ctx.name}' has a {imported.rsa_bits}-bit RSA key.")
        return compliant()
    # A requested certificate's key is RSA_2048 unless keyAlgorithm says otherwise.
    algorithm = (get_text(props, "keyAlgorithm") or "RSA_2048").upper()
    if algorithm == "RSA_1024":
        return violation(f"Certificate '{ctx.name}' requests a 1024-bit RSA key (keyAlgorithm RSA_1024).")
    return compliant()


RULES = (acm_certificate_renewal, acm_certificate_rsa_2048)
