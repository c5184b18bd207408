"""Entity ids from the pooled generator (mediasoup_driver.ids)."""

from __future__ import annotations

import os
import uuid

from mediasoup_driver.ids import new_uuid


def test_ids_are_canonical_random_uuid4() -> None:
    ids = [new_uuid() for _ in range(2000)]  # crosses several pool refills
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    new_uuid()  # the parent holds a partly used pool
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next id, exit without running pytest's teardown
        os.write(write_end, new_uuid().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert uuid.UUID(child_id).version == 4
    assert child_id != new_uuid()
