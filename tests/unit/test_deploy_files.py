"""The deploy files start what they describe: numeric users matching the image, node
gRPC bound only with mutual TLS, secrets as files, systemd hardening."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
NODE_TLS = ("VASMS_NODE_TLS_CERT", "VASMS_NODE_TLS_KEY", "VASMS_NODE_TLS_CLIENT_CA")
API_TLS = ("VASMS_NODE_TLS_CA", "VASMS_NODE_TLS_CLIENT_CERT", "VASMS_NODE_TLS_CLIENT_KEY")


def _image_user() -> tuple[int, int]:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    users = set(re.findall(r"^USER (\d+):(\d+)$", text, re.M))
    assert len(users) == 1, users  # both images, one numeric user
    uid, gid = users.pop()
    assert f"--uid {uid}" in text and f"--gid {gid}" in text
    return int(uid), int(gid)


def _pod(path: str) -> dict:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / path).read_text()))
    return next(d for d in docs if d["kind"] in ("Deployment", "DaemonSet"))["spec"]["template"]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_k8s_pods_run_as_the_images_numeric_user_read_only() -> None:
    uid, gid = _image_user()
    for path in ("media-node.yaml", "control-api.yaml"):
        pod = _pod(path)
        context = pod["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid), path
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        for container in pod["spec"]["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], path  # the writable path


def test_k8s_node_grpc_is_mtls_with_mounted_secrets() -> None:
    node = _pod("media-node.yaml")["spec"]["containers"][0]
    env = _env(node)
    assert env["VASMS_NODE_GRPC_LISTEN"].startswith("0.0.0.0:")
    assert all(env[name].startswith("/etc/vasms/tls/") for name in NODE_TLS)
    assert env["VASMS_NODE_TOKEN_FILE"] and "VASMS_NODE_INSECURE" not in env
    assert not any(p.startswith("--") for p in node.get("args", []))  # nothing in argv
    probes = (node["readinessProbe"], node["livenessProbe"])
    assert not any("grpc" in p for p in probes)  # the kubelet's gRPC probe is plaintext
    api = _pod("control-api.yaml")["spec"]["containers"][0]
    assert all(_env(api)[name].startswith("/etc/vasms/tls/") for name in API_TLS)


def _unit(name: str) -> str:
    return (DEPLOY / "systemd" / name).read_text()


def test_systemd_units_are_hardened_and_take_secrets_as_credentials() -> None:
    for name, tls in (
        ("vasms-media-node.service", NODE_TLS),
        ("vasms-control-api.service", API_TLS),
    ):
        unit = _unit(name)
        lines = set(unit.splitlines())
        assert "CapabilityBoundingSet=" in lines, name
        assert "SystemCallFilter=@system-service" in lines, name
        assert "Environment=VASMS_NODE_TOKEN_FILE=%d/node-token" in lines, name
        assert "LoadCredential=node-token:/etc/vasms/credentials/node-token" in lines, name
        for setting in tls:
            value = re.search(rf"^Environment={setting}=%d/(\S+)$", unit, re.M)
            assert value, (name, setting)
            assert f"LoadCredential={value.group(1)}:" in unit, (name, setting)
    assert "VASMS_NODE_TOKEN=" not in (DEPLOY / "systemd" / "control-api.env.example").read_text()


def test_compose_nodes_bind_grpc_with_tls() -> None:
    compose = yaml.safe_load((DEPLOY / "docker" / "docker-compose.yml").read_text())
    for name in ("node-1", "node-2"):
        env = compose["services"][name]["environment"]
        assert env["VASMS_NODE_GRPC_LISTEN"].startswith("0.0.0.0:")
        assert all(env[setting].startswith("/certs/") for setting in NODE_TLS), name
    api_env = compose["services"]["api-a"]["environment"]
    assert all(api_env[setting].startswith("/certs/") for setting in API_TLS)
