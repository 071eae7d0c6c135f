"""The Dockerfile and compose.yaml, checked without a Docker engine (none runs here).

Every command they run with the subbuzz image must parse with the real ``subbuzz`` parser,
and every ``SUBBUZZ_*`` variable they pass must be one subbuzz reads, with a usable value.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumer.settings import ConsumerSettings
from server.settings import ServerSettings
from subbuzz.cli import build_parser
from subbuzz.config import (
    CassandraSettings,
    SettingsError,
    setting_variables,
    settings_classes,
)

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]

ROLES = {"serve", "consume", "migrate", "simulate"}
# Roles that finish and exit: no healthcheck, never restarted after a clean exit.
ONE_SHOT_ROLES = {"migrate", "simulate"}


# -- Dockerfile ----------------------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: continuations joined, comment lines dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or (not pending and not line.strip()):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def _stages(instructions: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage (FROM included), by stage name (``AS name``) or index."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for kind, arguments in instructions:
        if kind == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            current = stages[name] = []
        assert current is not None, "the Dockerfile must start with FROM"
        current.append((kind, arguments))
    return stages


STAGES = _stages(_instructions((ROOT / "Dockerfile").read_text()))
# The image that runs is the last stage; the checks below are about it.
DOCKERFILE = list(STAGES.values())[-1]


def _exec_form(keyword: str) -> list[str]:
    found = [arguments for kind, arguments in DOCKERFILE if kind == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    value = json.loads(found[-1])  # the last one wins, as in Docker
    assert isinstance(value, list), f"{keyword} must use the exec (JSON array) form"
    return value


def _copy_sources(arguments: str) -> list[str]:
    parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
    return [source.rstrip("/") for source in parts[:-1]]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for kind, arguments in DOCKERFILE:
        if kind != "ENV":
            continue
        words = shlex.split(arguments)
        if "=" not in words[0]:  # legacy form: ENV NAME value
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            env[name] = value
    return env


def test_image_is_python_311_slim() -> None:
    first = next(arguments for kind, arguments in DOCKERFILE if kind == "FROM")
    assert first.split()[0] == "python:3.11-slim"


def test_the_panel_is_built_from_its_lock_in_a_node_stage_and_shipped() -> None:
    assert "panel" in STAGES, "no `FROM node:... AS panel` stage builds the web panel"
    stage = STAGES["panel"]
    assert stage[0][1].split()[0].startswith("node:20")
    copies = [_copy_sources(arguments) for kind, arguments in stage if kind == "COPY"]
    runs = [arguments for kind, arguments in stage if kind == "RUN"]
    assert copies[0] == ["panel/package.json", "panel/package-lock.json"], (
        "the panel's packages are installed from package.json and the lock before its source"
    )
    assert "npm ci" in runs[0] and "npm run build" in runs[-1]
    shipped = [
        arguments
        for kind, arguments in DOCKERFILE
        if kind == "COPY" and arguments.startswith("--from=panel ")
    ]
    assert shipped, "the final image never copies the built panel"
    destination = shlex.split(shipped[0])[-1]
    panel_dir = _dockerfile_env().get("SUBBUZZ_PANEL_DIR", "")
    workdir = next(arguments for kind, arguments in DOCKERFILE if kind == "WORKDIR")
    assert panel_dir == str(Path(workdir) / destination), (
        "SUBBUZZ_PANEL_DIR must name where the built panel is copied"
    )
    assert ServerSettings.from_env(_dockerfile_env()).panel_dir == panel_dir


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    # Files of the build context; a COPY --from brings another stage's output (the panel).
    copies = [
        i
        for i, (kind, arguments) in enumerate(DOCKERFILE)
        if kind == "COPY" and not arguments.startswith("--from=")
    ]
    installs = [
        i
        for i, (kind, arguments) in enumerate(DOCKERFILE)
        if kind == "RUN" and "pip install" in arguments
    ]
    assert copies and installs
    first_copy = DOCKERFILE[copies[0]][1]
    assert _copy_sources(first_copy) == ["pyproject.toml"], (
        f"the first COPY must copy pyproject.toml alone, not {first_copy!r}"
    )
    source_copies = copies[1:]
    assert source_copies, "the source is never copied"
    assert any(copies[0] < i < source_copies[0] for i in installs), (
        "no `pip install` of the dependencies between COPY pyproject.toml and the source"
    )
    assert any(i > source_copies[-1] for i in installs), "the project itself is never installed"


def test_every_package_and_the_readme_are_copied() -> None:
    copied = {
        source
        for kind, arguments in DOCKERFILE
        if kind == "COPY"
        for source in _copy_sources(arguments)
    }
    needed = set(PYPROJECT["tool"]["setuptools"]["packages"]) | {PYPROJECT["project"]["readme"]}
    if "." not in copied:
        assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"


def test_image_runs_as_a_non_root_user() -> None:
    users = [arguments for kind, arguments in DOCKERFILE if kind == "USER"]
    assert users, "the Dockerfile never leaves root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    last_user = max(i for i, (kind, _) in enumerate(DOCKERFILE) if kind == "USER")
    last_run = max(i for i, (kind, _) in enumerate(DOCKERFILE) if kind == "RUN")
    assert last_user > last_run, "a RUN after the last USER runs as that user: keep USER last"


def test_entrypoint_is_subbuzz_and_the_default_command_parses() -> None:
    assert _exec_form("ENTRYPOINT") == ["subbuzz"]
    assert "subbuzz" in PYPROJECT["project"]["scripts"]
    args = _parse(_exec_form("CMD"))
    assert args.command in ROLES


def test_image_exposes_the_server_and_metrics_ports() -> None:
    exposed = {
        int(port.split("/")[0])
        for kind, arguments in DOCKERFILE
        if kind == "EXPOSE"
        for port in arguments.split()
    }
    env = _dockerfile_env()
    assert ServerSettings.from_env(env).server_port in exposed
    assert ConsumerSettings.from_env(env).metrics_port in exposed


def test_image_settings_are_known_and_valid() -> None:
    env = _dockerfile_env()
    _check_settings("Dockerfile ENV", env)
    # Loopback inside a container cannot be reached from outside it.
    assert ServerSettings.from_env(env).server_host == "0.0.0.0"
    assert ConsumerSettings.from_env(env).metrics_host == "0.0.0.0"


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "node_modules", ".pytest_cache"} <= ignored


# -- compose.yaml --------------------------------------------------------------------------------


def _parse(argv: list[str]) -> Any:
    """The real `subbuzz` parser; a flag or subcommand it does not know fails the test."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`subbuzz {shlex.join(argv)}` does not parse:\n{errors.getvalue()}")


