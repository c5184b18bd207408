"""The OpenAPI document lists every route with every response code, each with an example."""

from __future__ import annotations

from typing import Any

import pytest

from control_api.config import Settings
from control_api.main import create_app

# The contract table of ARCHITECTURE.md (plus 401 everywhere, 413 with bodies, 503 via nodes).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("post", "/api/v2/auth/token"): {"200", "401", "413", "422", "429"},
    ("post", "/api/v2/users"): {"201", "401", "403", "409", "413", "422"},
    ("get", "/api/v2/users"): {"200", "401", "403"},
    ("get", "/api/v2/users/me"): {"200", "401"},
    ("post", "/api/v2/users/me/password"): {"200", "401", "403", "413", "422", "429"},
    ("patch", "/api/v2/users/{user_id}"): {"200", "401", "403", "404", "409", "413", "422"},
    ("delete", "/api/v2/users/{user_id}"): {"204", "401", "403", "404", "409"},
    ("post", "/api/v2/streams"): {"201", "401", "403", "413", "422"},
    ("get", "/api/v2/streams"): {"200", "401"},
    ("get", "/api/v2/streams/{stream_id}"): {"200", "401", "404"},
    ("post", "/api/v2/streams/{stream_id}/start"): {"200", "401", "403", "404", "409", "503"},
    ("post", "/api/v2/streams/{stream_id}/stop"): {"200", "401", "403", "404", "409"},
    ("delete", "/api/v2/streams/{stream_id}"): {"204", "401", "403", "404", "409"},
    ("get", "/api/v2/streams/{stream_id}/router-capabilities"): {
        "200",
        "401",
        "404",
        "409",
        "503",
        "504",
    },
    ("get", "/api/v2/streams/{stream_id}/snapshot.jpg"): {
        "200",
        "401",
        "404",
        "409",
        "422",
        "503",
    },
    ("post", "/api/v2/streams/{stream_id}/consume"): {
        "201",
        "401",
        "404",
        "409",
        "413",
        "422",
        "429",
        "503",
        "504",
    },
    ("post", "/api/v2/transports/{transport_id}/connect"): {
        "204",
        "401",
        "404",
        "409",
        "413",
        "422",
        "503",
    },
    ("post", "/api/v2/consumers/{consumer_id}/resume"): {"204", "401", "404", "409", "503"},
    ("get", "/api/v2/consumers/{consumer_id}"): {"200", "401", "404"},
    ("delete", "/api/v2/consumers/{consumer_id}"): {"204", "401", "404"},
    ("get", "/api/v2/nodes"): {"200", "401", "403"},
    ("post", "/api/v2/nodes/{node_id}/drain"): {"200", "401", "403", "404", "413", "422", "503"},
    ("get", "/healthz"): {"200"},
    ("get", "/readyz"): {"200", "503"},
    ("get", "/metrics"): {"200"},
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:"))
    return app.openapi()


def _schema(spec: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    if ref:
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    items = ref_or_schema.get("items")
    if items:
        return _schema(spec, items)
    return ref_or_schema


def test_every_route_is_documented_with_exactly_its_codes(spec: dict[str, Any]) -> None:
    documented = {
        (method, path): set(op["responses"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert documented == EXPECTED


def test_every_response_has_an_example(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                where = f"{method.upper()} {path} {status}"
                assert response.get("description"), where
                if status == "204":
                    assert not response.get("content"), where
                    continue
                content = response.get("content")
                assert content, where
                for media in content.values():
                    schema = _schema(spec, media.get("schema", {}))
                    has = "example" in media or "examples" in media or "examples" in schema
                    assert has, where
                    if status.startswith(("4", "5")) and path.startswith("/api/"):
                        assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, where
                        example = (
                            media.get("example") or next(iter(media["examples"].values()))["value"]
                        )
                        assert set(example) == {"detail", "code"}, where


def test_no_default_validation_error_schema(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_bearer_scheme_is_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "oauth2" for s in schemes.values())
    op = spec["paths"]["/api/v2/streams"]["get"]
    assert op.get("security")
