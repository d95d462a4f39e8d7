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
    assert files.contacts_in_export("e1", ["c22", "c3"]) == {"c22"}
    assert files.contacts_in_export("e1", ["c2"]) == set()  # a prefix of another id: no match


def test_rows_written_together_land_as_rows_written_one_by_one(files: DataFiles) -> None:
    writer = files.new_export("e1", ["name", "company"], bom=True)
    writer.write("c1", ["Ada", "Acme, Inc."])
    writer.write_columns(["c2", "c3"], [["Bob", 'Say "hi"'], ["", "x"]])
    writer.write_columns([], [[], []])
    writer.commit()

    assert files.export_path("e1").read_bytes() == (
        b'\xef\xbb\xbfname,company\r\nAda,"Acme, Inc."\r\nBob,\r\n"Say ""hi""",x\r\n'
    )
    assert writer.rows == 3
    assert files.export_ids_path("e1").read_text() == "c1\nc2\nc3\n"


def test_a_cell_for_each_contact_id_is_required(files: DataFiles) -> None:
    writer = files.new_export("e1", ["name"])
    with pytest.raises(ValueError, match="one cell per contact id"):
        writer.write_columns(["c1", "c2"], [["Ada"]])
    writer.discard()


def test_a_discarded_export_leaves_no_file(files: DataFiles) -> None:
    writer = files.new_export("e1", ["name"])
    writer.write("c1", ["Ada"])

    writer.discard()

    assert list(files.exports.iterdir()) == []
    assert files.contacts_in_export("e1", ["c1"]) == set()


def test_the_sweep_keeps_only_uploads_of_queued_jobs(files: DataFiles) -> None:
    files.upload_path("kept").write_text("name\n")
    files.upload_path("stale").write_text("name\n")
    files.partial_upload_path("half").write_text("na")

    removed = files.sweep_uploads(keep={"kept"}, gone={files.owner}, unqueued_after=0)

    assert removed == 2
    assert [p.name for p in files.uploads.iterdir()] == ["kept.csv"]


def test_uploads_arriving_at_a_live_instance_survive_the_sweep(tmp_path: Path) -> None:
    root = tmp_path / "importer"
    mine, theirs = DataFiles(root, owner="a-1"), DataFiles(root, owner="b-1")
    mine.prepare()
    theirs.partial_upload_path("arriving").write_text("na")
    theirs.sheet_path("converting").write_text("name")
    mine.partial_upload_path("crashed").write_text("na")
    assert mine.upload_owners() == {"a-1", "b-1"}

    removed = mine.sweep_uploads(keep=set(), gone={"a-1"})

    assert removed == 1
    assert sorted(p.name for p in root.joinpath("uploads").iterdir()) == [
        "arriving.b-1.part",
        "converting.b-1.sheet.part",
    ]


def test_an_accepted_upload_without_its_job_yet_is_kept_for_a_while(files: DataFiles) -> None:
    # Between accepting the file and committing its job, another replica may sweep.
    files.upload_path("committing").write_text("name\n")

    assert files.sweep_uploads(keep=set(), gone=set()) == 0
    assert files.sweep_uploads(keep=set(), gone=set(), unqueued_after=0) == 1


def test_partial_exports_of_live_writers_are_kept(files: DataFiles) -> None:
    files.new_export("live", ["name"]).flush()
    files.new_export("dead", ["name"]).flush()

    assert files.sweep_partial_exports(keep={"live"}) == 2  # the sheet and the id list
    assert sorted(p.name for p in files.exports.iterdir()) == ["live.csv.part", "live.ids.part"]


def test_an_owner_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DataFiles(tmp_path, owner="../x")


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "", "x" * 65])
def test_an_id_that_is_not_a_plain_name_never_becomes_a_path(files: DataFiles, bad_id: str) -> None:
    with pytest.raises(ValueError):
        files.export_path(bad_id)
