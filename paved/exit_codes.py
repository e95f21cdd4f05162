"""The exit codes of `paved preview`, `paved flows` and `paved drill cleanup` (README), which scripts and CI
read. For `drill cleanup`, BLOCKED means a deletion failed or the instances could not be listed."""

from enum import IntEnum


class ExitCode(IntEnum):
    CLEAN = 0
    # A mandatory policy violation or a failing wiring flow, or the program or a pack failed.
    BLOCKED = 1
    # The stack's or project's configuration or a policy pack's config: every problem is listed.
    BAD_CONFIG = 2
    # The same code as BAD_CONFIG, and click's own for a usage error: both are fixed before anything can run.
    BAD_USAGE = 2