def _is_subbuzz_image(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("subbuzz")


def _subbuzz_services() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in SERVICES.items():
        if _is_subbuzz_image(service):
            yield name, service


def _argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command", _exec_form("CMD"))
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _role(service: dict[str, Any]) -> str:
    return str(_parse(_argv(service)).command)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def _check_settings(where: str, env: dict[str, str]) -> None:
    unknown = sorted(
        name for name in env if name.startswith("SUBBUZZ_") and name not in setting_variables()
    )
    assert not unknown, f"{where} passes variables subbuzz never reads: {unknown}"
    for cls in settings_classes():
        try:
            cls.from_env(env)
        except SettingsError as exc:
            pytest.fail(f"{where}: {cls.__name__} refuses its settings: {exc}")


def _is_one_shot(service: dict[str, Any]) -> bool:
    return _is_subbuzz_image(service) and _role(service) in ONE_SHOT_ROLES


def _has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    return bool(test) and not check.get("disable") and test not in (["NONE"], "NONE")


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def test_every_subbuzz_command_is_a_real_subcommand() -> None:
    roles = []
    for name, service in _subbuzz_services():
        assert service.get("entrypoint") in (None, ["subbuzz"]), f"{name} replaces the entrypoint"
        roles.append(_role(service))
    assert set(roles) == ROLES, f"compose runs roles {sorted(set(roles))}, expected {ROLES}"
    assert roles.count("consume") == 2, "two consumers share the channel"


def test_every_subbuzz_variable_is_one_subbuzz_reads() -> None:
    image_env = _dockerfile_env()
    for name, service in SERVICES.items():
        env = _environment(service)
        if _is_subbuzz_image(service):
            strays = sorted(key for key in env if not key.startswith("SUBBUZZ_"))
            assert not strays, f"{name} passes non-subbuzz variables (a typo?): {strays}"
            _check_settings(f"service {name}", {**image_env, **env})
        else:
            _check_settings(f"service {name}", {k: v for k, v in env.items() if "SUBBUZZ" in k})


def test_settings_agree_between_services() -> None:
    envs = {name: {**_dockerfile_env(), **_environment(s)} for name, s in _subbuzz_services()}
    by_role: dict[str, list[str]] = {}
    for name, service in _subbuzz_services():
        by_role.setdefault(_role(service), []).append(name)
    server_env = envs[by_role["serve"][0]]
    server = ServerSettings.from_env(server_env)
    for name in by_role["consume"]:
        consumer = ConsumerSettings.from_env(envs[name])
        # The all-time ranking must see every event a consumer still counts.
        assert server.late_horizon_s >= consumer.late_horizon_s, name
        assert consumer.metrics_host == "0.0.0.0", name
        # pynsq reads through nsqlookupd, so dead letters need an nsqd of their own.
        assert envs[name].get("SUBBUZZ_LOOKUPD_HTTP_ADDRESSES"), f"{name}: use nsqlookupd"
        assert envs[name].get("SUBBUZZ_NSQD_TCP_ADDRESSES"), f"{name}: nsqd for dead letters"
    cassandra_users = by_role["migrate"] + by_role["consume"] + by_role["serve"]
    keyspaces = {CassandraSettings.from_env(envs[name]).keyspace for name in cassandra_users}
    assert len(keyspaces) == 1, (
        f"migrate, consumers and server disagree on the keyspace: {keyspaces}"
    )


def test_long_running_services_have_healthchecks_and_one_shots_do_not_restart() -> None:
    for name, service in SERVICES.items():
        if _is_one_shot(service):
            assert service.get("restart", "no") in {"no", "on-failure"}, (
                f"{name} is one-shot: restart {service['restart']!r} would run it again"
            )
        else:
            assert _has_healthcheck(service), f"{name} runs for good but has no healthcheck"


def test_healthchecks_probe_the_ports_the_settings_choose() -> None:
    for name, service in _subbuzz_services():
        env = {**_dockerfile_env(), **_environment(service)}
        role = _role(service)
        if role == "serve":
            port = ServerSettings.from_env(env).server_port
            assert f":{port}/healthz" in _healthcheck_text(service), name
            assert any(str(p).endswith(f":{port}") for p in service.get("ports", [])), name
        elif role == "consume":
            port = ConsumerSettings.from_env(env).metrics_port
            assert f":{port}/metrics" in _healthcheck_text(service), name


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, rule in depends.items():
            assert target in SERVICES, f"{name} depends on unknown service {target}"
            condition = rule.get("condition")
            if condition == "service_healthy":
                assert _has_healthcheck(SERVICES[target]), f"{name} waits on {target}'s health"
            elif condition == "service_completed_successfully":
                assert _is_one_shot(SERVICES[target]), f"{target} never completes"
            else:
                pytest.fail(f"{name} starts before {target} is ready (condition {condition})")
    migrate = next(s for _, s in _subbuzz_services() if _role(s) == "migrate")
    assert migrate["depends_on"]["cassandra"]["condition"] == "service_healthy"


def test_third_party_services_are_the_versions_we_run() -> None:
    cassandra = SERVICES["cassandra"]
    assert cassandra["image"] == "cassandra:5.0"
    env = _environment(cassandra)
    # cassandra-env.sh takes both or neither.
    assert env.get("MAX_HEAP_SIZE") and env.get("HEAP_NEWSIZE")
    assert "cqlsh" in _healthcheck_text(cassandra)
    programs = {}
    for name, service in SERVICES.items():
        if str(service.get("image", "")).startswith("nsqio/nsq"):
            assert service["image"] == "nsqio/nsq:v1.3.0", name
            programs[Path(_argv(service)[0]).name] = name
    assert set(programs) == {"nsqlookupd", "nsqd", "nsqadmin"}


def _named_volumes(service: dict[str, Any]) -> dict[str, str]:
    """{volume name: mount path} for the named (not bind-mounted) volumes of a service."""
    named = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume["target"]
            if volume.get("type", "volume") != "volume":
                continue
        else:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":")[0]
        if source and not source.startswith(("/", ".", "~", "$")):
            named[source] = target
    return named


