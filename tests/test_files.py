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
