"""Per-app database identities: the bootstrap script against a real PostgreSQL, the URLs, the config rules.

The script test starts a throwaway PostgreSQL server (Debian's `postgresql` package, which scripts/check
installs where it can) with RDS's own roles created as RDS creates them, runs the script as a non-superuser
master with CREATEROLE (as RDS's master is), and runs it again to prove it idempotent.
"""

from __future__ import annotations

import copy
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from components.database_users import DatabaseUser, bootstrap_sql, database_url, script_digest
from paved.config import load_stack_config
from paved.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _user(app: str, auth: str = "password", reads: tuple[str, ...] = (), version: int = 1) -> DatabaseUser:
    return DatabaseUser(
        app=app,
        role=app.replace("-", "_"),
        auth=auth,  # type: ignore[arg-type]
        read_roles=reads,
        url_parameters=(),
        password_version=version,
    )


# --- the script, on a real server -----------------------------------------------------------------------


class _Server:
    def __init__(self, bin_dir: str, root: Path, port: int) -> None:
        self.bin_dir, self.root, self.port = bin_dir, root, port

    def psql(self, *args: str, user: str, database: str = "app", env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [
                f"{self.bin_dir}/psql",
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                *args,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGPASSWORD": "master-password", **(env or {})},
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        return done.stdout.strip()


def _run_as_postgres(command: list[str]) -> None:
    # initdb and the server refuse to run as root; Debian's package creates the `postgres` user.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    if not _BINARIES:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): `apt-get install postgresql`")
    bin_dir = _BINARIES[-1]
    root = Path(tempfile.mkdtemp(prefix="paved-pg-"))
    os.chmod(root, 0o777)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"
    _run_as_postgres(
        [
            f"{bin_dir}/initdb",
            "-D",
            str(data),
            "--auth=trust",
            "--username=postgres",
        ]
    )
    # Host connections authenticate with SCRAM, so the apps' passwords are really checked.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    _run_as_postgres(
        [
            f"{bin_dir}/pg_ctl",
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-k {root} -p {port} -c listen_addresses=127.0.0.1",
            "start",
        ]
    )
    server = _Server(bin_dir, root, port)
    try:
        # What RDS has before paved runs: a CREATEROLE master that owns the database, rds_iam (which the
        # master may grant) and, with a proxy, rdsproxyadmin.
        setup = (
            "CREATE ROLE paved_admin LOGIN CREATEROLE PASSWORD 'master-password';"
            "CREATE ROLE rds_iam; GRANT rds_iam TO paved_admin WITH ADMIN OPTION;"
            "CREATE ROLE rdsproxyadmin LOGIN;"
        )
        server.psql(
            "-c", setup, "-c", "CREATE DATABASE app OWNER paved_admin", user="postgres", database="postgres"
        )
        yield server
    finally:
        _run_as_postgres([f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _bootstrap(server: _Server, users: list[DatabaseUser], passwords: dict[str, str]) -> None:
    script = Path(server.root) / f"bootstrap-{script_digest(bootstrap_sql(users, database='app'))}.sql"
    script.write_text(bootstrap_sql(users, database="app"))
    env = {user.password_env: passwords[user.role] for user in users if user.auth == "password"}
    server.psql("-f", str(script), user="paved_admin", env=env)


_STATE = """
SELECT string_agg(r.rolname || ':' || r.rolcanlogin || ':' || (r.rolpassword IS NOT NULL)
       || ':' || pg_has_role(r.rolname, 'rds_iam', 'MEMBER'), ',' ORDER BY r.rolname)
  FROM pg_authid r WHERE r.rolname IN ('api', 'worker_x');
SELECT string_agg(nspname || ':' || pg_get_userbyid(nspowner) || ':' || coalesce(nspacl::text, ''), ','
       ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('api', 'worker_x');
SELECT datacl::text FROM pg_database WHERE datname = 'app';
SELECT count(*) FROM pg_default_acl;
"""


def test_bootstrap_creates_logins_grants_and_is_idempotent(server: _Server) -> None:
    users = [_user("api"), _user("worker-x", "iam", reads=("api",))]
    passwords = {"api": "Secret1 'with' \"quotes\" and spaces"}
    _bootstrap(server, users, passwords)
    first = server.psql("-c", _STATE, user="postgres")
    _bootstrap(server, users, passwords)
    assert server.psql("-c", _STATE, user="postgres") == first

    # The password user logs in over TCP with SCRAM, and is not an IAM user.
    assert server.psql("-c", "SELECT current_user", user="api", env={"PGPASSWORD": passwords["api"]}) == "api"
    assert server.psql("-c", "SELECT pg_has_role('api', 'rds_iam', 'MEMBER')", user="postgres") == "f"
    # The IAM user is in rds_iam and has no password of its own.
    iam = (
        "SELECT pg_has_role('worker_x', 'rds_iam', 'MEMBER'), rolpassword IS NULL "
        "FROM pg_authid WHERE rolname = 'worker_x'"
    )
    assert server.psql("-c", iam, user="postgres") == "t|t"
    # Only the app roles, the owner and the proxy's health-check role may connect.
    acl = server.psql("-c", "SELECT datacl::text FROM pg_database WHERE datname = 'app'", user="postgres")
    grants = dict(entry.split("/")[0].split("=") for entry in acl.strip("{}").split(","))
    assert "c" not in grants[""]  # PUBLIC
    assert {role for role, rights in grants.items() if "c" in rights} == {
        "paved_admin",
        "rdsproxyadmin",
        "api",
        "worker_x",
    }
    # Each app owns its schema, first on its search_path; a reader sees tables created later, read-only.
    server.psql(
        "-c",
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)",
        user="api",
        env={"PGPASSWORD": passwords["api"]},
    )
    assert (
        server.psql("-c", "SELECT schemaname FROM pg_tables WHERE tablename = 'orders'", user="postgres")
        == "api"
    )
    as_reader = [
        "SET ROLE worker_x; SELECT count(*) FROM api.orders",
        "SET ROLE worker_x; DELETE FROM api.orders",
    ]
    assert server.psql("-c", as_reader[0], user="postgres").endswith("1")
    with pytest.raises(AssertionError, match="permission denied"):
        server.psql("-c", as_reader[1], user="postgres")


def test_switching_a_user_to_iam_and_back_moves_it_in_and_out_of_rds_iam(server: _Server) -> None:
    _bootstrap(server, [_user("flip", "iam")], {})
    member = "SELECT pg_has_role('flip', 'rds_iam', 'MEMBER')"
    assert server.psql("-c", member, user="postgres") == "t"
    _bootstrap(server, [_user("flip")], {"flip": "back-to-a-password"})
    assert server.psql("-c", member, user="postgres") == "f"
    assert server.psql("-c", "SELECT 1", user="flip", env={"PGPASSWORD": "back-to-a-password"}) == "1"


# --- the script, as text ----------------------------------------------------------------------------------


def test_script_holds_no_password_and_names_a_new_job_per_change() -> None:
    users = [_user("api")]
    script = bootstrap_sql(users, database="app")
    assert "\\getenv api_password PAVED_PASSWORD_API" in script
    assert "PASSWORD :'api_password'" in script and "GRANT rds_iam" not in script
    # A new password version is a new script, so a new Job sets the new password; nothing else changes it.
    assert script_digest(bootstrap_sql([_user("api", version=2)], database="app")) != script_digest(script)
    assert script_digest(bootstrap_sql(users, database="app")) == script_digest(script)


def test_database_url_percent_encodes_and_carries_tls() -> None:
    user = DatabaseUser("api", "api", "password", (), (("schema", "api"),), 1)
    url = database_url(
        user,
        host="db.example",
        port=5432,
        database="app",
        password="p@ss/w:rd",
        tls={"sslmode": "verify-full"},
    )
    parts = urlsplit(url)
    assert parts.password == "p%40ss%2Fw%3Ard" and parts.username == "api"
    assert parts.hostname == "db.example" and parts.port == 5432 and parts.path == "/app"
    assert parse_qs(parts.query) == {"sslmode": ["verify-full"], "schema": ["api"]}
    iam = database_url(
        _user("worker", "iam"), host="h", port=5432, database="app", password=None, tls={"sslmode": "require"}
    )
    assert urlsplit(iam).password is None
    # The app's own parameters win over paved's TLS defaults (a CA bundle baked into the image, say).
    verified = DatabaseUser("api", "api", "password", (), (("sslmode", "verify-full"),), 1)
    url = database_url(
        verified, host="h", port=5432, database="app", password="p", tls={"sslmode": "require"}
    )
    assert parse_qs(urlsplit(url).query) == {"sslmode": ["verify-full"]}


# --- config -----------------------------------------------------------------------------------------------


def _raw(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def _app(raw: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    return next((index, app) for index, app in enumerate(raw["paved:apps"]) if app["name"] == name)


def _problems(raw: dict[str, Any], stack: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    return {problem.path: problem.hint for problem in caught.value.problems}


def test_one_auth_scheme_per_proxy() -> None:
    raw = copy.deepcopy(_raw("prod"))
    index, worker = _app(raw, "worker")
    worker["database"]["auth"] = "iam"
    problems = _problems(raw, "prod")
    assert list(problems) == [f"paved:apps[{index}].database.auth"]
    assert "proxy" in problems[f"paved:apps[{index}].database.auth"]
    # Without a proxy (staging) apps may mix: each connects to the instance as itself.
    assert load_stack_config(_raw("staging"), "staging").apps


def test_database_url_is_paveds_and_reads_name_other_database_apps() -> None:
    raw = copy.deepcopy(_raw("prod"))
    index, api = _app(raw, "api")
    api["secrets"].append("DATABASE_URL")
    raw["paved:secrets"]["DATABASE_URL"] = {}
    worker_index, worker = _app(raw, "worker")
    worker["database"]["readSchemas"] = ["web"]
    problems = _problems(raw, "prod")
    assert f"paved:apps[{index}].secrets" in problems
    assert f"paved:apps[{worker_index}].database.readSchemas[0]" in problems


def test_reserved_role_names_are_rejected() -> None:
    raw = copy.deepcopy(_raw("prod"))
    index, api = _app(raw, "api")
    api["name"] = "rds-thing"
    assert f"paved:apps[{index}].name" in _problems(raw, "prod")
