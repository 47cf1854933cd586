"""The deployment files (Dockerfile, docker-compose.yml, .dockerignore) say what the app needs.

No Docker engine is needed: the files are parsed and checked against the code they run.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from events_api.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

SETTING_NAMES = {name.upper() for name in Settings.model_fields}
ROOT_USERS = {"root", "0"}


# --- helpers -------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def service(name: str) -> dict[str, Any]:
    services = compose().get("services") or {}
    assert name in services, f"docker-compose.yml has no service {name!r}"
    svc: dict[str, Any] = services[name]
    return svc


def environment_names(svc: dict[str, Any]) -> set[str]:
    """Variable names of a service's `environment`, in map or list form."""
    env = svc.get("environment") or {}
    if isinstance(env, dict):
        return {str(key) for key in env}
    return {str(item).split("=", 1)[0] for item in env}


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    return dict(str(item).split("=", 1) for item in env if "=" in str(item))


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per Dockerfile instruction; continuations joined, comments dropped."""
    result: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # blank lines and comments may also sit inside a continuation
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        keyword, _, args = current.partition(" ")
        result.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "Dockerfile ends inside a line continuation"
    return result


def stages() -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """Global instructions before the first FROM, then one list per stage (each starts at FROM)."""
    head: list[tuple[str, str]] = []
    parts: list[list[tuple[str, str]]] = []
    for instruction in instructions(DOCKERFILE.read_text()):
        if instruction[0] == "FROM":
            parts.append([instruction])
        elif parts:
            parts[-1].append(instruction)
        else:
            head.append(instruction)
    return head, parts


def final_stage() -> list[tuple[str, str]]:
    _, parts = stages()
    assert parts, "Dockerfile has no FROM"
    return parts[-1]


def env_names(args: str) -> set[str]:
    """Names set by one ENV instruction (`ENV A=1 B=2` or the legacy `ENV A 1`)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]}
    return {word.split("=", 1)[0] for word in words}


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    assert all(isinstance(item, str) for item in value), f"not exec form: {args}"
    return value


# --- docker-compose.yml --------------------------------------------------------------------


def test_compose_db_has_pg_isready_healthcheck_and_named_volume() -> None:
    db = service("db")
    assert str(db.get("image", "")).startswith("postgres:16")
    test = db.get("healthcheck", {}).get("test")
    command = " ".join(test) if isinstance(test, list) else str(test)
    assert "pg_isready" in command, f"db healthcheck does not use pg_isready: {test!r}"

    mounts = [str(v) for v in db.get("volumes", [])]
    assert any(m.split(":")[:2] == ["pgdata", "/var/lib/postgresql/data"] for m in mounts), mounts
    assert "pgdata" in (compose().get("volumes") or {}), "the pgdata volume is not declared"


def test_compose_api_waits_for_healthy_db_and_finished_init() -> None:
    depends = service("api").get("depends_on")
    assert isinstance(depends, dict), "api depends_on needs conditions (long form)"
    assert depends.get("db", {}).get("condition") == "service_healthy"
    assert depends.get("init", {}).get("condition") == "service_completed_successfully"
    init = service("init")
    assert init.get("depends_on", {}).get("db", {}).get("condition") == "service_healthy"
    assert str(init.get("restart")) == "no"


def test_compose_environment_names_are_real_settings() -> None:
    checked = 0
    for name in ("api", "init"):
        names = environment_names(service(name))
        assert "DATABASE_URL" in names, f"{name} does not set DATABASE_URL"
        unknown = {n for n in names if n.upper() not in SETTING_NAMES}
        assert not unknown, f"{name} sets variables that Settings never reads: {sorted(unknown)}"
        checked += len(names)
    assert checked


def test_compose_database_url_points_at_the_db_service() -> None:
    db_env = environment(service("db"))
    for name in ("api", "init"):
        url = environment(service(name))["DATABASE_URL"]
        expected = (
            f"postgresql://{db_env['POSTGRES_USER']}:{db_env['POSTGRES_PASSWORD']}"
            f"@db:5432/{db_env['POSTGRES_DB']}"
        )
        assert url == expected, f"{name}: {url}"


def test_compose_api_publishes_port_8000() -> None:
    targets = []
    for port in service("api").get("ports", []):
        if isinstance(port, dict):
            targets.append(str(port.get("target")))
        else:
            # "8000:8000", "127.0.0.1:8000:8000", "8000:8000/tcp"; an int would be YAML's choice
            targets.append(str(port).split("/", 1)[0].rsplit(":", 1)[-1])
    assert "8000" in targets, f"api does not publish container port 8000: {targets}"


