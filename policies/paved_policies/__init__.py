"""paved-aws: CrossGuard policies for production-ready AWS infrastructure.

Layout: `rule.py` (the pure rule model), `rules/<family>.py` (one pure check per rule, metadata
beside it), `framework.py` (the only pulumi_policy glue), `pack.py` (name -> rule, build).
This package must import only itself, pulumi_policy and the stdlib: under the Pulumi CLI only
requirements.txt is installed, not the `paved` project.
"""
