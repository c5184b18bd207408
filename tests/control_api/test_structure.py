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
