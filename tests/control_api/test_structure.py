"""Dependency rules and small pure pieces: no media_node imports, log redaction."""

from __future__ import annotations

import ast
import logging

from control_api.logs import JsonFormatter, TextFormatter, redact
from tests.control_api.support import REPO


def test_control_api_never_imports_media_node() -> None:
    for path in (REPO / "control_api").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("media_node"), f"{path} imports {name}"


def test_tokens_in_query_strings_are_not_logged() -> None:
    line = '127.0.0.1:1 - "WebSocket /api/v1/ws?token=eyJabc.def&clientId=x" [accepted]'
    assert redact(line) == '127.0.0.1:1 - "WebSocket /api/v1/ws?token=***&clientId=x" [accepted]'
    record = logging.makeLogRecord(
        {"msg": "GET /api/v1/ws?token=%s", "args": ("secret",), "stream_id": "s1"}
    )
    assert "secret" not in JsonFormatter().format(record)
    text = TextFormatter().format(record)
    assert "secret" not in text and "stream_id=s1" in text


HTTP_MODULES = ("fastapi", "starlette", "control_api.errors", "control_api.api", "http")
HTTP_NAMES = {"ApiError", "HTTPException", "JSONResponse", "Response", "status_code"}


def test_services_raise_domain_failures_without_http() -> None:
    """services/ speak in control_api.failures; HTTP statuses live in api/failure_map.py."""
    for path in (REPO / "control_api" / "services").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                modules = []
            for module in modules:
                assert not module.startswith(HTTP_MODULES), f"{path}:{node.lineno} imports {module}"
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                assert name not in HTTP_NAMES, f"{path}:{node.lineno} uses {name}"
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for arg in node.exc.args:
                    is_status = isinstance(arg, ast.Constant) and isinstance(arg.value, int)
                    assert not is_status, f"{path}:{node.lineno} raises with a status"


def test_every_failure_kind_has_one_http_status() -> None:
    from control_api import failures
    from control_api.api.failure_map import STATUS

    kinds = {
        v
        for v in vars(failures).values()
        if isinstance(v, type) and issubclass(v, failures.Failure) and v is not failures.Failure
    }
    assert kinds == set(STATUS), kinds ^ set(STATUS)
    assert all(400 <= s < 600 for s in STATUS.values())
