"""The importer's files: export id lists, the start-up sweep, and safe names."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_importer.adapters.files import DataFiles


@pytest.fixture
def files(tmp_path: Path) -> DataFiles:
    data = DataFiles(tmp_path / "importer")
    data.prepare()
    return data


def test_a_committed_export_lists_its_contact_ids(files: DataFiles) -> None:
    writer = files.new_export("e1", ["name"])
    writer.write("c1", ["Ada"])
    writer.write("c22", ["Bob"])
    writer.commit()

    assert files.export_path("e1").read_bytes() == b"name\r\nAda\r\nBob\r\n"
    assert files.export_contains("e1", "c22")
    assert not files.export_contains("e1", "c2")  # a prefix of another id is not a match


def test_a_discarded_export_leaves_no_file(files: DataFiles) -> None:
    writer = files.new_export("e1", ["name"])
    writer.write("c1", ["Ada"])

    writer.discard()

    assert list(files.exports.iterdir()) == []
    assert not files.export_contains("e1", "c1")


def test_the_sweep_keeps_only_uploads_of_queued_jobs(files: DataFiles) -> None:
    files.upload_path("kept").write_text("name\n")
    files.upload_path("stale").write_text("name\n")
    files.partial_upload_path("half").write_text("na")

    removed = files.sweep_uploads(keep={"kept"})

    assert removed == 2
    assert [p.name for p in files.uploads.iterdir()] == ["kept.csv"]


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "", "x" * 65])
def test_an_id_that_is_not_a_plain_name_never_becomes_a_path(files: DataFiles, bad_id: str) -> None:
    with pytest.raises(ValueError):
        files.export_path(bad_id)
