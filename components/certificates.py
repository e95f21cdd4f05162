"""ACM certificates validated through a Route 53 zone, for a domain and all its first-level subdomains."""

import re
from collections.abc import Iterator, Mapping
from typing import Annotated

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator

from paved.catalogues import region_problem
from paved.errors import ConfigProblem, invalid
from paved.fields import ConfigModel, DnsName, RuleContext, matching

# In the aws partition, the only one paved supports (paved/catalogues.py).
_ACM_ARN = re.compile(r"arn:aws:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}", re.ASCII)


def certificate_region(arn: str) -> str:
    """The region of an ACM certificate ARN (which `AcmArn` has already validated)."""
    match = _ACM_ARN.fullmatch(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not an ACM certificate ARN")
    return match["region"]


def _in_us_east_1(arn: str) -> str:
    # CloudFront only uses ACM certificates from us-east-1:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    if certificate_region(arn) != "us-east-1":
        raise invalid(
            f"certificate is in {certificate_region(arn)}, not us-east-1",
            "CloudFront only accepts ACM certificates issued in us-east-1; request one there",
        )
    return arn


def _in_a_region(arn: str) -> str:
    problem = region_problem(certificate_region(arn))
    if problem is not None:
        raise invalid(f"certificate region: {problem[0]}", problem[1])
    return arn


AcmArn = Annotated[
    str,
    matching(
        _ACM_ARN.pattern,
        "an ACM certificate ARN",
        "use arn:aws:acm:<region>:<account>:certificate/<id>",
    ),
    AfterValidator(_in_a_region),
]


class DomainArgs(ConfigModel):
    name: DnsName
    hosted_zone_id: (
        Annotated[
            str, matching(r"Z[A-Z0-9]{1,32}", "a Route 53 hosted zone ID", "use e.g. Z0123456789ABCDEFGHIJ")
        ]
        | None
    ) = None
    certificate_arn: AcmArn | None = None
    cloudfront_certificate_arn: Annotated[AcmArn, AfterValidator(_in_us_east_1)] | None = None

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.hosted_zone_id is None:
            # Without a zone we cannot DNS-validate new certificates, so both must be supplied.
            missing = {
                "certificateArn": self.certificate_arn,
                "cloudfrontCertificateArn": self.cloudfront_certificate_arn,
            }
            for key in (key for key, arn in missing.items() if arn is None):
                yield ConfigProblem(
                    f"{path}.{key}",
                    "is required when hostedZoneId is not set",
                    "set hostedZoneId so paved can issue DNS-validated certificates, or supply both "
                    "certificateArn and cloudfrontCertificateArn",
                )
        if self.certificate_arn and ctx.region and certificate_region(self.certificate_arn) != ctx.region:
            yield ConfigProblem(
                f"{path}.certificateArn",
                f"certificate is in {certificate_region(self.certificate_arn)}, not aws:region {ctx.region}",
                "an Application Load Balancer only uses ACM certificates from its own region",
            )


class DnsCertificate(pulumi.ComponentResource):
    """A certificate for `domain` and `*.domain`, DNS-validated in `zone_id`.

    Pass a us-east-1 provider in `opts` for CloudFront, which only uses certificates from us-east-1:
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    ACM asks for the same validation CNAME for a domain in every region of an account, so a second
    certificate for the same domain passes `validation_fqdn` of the first instead of writing the record
    again: https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
    """

    certificate_arn: pulumi.Output[str]
    validation_fqdn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        domain: str,
        zone_id: str,
        validation_fqdn: pulumi.Input[str] | None = None,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:certificates:DnsCertificate", name, None, opts)
        certificate = aws.acm.Certificate(
            name,
            domain_name=domain,
            subject_alternative_names=[f"*.{domain}"],
            validation_method="DNS",
            tags=dict(tags),
            # A renewed or changed certificate must exist before listeners and distributions let go of
            # the old one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        if validation_fqdn is None:
            # The apex and its wildcard share one validation CNAME, so one record validates both.
            option = certificate.domain_validation_options[0]
            validation_fqdn = aws.route53.Record(
                f"{name}-validation",
                zone_id=zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                # ACM asks for the same CNAME again for any certificate of this domain in this account
                # (an older or hand-made one may have written it already).
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self),
            ).fqdn
        validation = aws.acm.CertificateValidation(
            name,
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_fqdn],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.certificate_arn = validation.certificate_arn
        self.validation_fqdn = pulumi.Output.from_input(validation_fqdn)
        self.register_outputs({"certificate_arn": self.certificate_arn})
