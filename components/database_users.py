"""Per-app PostgreSQL identities: who logs in as whom, the idempotent SQL that creates them, and the
connection string each app gets.

Every app that lists `database` gets its own LOGIN role, named after the app (`-` becomes `_`), owning a
schema of the same name. PostgreSQL's default `search_path` is `"$user", public`, so unqualified names
resolve to the app's own schema with every driver. Nobody but the bootstrap Job uses the master user.

Two auth modes (README, "Database credentials"):
- `password`: a generated password in the app's own secret `<stack>/database/users/<role>` (JSON
  `username`, `password` and the full `url`). The proxy logs in with that secret
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-secrets-arns.html).
- `iam`: `GRANT rds_iam`; the app signs a token for the host it connects to, and the URL holds no password
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html). A password
  user must never be in rds_iam: IAM would then take over its login.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlencode

import pulumi

if TYPE_CHECKING:
    from components.workload import AppArgs

# The role every RDS Proxy logs in as for its health checks; it needs CONNECT on the database.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.troubleshooting.html
PROXY_ADMIN_ROLE = "rdsproxyadmin"
IAM_ROLE = "rds_iam"


@dataclass(frozen=True)
class DatabaseUser:
    app: str
    role: str
    auth: Literal["password", "iam"]
    read_roles: tuple[str, ...]  # roles (and so schemas) this one may read
    url_parameters: tuple[tuple[str, str], ...]
    password_version: int

    @property
    def password_env(self) -> str:
        """The environment variable that hands this user's password to the bootstrap Job."""
        return f"PAVED_PASSWORD_{self.role.upper()}"


def database_users(apps: Iterable["AppArgs"]) -> list[DatabaseUser]:
    roles = {app.name: app.database_role for app in apps}
    return [
        DatabaseUser(
            app=app.name,
            role=app.database_role,
            auth=app.database.auth,
            read_roles=tuple(roles[other] for other in app.database.read_schemas),
            url_parameters=tuple(sorted(app.database.url_parameters.items())),
            password_version=app.database.password_version,
        )
        for app in apps
        if app.database is not None
    ]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _if(condition: str, statement: str) -> str:
    """A statement run only when `condition` holds: psql's \\gexec runs each row the query returns."""
    return f"SELECT {_literal(statement)} WHERE {condition}\n\\gexec"


def bootstrap_sql(users: Sequence[DatabaseUser], *, database: str) -> str:
    """The psql script that brings the roles, schemas and grants to what config says.

    Idempotent: every statement either checks first or is a no-op when repeated (GRANT, IF NOT EXISTS),
    so running it again changes nothing. Passwords never appear in it: psql reads them from the
    environment with \\getenv (psql 15+). ON_ERROR_STOP makes the first failure fail the Job.
    """
    db = _ident(database)
    lines = [
        "\\set ON_ERROR_STOP on",
        "\\set VERBOSITY verbose",
        # Only the roles below may connect; the proxy's own health-check role keeps CONNECT, or every proxy
        # target turns unavailable.
        f"REVOKE CONNECT ON DATABASE {db} FROM PUBLIC;",
        _if(
            f"EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(PROXY_ADMIN_ROLE)})",
            f"GRANT CONNECT ON DATABASE {db} TO {_ident(PROXY_ADMIN_ROLE)}",
        ),
    ]
    for user in users:
        role, literal = _ident(user.role), _literal(user.role)
        # The version is part of the script so that a new password is a new script, and so a new Job.
        version = f" v{user.password_version}" if user.auth == "password" else ""
        lines.append(f"-- app {user.app}: {user.auth}{version}")
        lines.append(
            _if(f"NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal})", f"CREATE ROLE {role} LOGIN")
        )
        if user.auth == "password":
            variable = user.role + "_password"
            lines += [
                f"\\getenv {variable} {user.password_env}",
                f"ALTER ROLE {role} WITH LOGIN PASSWORD :'{variable}';",
                _if(
                    f"EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                    f"JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = {_literal(IAM_ROLE)} "
                    f"AND u.rolname = {literal})",
                    f"REVOKE {IAM_ROLE} FROM {role}",
                ),
            ]
        else:
            lines += [f"ALTER ROLE {role} WITH LOGIN PASSWORD NULL;", f"GRANT {IAM_ROLE} TO {role};"]
        lines += [
            # The master user becomes a member so it may create the role's schema and set its default
            # privileges (PostgreSQL 16+ requires it of a non-superuser; RDS's master is not a superuser).
            f"GRANT {role} TO CURRENT_USER;",
            f"CREATE SCHEMA IF NOT EXISTS {role} AUTHORIZATION {role};",
            f"GRANT CONNECT ON DATABASE {db} TO {role};",
        ]
    for user in users:
        for owner in map(_ident, user.read_roles):
            reader = _ident(user.role)
            lines += [
                f"GRANT USAGE ON SCHEMA {owner} TO {reader};",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA {owner} TO {reader};",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {owner} "
                f"GRANT SELECT ON TABLES TO {reader};",
            ]
    return "\n".join(lines) + "\n"


def script_digest(script: str) -> str:
    """A short digest that names the Job running `script`: a new script is a new Job (Job specs are
    immutable), the same script keeps the Job that already ran it."""
    return hashlib.sha256(script.encode()).hexdigest()[:10]


def database_url(
    user: DatabaseUser,
    *,
    host: str,
    port: int,
    database: str,
    password: str | None,
    tls: Mapping[str, str],
) -> str:
    """`postgresql://role[:password]@host:port/db?sslmode=...`, every part percent-encoded."""
    credentials = quote(user.role, safe="")
    if password is not None:
        credentials += ":" + quote(password, safe="")
    query = urlencode({**tls, **dict(user.url_parameters)})
    return f"postgresql://{credentials}@{host}:{port}/{quote(database, safe='')}?{query}"


@dataclass(frozen=True)
class DatabaseAccess:
    """What the apps' workloads need of the database: where to connect, as whom, and what to wait for."""

    host: pulumi.Input[str]  # the proxy endpoint, or the instance address without a proxy
    port: int
    name: str
    tls: Mapping[str, str]
    users: Mapping[str, DatabaseUser]  # by app name
    secret_arns: Mapping[str, pulumi.Input[str]]  # password users' secrets, by role
    connect_arns: Mapping[str, pulumi.Input[str]]  # IAM users' rds-db:connect resources, by role
    # The role bootstrap Job: no app or migration starts before its roles exist.
    ready: Sequence[pulumi.Resource]
