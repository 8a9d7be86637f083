"""The deployment files in platform/ are valid as their tools read them: the compose file
(docker compose config), the Helm chart (helm lint, helm template, and every rendered
manifest against the Kubernetes schemas), the systemd units and the image."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
PLATFORM = ROOT / "platform"
CHART = PLATFORM / "helm" / "tessera"
VENV_BIN = Path(sys.executable).parent


def _tool(*candidates: Path | str) -> str:
    """Return the first tool found; fail in CI, skip elsewhere, when none is."""
    for candidate in candidates:
        found = shutil.which(str(candidate))
        if found:
            return found
    message = f"none of {', '.join(map(str, candidates))} is installed (make test installs them)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must check the deployment files: {message}")
    pytest.skip(message)


def test_compose_config_validates_and_has_every_part():
    compose = _tool(VENV_BIN / "docker-compose", "docker-compose")
    done = subprocess.run(
        [compose, "-f", str(PLATFORM / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "POSTGRES_PASSWORD": "pw"},
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert {"postgres", "redis", "migrate", "server1", "server2", "proxy", "worker", "beat"} <= set(
        services
    )
    for name in ("server1", "server2"):
        server = services[name]
        assert server["command"] == ["tessera", "serve"]
        assert "/ready" in " ".join(server["healthcheck"]["test"])
        # Listening on every interface inside the container, so the proxy reaches it.
        assert server["environment"]["TESSERA_HOST"] == "0.0.0.0"
        assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"][:3] == ["tessera", "worker", "--no-beat"]
    assert services["beat"]["command"] == ["tessera", "beat"]
    assert "tessera migrate" in " ".join(services["migrate"]["command"])
    env = services["server1"]["environment"]
    assert env["TESSERA_REDIS_URL"].startswith("redis://")
    assert env["TESSERA_BROKER_URL"].startswith("redis://")
    assert env["TESSERA_DATA_DIR"] == "/var/lib/tessera"
    assert services["server1"]["read_only"] is True


def _helm() -> str:
    return _tool(
        VENV_BIN.parent / "tools" / "node_modules" / ".bin" / "helm",
        "helm",
    )


REQUIRED = [
    "--set",
    "secrets.secretKey=" + "k" * 40,
    "--set",
    "secrets.databaseUrl=postgresql://x/y",
]


def _render(helm: str, *values: str) -> list[dict]:
    done = subprocess.run(
        [helm, "template", "crm", str(CHART), *REQUIRED, *values],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_the_helm_chart_lints_and_renders_valid_manifests():
    import kubernetes_validate

    helm = _helm()
    lint = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *REQUIRED], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    variants = [
        (),
        ("--set", "ingress.enabled=true", "--set", "server.autoscaling.enabled=false"),
        ("--set", "existingSecret=tessera-prod", "--set", "bootstrapAdminEmail=ops@x.example"),
    ]
    for values in variants:
        docs = _render(helm, *values)
        for doc in docs:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert ("Job", "crm-tessera-migrate-1") in kinds
        deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
        beat = deployments["crm-tessera-beat"]["spec"]
        assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
        server = deployments["crm-tessera-server"]["spec"]["template"]["spec"]
        container = server["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert server["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        worker = deployments["crm-tessera-worker"]["spec"]["template"]["spec"]["containers"][0]
        assert worker["args"][:3] == ["tessera", "worker", "--no-beat"]
        secret_names = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
        if "existingSecret=tessera-prod" in values:
            assert secret_names == set()
            ref = container["envFrom"][1]["secretRef"]["name"]
            assert ref == "tessera-prod"
        else:
            assert secret_names == {"crm-tessera-secrets"}
        if "ingress.enabled=true" in values:
            assert ("Ingress", "crm-tessera") in kinds
            assert deployments["crm-tessera-server"]["spec"]["replicas"] == 2
        else:
            assert ("HorizontalPodAutoscaler", "crm-tessera-server") in kinds
    # Without the secret it names what is missing.
    done = subprocess.run([helm, "template", "crm", str(CHART)], capture_output=True, text=True)
    assert done.returncode != 0 and "secrets.secretKey is required" in done.stderr


def test_systemd_units_start_real_commands(tmp_path):
    from click.testing import CliRunner

    from runtime.cli.main import cli

    units = sorted((PLATFORM / "systemd").glob("*.service"))
    assert {u.name for u in units} == {
        "tessera-server@.service",
        "tessera-worker.service",
        "tessera-beat.service",
        "tessera-migrate.service",
    }
    for unit in units:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit)
        service = parser["Service"]
        assert service["User"] == "tessera" and "EnvironmentFile" in service
        words = shlex.split(service["ExecStart"])
        assert words[0].endswith("/tessera")
        # The subcommand and its options exist (its --help succeeds).
        help_run = CliRunner().invoke(cli, [*words[1:], "--help"])
        assert help_run.exit_code == 0, (unit.name, help_run.output)
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return  # the parse above is the check on hosts without systemd
    tessera = shutil.which("tessera") or str(VENV_BIN / "tessera")
    scratch = tmp_path
    names = []
    for unit in units:
        name = unit.name.replace("@.service", "@8001.service")
        text = unit.read_text().replace("/opt/tessera/.venv/bin/tessera", tessera)
        (scratch / name).write_text(text)
        names.append(str(scratch / name))
    done = subprocess.run([analyze, "verify", "--man=no", *names], capture_output=True, text=True)
    problems = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and "postgresql.service" not in line and "redis-server.service" not in line
    ]
    assert problems == [], problems


def test_the_image_runs_unprivileged_with_an_absolute_data_folder():
    dockerfile = (PLATFORM / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    assert "USER tessera" in lines
    assert "TESSERA_DATA_DIR=/var/lib/tessera" in dockerfile
    assert "TESSERA_HOST=0.0.0.0" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
