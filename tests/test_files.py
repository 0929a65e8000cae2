"""The one atomic writer (private, all or nothing) and the JSONL / YAML readers."""

from __future__ import annotations

import os
import stat

import pytest

from transcode.errors import InputError
from transcode.files import atomic_writer, ensure_folder, read_jsonl, read_yaml, write_atomic


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    def set_umask(value: int) -> None:
        os.umask(value)

    previous = os.umask(0o022)
    yield set_umask
    os.umask(previous)


def test_files_are_private_and_folders_too(tmp_path, umask):
    folder = ensure_folder(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(folder) == 0o700
    written = write_atomic(folder / "out.txt", "héllo\n")
    assert written.read_bytes() == "héllo\n".encode() and mode(written) == 0o600
    umask(0o277)  # stricter than private: the umask wins
    assert mode(write_atomic(folder / "strict.bin", b"\x00")) == 0o400


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_atomic(tmp_path / "table.csv", "old\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as stream:
        stream.write("half of the new")
        raise RuntimeError("disk gave up")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_where_a_file_cannot_go_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="folder does not exist"):
        write_atomic(tmp_path / "missing" / "x.txt", "x")
    with pytest.raises(InputError, match="is a folder"):
        write_atomic(tmp_path, "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        ensure_folder(tmp_path / "file" / "sub")


def test_readers_name_the_file_and_line(tmp_path):
    jsonl = tmp_path / "ideas.jsonl"
    jsonl.write_text('{"id": 1}\n\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match="one JSON object per line") as err:
        read_jsonl(jsonl)
    assert (err.value.path, err.value.line) == (str(jsonl), 3)
    jsonl.write_text('{"id": 1}\n{"id": \n', encoding="utf-8")
    with pytest.raises(InputError, match="not JSON") as err:
        read_jsonl(jsonl)
    assert err.value.line == 2
    yaml_file = tmp_path / "scheme.yaml"
    yaml_file.write_text("domains:\n  a: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid YAML") as err:
        read_yaml(yaml_file)
    assert err.value.line == 3
    yaml_file.write_bytes(b"name: \xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_yaml(yaml_file)
    with pytest.raises(InputError, match="file not found"):
        read_yaml(tmp_path / "none.yaml")
    yaml_file.write_text("\ufeffname: study\n", encoding="utf-8")
    assert read_yaml(yaml_file) == {"name": "study"}


def test_outputs_are_checked_before_the_work(tmp_path):
    from transcode.files import check_output_file, check_output_folder

    assert check_output_file(tmp_path / "x.csv") == tmp_path / "x.csv"
    assert check_output_file(tmp_path / "new" / "x.csv", make_folder=True)
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(InputError, match="folder does not exist"):
        check_output_file(tmp_path / "new" / "x.csv")
    with pytest.raises(InputError, match="is a folder"):
        check_output_file(tmp_path)
    with pytest.raises(InputError, match="cannot write here"):
        check_output_file("/sys/x.csv")  # read-only even for root
    with pytest.raises(InputError, match="cannot write here"):
        check_output_folder("/sys/a/b")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file" / "sub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probes left nothing


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    from tests.support.hostile import alias_bomb_yaml

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb_yaml(), encoding="utf-8")
    with pytest.raises(InputError, match="aliases .* are not allowed") as err:
        read_yaml(bomb)
    assert err.value.line == 2
    plain = tmp_path / "anchor.yaml"
    plain.write_text("a: &x 1\nb: 2\n", encoding="utf-8")  # an anchor alone expands nothing
    assert read_yaml(plain) == {"a": 1, "b": 2}


def test_spreadsheet_text_neutralises_formulas_and_reads_back():
    from transcode.files import spreadsheet_text, unquote_spreadsheet_text

    for formula in ("=1+1", "+cmd", "-A1", "@SUM(A1)", "\t=x", "\r=x"):
        assert spreadsheet_text(formula) == "'" + formula
        assert unquote_spreadsheet_text(spreadsheet_text(formula)) == formula
    for kept in ("-0.5", "+3", "plain", "", 7, None, "'quoted"):
        assert spreadsheet_text(kept) == kept
    assert unquote_spreadsheet_text("'quoted") == "'quoted"


def test_a_zip_is_read_within_its_limits(tmp_path):
    import io
    import zipfile

    from transcode.files import BoundedZip

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("small.txt", "hello")
        archive.writestr("zeros.bin", b"\0" * (3 << 20))  # 3 MB packed to a few KB
        archive.writestr("text.txt", "x" * 5000)
    path = tmp_path / "a.zip"
    path.write_bytes(buffer.getvalue())
    with BoundedZip(path) as archive:
        assert archive.read("small.txt") == b"hello"
        with pytest.raises(InputError, match="zeros.bin is packed .*:1 .* a possible zip bomb"):
            archive.read("zeros.bin")
        with pytest.raises(InputError, match="no missing.txt"):
            archive.read("missing.txt")
    with (
        BoundedZip(path, max_member=1000) as archive,
        pytest.raises(InputError, match="text.txt would unpack"),
    ):
        archive.read("text.txt")
    with BoundedZip(path, max_total=5003) as archive:
        archive.read("small.txt")
        with pytest.raises(InputError, match="more than 5,003 bytes"):
            archive.read("text.txt")
    with pytest.raises(InputError, match="more than 2 entries"):
        BoundedZip(path, max_entries=2)
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InputError, match="not a readable zip archive"):
        BoundedZip(path)
