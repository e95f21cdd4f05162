"""paved's bootstrap: what exists once per AWS account and region, for every paved stack in it.

Config is validated before any resource is declared, as for the app stacks.
"""

import pulumi

from components.account import GithubOidcProvider, GithubRoles, RegistrySettings
from components.application_signals import ApplicationSignals
from components.audit import AccountAudit
from components.runner import DeployRunners
from paved.bootstrap_config import load_bootstrap_from_pulumi

config = load_bootstrap_from_pulumi()
github = GithubOidcProvider("github", tags=config.tags)
roles = GithubRoles("github", config.github, provider=github, tags=config.tags)
RegistrySettings("registry", config.registry, tags=config.tags)
AccountAudit("audit", config.audit, tags=config.tags)
ApplicationSignals("application-signals", config.application_signals, tags=config.tags)
runners = DeployRunners("runners", config.runners, repository=config.github.repository, tags=config.tags)

pulumi.export("region", config.region)
pulumi.export("github_oidc_provider_arn", github.arn)
# The workflows' variables: PAVED_PREVIEW_ROLE_ARN, and PAVED_DEPLOY_ROLE_ARN in each environment.
pulumi.export("github_preview_role_arn", roles.preview_role_arn)
pulumi.export("github_deploy_role_arns", roles.deploy_role_arns)
# Each app stack's paved:cluster.deployer.securityGroupIds; the runners' connection is completed by hand once.
pulumi.export("runner_security_group_ids", runners.security_group_ids)
pulumi.export("runner_projects", runners.project_names)
pulumi.export("github_connection_arn", runners.connection_arn)
