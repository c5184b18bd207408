"""What a running ingest pipeline really contains, read from GStreamer's own graph dump.

With ``GST_DEBUG_DUMP_DOT_DIR`` in its environment the ingest process writes
``vasms-ingest-<pid>-<stage>.dot`` (``built``; ``video`` once the camera's part is
linked) through ``Gst.debug_bin_to_dot_file``: GStreamer's description of the live
bin, independent of what the node believes it asked for. ``top_level_elements``
lists the element types directly inside the pipeline (children of bins such as
rtpbin or decodebin are theirs, not the pipeline's).
"""

from __future__ import annotations

import re
from pathlib import Path

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_CLUSTER = re.compile(r"^\s*subgraph cluster_")
_LABEL = re.compile(r'^\s*label="<?(\w+)>?\\n')


def top_level_elements(dot: str) -> list[str]:
    """GType names (``GstRTSPSrc``, …) of the pipeline's direct children, sorted."""
    found: list[str] = []
    depth = 0
    pending = False
    for line in dot.splitlines():
        if pending:
            match = _LABEL.match(line)
            if match:
                found.append(match.group(1))
                pending = False
        if depth == 1 and _CLUSTER.match(line):
            pending = True
        bare = _QUOTED.sub("", line)
        depth += bare.count("{") - bare.count("}")
    return sorted(found)


def dumps(directory: Path) -> dict[tuple[int, str], Path]:
    """Every graph in ``directory`` by (process id, stage)."""
    found = {}
    for path in directory.glob("vasms-ingest-*-*.dot"):
        match = re.fullmatch(r"vasms-ingest-(\d+)-(\w+)\.dot", path.name)
        if match:
            found[(int(match.group(1)), match.group(2))] = path
    return found
