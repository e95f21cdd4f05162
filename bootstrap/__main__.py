"""paved's bootstrap: what exists once per AWS account and region, for every paved stack in it.

Config is validated before any resource is declared, as for the app stacks.
"""

import pulumi

from components.account import GithubOidcProvider, RegistrySettings
from paved.bootstrap_config import load_bootstrap_from_pulumi

config = load_bootstrap_from_pulumi()
github = GithubOidcProvider("github", tags=config.tags)
RegistrySettings("registry", config.registry, tags=config.tags)

pulumi.export("region", config.region)
pulumi.export("github_oidc_provider_arn", github.arn)
