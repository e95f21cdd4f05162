"""ACM certificates validated through a Route 53 zone, for a domain and all its first-level subdomains."""

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


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
