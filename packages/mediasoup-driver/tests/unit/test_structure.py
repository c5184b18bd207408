"""The driver's shape: no private names used across objects, no imports of the product.

Entities talk to each other only through what they hand each other (contexts,
registries, events); the package is a library that ships on its own. These
tests read the package's source (generated FlatBuffers code excluded) so a
regression fails here, not in a review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mediasoup_driver

PACKAGE = Path(mediasoup_driver.__file__).resolve().parent
FORBIDDEN_TOP_LEVEL = ("media_node", "control_api", "protos", "grpc")


def _sources() -> list[Path]:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if "fbs" not in p.relative_to(PACKAGE).parts]
    assert len(files) > 15, files  # the walk found the package, not an empty directory
    return files


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_accesses(source: str) -> list[tuple[int, str]]:
    """(line, text) of each ``x._name`` where ``x`` is not plainly ``self`` or ``cls``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id == "super"
        ):
            continue  # the object's own inherited method
        found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_checker_finds_what_it_must() -> None:
    source = (
        "class A:\n"
        "    def f(self, other):\n"
        "        self._ok = cls_like = 1\n"
        "        other._bad()\n"
        "        self._child._worse\n"
        "        super()._inherited()\n"
        "        return self.__class__, other.__dict__\n"
    )
    assert private_accesses(source) == [(4, "other._bad"), (5, "self._child._worse")]


def test_no_module_uses_private_names_of_other_objects() -> None:
    offences = {
        str(path.relative_to(PACKAGE)): hits
        for path in _sources()
        if (hits := private_accesses(path.read_text()))
    }
    assert offences == {}


def _imported_top_levels(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_the_product_or_grpc() -> None:
    imported: dict[str, set[str]] = {}
    for path in _sources():
        bad = _imported_top_levels(path.read_text()) & set(FORBIDDEN_TOP_LEVEL)
        if bad:
            imported[str(path.relative_to(PACKAGE))] = bad
    assert imported == {}


def test_importing_the_driver_loads_nothing_of_the_product() -> None:
    """What ``import mediasoup_driver`` really loads (transitively), in a clean interpreter."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mediasoup_driver; print('\\n'.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules = run.stdout.split()
    assert "mediasoup_driver.worker" in modules  # the listing is real
    loaded = sorted(
        name for name in modules if name.split(".")[0] in (*FORBIDDEN_TOP_LEVEL, "fastapi")
    )
    assert loaded == []


def _raised_names(source: str) -> set[str]:
    """Names of what ``raise Name(...)`` / ``raise Name`` statements raise."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id[:1].isupper():
                names.add(exc.id)
    return names


def test_everything_the_driver_raises_derives_from_its_base_error() -> None:
    """Built-ins mediasoup raises (TypeError, ...) come as subclasses of both (errors.py)."""
    from mediasoup_driver import errors

    raised = set().union(*(_raised_names(path.read_text()) for path in _sources()))
    assert {"MediasoupTypeError", "InvalidStateError", "NotFoundError"} <= raised
    outside = sorted(
        name
        for name in raised
        if not (
            isinstance(getattr(errors, name, None), type)
            and issubclass(getattr(errors, name), errors.MediasoupError)
        )
    )
    assert outside == []


ENTITY_MODULES = (
    "worker.py",
    "router.py",
    "transport.py",
    "webrtc_transport.py",
    "plain_transport.py",
    "pipe_transport.py",
    "producer.py",
    "consumer.py",
    "consume_plan.py",
)
"""Modules that hold entities (and the consume plan): they call the wire layer
(messages.py, transport_messages.py) and never write FlatBuffers themselves."""


def wire_imports(source: str) -> list[str]:
    """What a module imports that only the wire layer may: ``flatbuffers``, the
    builders of rtp_fbs (``write_*``), or generated code other than notification
    readers (``FBS.Notification.*`` and ``*Notification`` tables, read on arrival)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.split(".")[0] == "flatbuffers")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.split(".")[0] == "flatbuffers":
                found.append(module)
            elif node.level == 1 and module == "rtp_fbs":
                found.extend(f"rtp_fbs.{a.name}" for a in node.names if a.name.startswith("write"))
            elif node.level == 1 and module.split(".")[0] == "fbs":
                if module.startswith("fbs.FBS.Notification"):
                    continue
                found.extend(
                    f"{module}.{a.name}"
                    for a in node.names
                    if not (module.endswith("Notification") and a.name.endswith("Notification"))
                )
    return sorted(found)


def test_the_wire_import_checker_finds_what_it_must() -> None:
    source = (
        "import flatbuffers\n"
        "from .fbs.FBS.Notification.Event import Event\n"
        "from .fbs.FBS.Producer.ScoreNotification import ScoreNotification\n"
        "from .fbs.FBS.Transport import ProduceRequest as produce_fbs\n"
        "from .fbs.FBS.Request.Method import Method\n"
        "from .rtp_fbs import RtpStreamStats, write_rtp_parameters\n"
        "from . import messages\n"
    )
    assert wire_imports(source) == [
        "fbs.FBS.Request.Method.Method",
        "fbs.FBS.Transport.ProduceRequest",
        "flatbuffers",
        "rtp_fbs.write_rtp_parameters",
    ]


def test_entities_leave_the_wire_format_to_the_wire_layer() -> None:
    """STYLE.md "Wire format in one place": requests are built only by messages.py and
    transport_messages.py (method + body writer + reply reader per request)."""
    offences = {
        name: hits
        for name in ENTITY_MODULES
        if (hits := wire_imports((PACKAGE / name).read_text()))
    }
    assert offences == {}
