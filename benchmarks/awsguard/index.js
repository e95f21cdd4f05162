const { AwsGuard } = require("@pulumi/awsguard");
// acm-certificate-expiration calls AWS; nothing else does.
new AwsGuard({ all: "mandatory", acmCertificateExpiration: "disabled" });