def test_compose_init_loads_a_catalog_mounted_from_the_repository() -> None:
    init = service("init")
    command = init.get("command")
    text = " ".join(command) if isinstance(command, list) else str(command)
    assert "events-api migrate" in text
    match = re.search(r"events-api catalog load (\S+)", text)
    assert match, f"init does not load a catalog: {text}"
    target = match.group(1)
    sources = {
        str(v).split(":")[1]: str(v).split(":")[0] for v in init.get("volumes", []) if ":" in str(v)
    }
    assert target in sources, f"{target} is not mounted into init"
    assert (ROOT / sources[target]).is_file(), f"{sources[target]} does not exist"


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    head, parts = stages()
    assert len(parts) > 1, "Dockerfile is not multi-stage"
    defaults = dict(arg.split("=", 1) for keyword, arg in head if keyword == "ARG" and "=" in arg)
    for stage in parts:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)
        assert image.startswith("python:3.11-slim"), f"unexpected base image {image}"


def test_dockerfile_final_stage_copies_the_venv_with_migrations_inside() -> None:
    """The migrations travel inside the package (setup.py's build step), not beside it."""
    copies = [args for keyword, args in final_stage() if keyword == "COPY"]
    assert any(c.startswith("--from=") and "/opt/venv" in c for c in copies), copies
    _, parts = stages()
    builder_copies = [args for keyword, args in parts[0] if keyword == "COPY"]
    sources = {
        word.rstrip("/") for c in builder_copies for word in c.split()[:-1] if "--" not in word
    }
    assert {"alembic.ini", "migrations", "setup.py", "MANIFEST.in", "src"} <= sources, sources
    workdirs = [args for keyword, args in final_stage() if keyword == "WORKDIR"]
    assert workdirs, "the final stage sets no WORKDIR"
    assert workdirs[-1] == "/app"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    keywords = [keyword for keyword, _ in stage]
    users = [(i, args) for i, (keyword, args) in enumerate(stage) if keyword == "USER"]
    assert users, "the final stage has no USER"
    index, user = users[-1]
    assert user.split(":")[0] not in ROOT_USERS, f"runs as {user}"
    assert "CMD" in keywords
    assert index < keywords.index("CMD"), "USER comes after CMD"


def test_dockerfile_env_names_are_settings_or_python() -> None:
    names = set()
    for keyword, args in final_stage():
        if keyword == "ENV":
            names |= env_names(args)
    assert {"PATH", "EVENTS_API_DATA_DIR"} <= names, names
    app_names = {n for n in names if n != "PATH" and not n.startswith(("PYTHON", "PIP_"))}
    unknown = {n for n in app_names if n.upper() not in SETTING_NAMES}
    assert not unknown, f"ENV sets variables that Settings never reads: {sorted(unknown)}"


def test_dockerfile_healthcheck_probes_liveness() -> None:
    checks = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    assert checks, "no HEALTHCHECK"
    check = checks[-1]
    assert check.upper() != "NONE"
    _, _, command = check.partition("CMD ")
    argv = exec_form(command.strip())
    assert argv[:2] == ["python", "-c"], argv
    assert "http://127.0.0.1:8000/health/live" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")  # a syntax error would mark it unhealthy forever


def final_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, args in final_stage():
        if keyword == "ENV":
            words = shlex.split(args)
            if words and "=" not in words[0]:
                values[words[0]] = " ".join(words[1:])
            else:
                for word in words:
                    name, _, setting = word.partition("=")
                    values[name] = setting
    return values


def test_dockerfile_cmd_serves_in_exec_form() -> None:
    """`serve` on all interfaces, port 8000, several workers: by option or by setting."""
    cmds = [args for keyword, args in final_stage() if keyword == "CMD"]
    assert cmds, "no CMD"
    argv = exec_form(cmds[-1])
    assert argv[:2] == ["events-api", "serve"], argv
    env = final_env()

    def effective(option: str, setting: str) -> str | None:
        return argv[argv.index(option) + 1] if option in argv else env.get(setting)

    assert effective("--host", "SERVER_HOST") == "0.0.0.0"
    assert effective("--port", "SERVER_PORT") == "8000"
    assert int(effective("--workers", "SERVER_WORKERS") or 1) >= 2
    assert ("EXPOSE", "8000") in final_stage()


def test_dockerfile_installs_the_lock_with_hashes() -> None:
    _, parts = stages()
    builder = parts[0]
    copies = " ".join(args for keyword, args in builder if keyword == "COPY")
    assert "requirements.lock" in copies
    runs = [args for keyword, args in builder if keyword == "RUN"]
    lock_installs = [r for r in runs if "-r requirements.lock" in r]
    assert lock_installs, runs
    assert "--require-hashes" in lock_installs[0]
    assert "--no-deps" in lock_installs[0]  # nothing outside the lock
    # the project itself adds no unlocked dependency either
    project = [r for r in runs if ".whl" in r]
    assert project
    assert all("--no-deps" in r for r in project), project


def test_dockerfile_final_stage_has_no_build_tools() -> None:
    runs = " ".join(args for keyword, args in final_stage() if keyword == "RUN")
    found = re.findall(r"\b(build-essential|gcc|g\+\+|clang|[\w.+-]+-dev)\b", runs)
    assert not found, f"the final stage installs build tools: {found}"


# --- .dockerignore -------------------------------------------------------------------------


