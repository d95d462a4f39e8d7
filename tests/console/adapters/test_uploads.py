"""The import wizard's held uploads: header and samples read, only their owner may use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_console.adapters.uploads import UnreadableCsv, UploadStore


def test_the_header_and_first_rows_are_read_and_only_the_owner_gets_the_file(
    tmp_path: Path,
) -> None:
    store = UploadStore(tmp_path)

    held = store.hold(
        owner="s1", filename="p.csv", content="\ufeffName, Email\nAda,a@x.io\nBob,b@x.io\n".encode()
    )

    assert held.headers == ["Name", "Email"]
    assert held.samples == [["Ada", "a@x.io"], ["Bob", "b@x.io"]]
    assert store.get(held.token, owner="s2") is None
    assert store.get(held.token, owner="s1") == held
    store.release(held.token)
    assert not held.path.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\n\n", "no header row"), ("Name\nJos\xe9\n".encode("latin-1"), "not UTF-8")],
)
def test_a_file_without_a_readable_header_is_refused(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    with pytest.raises(UnreadableCsv, match=reason):
        UploadStore(tmp_path).hold(owner="s1", filename="p.csv", content=content)