def test_data_lives_in_declared_named_volumes() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    used = {}
    for name, service in SERVICES.items():
        for volume, target in _named_volumes(service).items():
            assert volume in declared, f"{name} mounts undeclared volume {volume}"
            used[volume] = (name, target)
    assert declared == set(used), f"declared but unused: {sorted(declared - set(used))}"
    mounts = {(service, target) for service, target in used.values()}
    assert ("cassandra", "/var/lib/cassandra") in mounts
    nsqd_data = next(
        arg.split("=", 1)[1] for arg in _argv(SERVICES["nsqd"]) if arg.startswith("--data-path=")
    )
    assert ("nsqd", nsqd_data) in mounts


# -- the list of settings itself ----------------------------------------------------------------


def _project_modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield module, ast.parse(path.read_text(), str(path))


def test_every_settings_class_is_listed() -> None:
    listed = {f"{cls.__module__}:{cls.__qualname__}" for cls in settings_classes()}
    found = {
        f"{module}:{node.name}"
        for module, tree in _project_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(item, ast.FunctionDef) and item.name == "from_env" for item in node.body)
    }
    assert found == listed, "subbuzz.config._SETTINGS_CLASSES is out of date"


def test_every_variable_named_in_the_code_is_listed() -> None:
    named = {
        node.value
        for _, tree in _project_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"SUBBUZZ_[A-Z0-9_]+", node.value)
    }
    assert named, "expected the code to name a few variables (SUBBUZZ_LOG_LEVEL at least)"
    unlisted = sorted(named - setting_variables())
    assert not unlisted, f"read by the code but not in subbuzz.config's list: {unlisted}"