def test_dockerignore_keeps_the_build_inputs_and_drops_the_rest() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
            for p in patterns
        )

    needed_files = ("pyproject.toml", "README.md", "src", "alembic.ini", "migrations")
    for needed in (*needed_files, "requirements.lock", "setup.py", "MANIFEST.in"):
        assert not ignored(needed), f".dockerignore drops {needed}, which the build copies"
    for unwanted in (".git", ".venv", "tests", ".events-api", "__pycache__", "x.egg-info"):
        assert ignored(unwanted), f".dockerignore keeps {unwanted}"


# --- the nginx reverse proxy ---------------------------------------------------------------

NGINX_CONF = ROOT / "deploy" / "nginx" / "events-api.conf"


def nginx_directives() -> list[str]:
    """The config's directives, one string each, comments dropped."""
    text = "\n".join(line.split("#", 1)[0] for line in NGINX_CONF.read_text().splitlines())
    return [" ".join(d.split()) for d in re.split(r"[;{}]", text) if d.strip()]


def test_compose_nginx_serves_the_api_under_webservice() -> None:
    nginx = service("nginx")
    assert "nginx" in str(nginx.get("image", ""))
    mounts = {
        str(v).split(":")[1]: str(v).split(":")[0]
        for v in nginx.get("volumes", [])
        if ":" in str(v)
    }
    source = mounts.get("/etc/nginx/conf.d/default.conf")
    assert source is not None, mounts
    assert (ROOT / source).resolve() == NGINX_CONF.resolve()
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"

    directives = nginx_directives()
    listens = [d.split()[1] for d in directives if d.startswith("listen ")]
    published = [str(p).split("/", 1)[0].rsplit(":", 1)[-1] for p in nginx.get("ports", [])]
    assert listens, "nginx listens nowhere"
    assert listens[0] in published, (listens, published)
    assert "location /webservice/" in directives
    # the upstream is the api service on the port the API listens on
    upstream = [d.split()[1] for d in directives if d.startswith("server ")]
    assert upstream == ["api:8000"], upstream
    assert "proxy_pass http://events_api/" in directives  # trailing slash: strips /webservice
    for header in (
        "proxy_set_header X-Forwarded-Prefix /webservice",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for",
        "proxy_set_header X-Forwarded-Proto $scheme",
        "proxy_set_header X-Request-ID $events_api_request_id",
    ):
        assert header in directives, header
    assert "location = /webservice/metrics" in directives  # metrics stay internal
    # failed requests go to the next server, but never a POST already sent (non_idempotent)
    (next_upstream,) = [d for d in directives if d.startswith("proxy_next_upstream ")]
    assert "non_idempotent" not in next_upstream
    assert {"error", "timeout", "http_502", "http_503"} <= set(next_upstream.split()[1:])


def test_compose_api_trusts_exactly_the_nginx_address() -> None:
    nginx_networks = service("nginx")["networks"]
    ((network, config),) = nginx_networks.items()
    address = ipaddress.ip_address(config["ipv4_address"])
    subnets = [
        ipaddress.ip_network(c["subnet"]) for c in compose()["networks"][network]["ipam"]["config"]
    ]
    assert any(address in subnet for subnet in subnets)
    api = service("api")
    assert network in api["networks"]
    assert environment(api)["FORWARDED_ALLOW_IPS"] == str(address)
    assert Settings(forwarded_allow_ips=str(address)).forwarded_allow_ips == str(address)
    # every service shares that network (nginx reaches api, api and init reach db)
    for name in ("db", "init", "api"):
        assert network in service(name)["networks"], name


def test_compose_runs_several_api_workers() -> None:
    workers = environment(service("api")).get("SERVER_WORKERS")
    assert workers is not None
    assert int(workers) >= 2


def test_compose_long_running_services_have_healthchecks() -> None:
    for name in ("db", "api", "nginx"):
        check = service(name).get("healthcheck", {})
        assert check.get("test"), name
        assert not check.get("disable"), name
    api_test = " ".join(service("api")["healthcheck"]["test"])
    assert "/health/ready" in api_test
    nginx_test = " ".join(service("nginx")["healthcheck"]["test"])
    assert "/webservice/health/live" in nginx_test


def test_compose_init_creates_the_demo_user_once() -> None:
    text = " ".join(service("init")["command"])
    assert "events-api api-user create demo" in text
    assert "already exists" in text  # a restart finds the user and goes on
    assert "exit 1" in text  # any other failure stops the stack


def test_compose_publishes_the_api_on_loopback_only() -> None:
    for port in service("api").get("ports", []):
        assert str(port).startswith("127.0.0.1:"), port


def test_compose_nginx_is_unprivileged() -> None:
    image = str(service("nginx")["image"])
    assert "unprivileged" in image or str(service("nginx").get("user", "0")) not in ROOT_USERS


# --- packaging -----------------------------------------------------------------------------


def test_lock_pins_every_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = Version(match.group(2))
    assert pins
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )
        assert requirement.specifier, f"{name} has no version range in pyproject.toml"
    hashes = (ROOT / "requirements.lock").read_text().count("--hash=sha256:")
    assert hashes >= len(pins)
