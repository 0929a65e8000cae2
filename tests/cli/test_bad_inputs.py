"""Every command, fed bad and hostile input: exit 2, one line on stderr naming the file (or the
option), no traceback, nothing written (issue 14).

The table below is run in this process (``transcode.cli.run``) so that it stays fast; the files
are made at test time (:mod:`tests.support.hostile`). "Nothing written" means: no file in the
work folder appeared, changed or vanished, and the store holds exactly what it held.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.support.hostile import HostileFiles
from transcode.cli import run

#: What the key-file rows pass, so no row waits at a terminal for a passphrase.
PASSPHRASE = ["--key-passphrase", "correct horse battery"]

# (id, arguments, what the error line must contain). ``{name}`` is a file made by HostileFiles;
# ``{db}`` the initialised store, ``{tmp}`` the work folder, ``{ro}`` a folder nobody may write
# (/sys: even root cannot create files there).
ROWS: list[tuple[str, list[str], str]] = [
    # -- transcripts (import, precode, deid read them the same way) --------------------------
    ("import missing file", ["import", "{tmp}/none.txt", "--db", "{db}"], "none.txt: no such file"),
    (
        "import a folder as a file",
        ["import", "{folder_txt}", "--db", "{db}"],
        "folder_txt.txt: not a regular",
    ),
    ("import unsupported suffix", ["import", "{pdf}", "--db", "{db}"], "pdf.pdf: unsupported file type"),
    ("import latin-1 text", ["import", "{latin1_txt}", "--db", "{db}"], "latin1_txt.txt:1: not valid UTF-8"),
    ("import NUL bytes", ["import", "{nul_txt}", "--db", "{db}"], "nul_txt.txt:1: binary content"),
    ("import empty transcript", ["import", "{empty_txt}", "--db", "{db}"], "empty_txt.txt: empty transcript"),
    ("import prose", ["import", "{prose_txt}", "--db", "{db}"], "prose_txt.txt:1: text before the first"),
    ("import unknown speaker", ["import", "{unknown_speaker_txt}", "--db", "{db}"], ":2: unknown speaker"),
    (
        "import 1,000,000+ character turn",
        ["import", "{long_turn_txt}", "--db", "{db}"],
        "long_turn_txt.txt:2:",
    ),
    ("import CSV field over 131,072", ["import", "{long_field_csv}", "--db", "{db}"], "long_field_csv.csv:"),
    ("import CSV without columns", ["import", "{no_columns_csv}", "--db", "{db}"], "no_columns_csv.csv:1:"),
    ("import CSV bad time", ["import", "{bad_time_csv}", "--db", "{db}"], "bad_time_csv.csv:2: time"),
    ("import bad WebVTT", ["import", "{bad_vtt}", "--db", "{db}"], "bad_vtt.vtt: malformed VTT"),
    ("import bad SRT", ["import", "{bad_srt}", "--db", "{db}"], "bad_srt.srt"),
    (
        "import .docx zip bomb (size)",
        ["import", "{bomb_docx}", "--db", "{db}"],
        "bomb_docx.docx: word/document",
    ),
    (
        "import .docx zip bomb (ratio)",
        ["import", "{ratio_docx}", "--db", "{db}"],
        "ratio_docx.docx: word/docum",
    ),
    ("import .docx not a zip", ["import", "{not_zip_docx}", "--db", "{db}"], "not_zip_docx.docx: not a read"),
    (
        "import .docx that is text",
        ["import", "{text_docx}", "--db", "{db}"],
        "text_docx.docx: not a readable",
    ),
    (
        "import .docx without main part",
        ["import", "{no_main_docx}", "--db", "{db}"],
        "no_main_docx.docx: not",
    ),
    ("import .docx billion laughs", ["import", "{laughs_docx}", "--db", "{db}"], "laughs_docx.docx: not a"),
    (
        "import .docx broken XML",
        ["import", "{bad_xml_docx}", "--db", "{db}"],
        "bad_xml_docx.docx: not a read",
    ),
    (
        "precode .docx zip bomb",
        ["precode", "{bomb_docx}", "--codebook", "{good_codebook}", "--out", "{tmp}/p.jsonl"],
        "bomb_docx.docx: word/document.xml would unpack",
    ),
    ("deid .docx zip bomb", ["deid", "{bomb_docx}", "--out", "{tmp}/deid"], "bomb_docx.docx: word/document"),
    ("deid latin-1 text", ["deid", "{latin1_txt}", "--out", "{tmp}/deid"], "latin1_txt.txt:1: not valid"),
    (
        "deid 1,000,000+ character turn",
        ["deid", "{long_turn_txt}", "--out", "{tmp}/deid"],
        "long_turn_txt.txt:2",
    ),
    # -- codebooks and other YAML ------------------------------------------------------------
    ("init YAML alias bomb", ["init", "--db", "{db}", "--codebook", "{alias_bomb_yaml}"], "aliases"),
    (
        "import YAML alias bomb",
        ["import", "{good_txt}", "--db", "{db}", "--codebook", "{alias_bomb_yaml}"],
        "alias_bomb_yaml.yaml:2: invalid YAML: aliases",
    ),
    (
        "precode YAML alias bomb",
        ["precode", "{good_txt}", "--codebook", "{alias_bomb_yaml}", "--out", "{tmp}/p.jsonl"],
        "alias_bomb_yaml.yaml:2:",
    ),
    (
        "cross --bands YAML alias bomb",
        ["cross", "--profile", "custom", "--bands", "{alias_bomb_yaml}", "--db", "{db}"],
        "alias_bomb_yaml.yaml:2:",
    ),
    (
        "codebook categories: 5",
        ["init", "--db", "{db}", "--codebook", "{categories_5_yaml}"],
        "'categories' must be a list",
    ),
    (
        "codebook domain id with newline",
        ["init", "--db", "{db}", "--codebook", "{newline_id_yaml}"],
        "must match [a-z0-9_]+",
    ),
    ("codebook name is a list", ["init", "--db", "{db}", "--codebook", "{list_name_yaml}"], "must be text"),
    ("codebook is a list", ["init", "--db", "{db}", "--codebook", "{list_yaml}"], "non-empty 'domains'"),
    ("codebook broken YAML", ["init", "--db", "{db}", "--codebook", "{broken_yaml}"], "broken_yaml.yaml:2:"),
    (
        "codebook latin-1",
        ["init", "--db", "{db}", "--codebook", "{latin1_yaml}"],
        "latin1_yaml.yaml: not UTF",
    ),
    ("codebook is a folder", ["init", "--db", "{db}", "--codebook", "{folder_yaml}"], "is a folder"),
    (
        "codebook missing",
        ["init", "--db", "{db}", "--codebook", "{tmp}/none.yaml"],
        "none.yaml: file not found",
    ),
    (
        "cross --bands values are lists",
        ["cross", "--profile", "custom", "--bands", "{bands_list_yaml}", "--db", "{db}"],
        "bands_list_yaml.yaml: band 'general'",
    ),
    # -- other input files ---------------------------------------------------------------------
    (
        "import --cases latin-1",
        ["import", "{good_txt}", "--db", "{db}", "--cases", "{latin1_csv}"],
        "latin1_csv.csv: not UTF-8",
    ),
    (
        "import --cases a folder",
        ["import", "{good_txt}", "--db", "{db}", "--cases", "{folder_csv}"],
        "folder_csv.csv: cannot read",
    ),
    (
        "train --gold latin-1",
        ["train", "--gold", "{latin1_jsonl}", "--codebook", "{good_codebook}", "--out", "{tmp}/model"],
        "latin1_jsonl.jsonl: not UTF-8",
    ),
    (
        "train --gold bad JSON",
        ["train", "--gold", "{bad_jsonl}", "--codebook", "{good_codebook}", "--out", "{tmp}/model"],
        "bad_jsonl.jsonl:1: not a gold unit",
    ),
    (
        "train --gold wrong types",
        ["train", "--gold", "{gold_types_jsonl}", "--codebook", "{good_codebook}", "--out", "{tmp}/model"],
        "gold_types_jsonl.jsonl:1:",
    ),
    (
        "evaluate --gold latin-1",
        ["evaluate", "--gold", "{latin1_jsonl}", "--codebook", "{good_codebook}", "--out", "{tmp}/eval"],
        "latin1_jsonl.jsonl: not UTF-8",
    ),
    (
        "cross --cases latin-1",
        ["cross", "--cases", "{latin1_csv}", "--db", "{db}"],
        "latin1_csv.csv: not UTF",
    ),
    ("agree ratings without code", ["agree", "{ratings_bad}"], "ratings_bad.csv"),
    ("agree ratings latin-1", ["agree", "{latin1_csv}"], "latin1_csv.csv"),
    (
        "coreideas import latin-1",
        ["coreideas", "import", "{latin1_jsonl}", "--judge", "ana", "--db", "{db}"],
        "latin1_jsonl.jsonl: not UTF-8",
    ),
    (
        "precode --model-name not a model",
        [
            "precode",
            "{good_txt}",
            "--codebook",
            "{good_codebook}",
            "--out",
            "{tmp}/p.jsonl",
            "--model-name",
            "{not_a_model}",
        ],
        "not_a_model",
    ),
    (
        "precode --model a folder that is no model",
        [
            "precode",
            "{good_txt}",
            "--codebook",
            "{good_codebook}",
            "--out",
            "{tmp}/p.jsonl",
            "--model",
            "{folder}",
        ],
        "not a trained model folder",
    ),
    (
        "deid --names a folder",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--names", "{folder_txt}"],
        "folder_txt.txt: names file is not a file",
    ),
    (
        "import --names latin-1",
        ["import", "{good_txt}", "--db", "{db}", "--names", "{latin1_txt}"],
        "latin1_txt.txt: names file is not UTF-8",
    ),
    (
        "deid --decisions not JSON",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--decisions", "{bad_jsonl}"],
        "bad_jsonl.jsonl: malformed decisions file",
    ),
    (
        "deid --decisions missing",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--decisions", "{tmp}/no.json"],
        "no.json: decisions file not found",
    ),
    ("code --order bogus", ["code", "--judge", "ana", "--order", "bogus", "--db", "{db}"], "--order must be"),
    (
        "code in a store without units",
        ["code", "--judge", "ana", "--case", "nope", "--db", "{db}"],
        "store.db",
    ),
    (
        "comment on a unit not in the store",
        ["comment", "unit", "5", "--text", "x", "--judge", "ana", "--db", "{db}"],
        "store.db: no unit 5",
    ),
    (
        "coreideas units of an unknown case",
        ["coreideas", "units", "--case", "01", "--domain", "repair", "--db", "{db}"],
        "unknown case '01'",
    ),
    ("agree a folder", ["agree", "{folder_csv}"], "folder_csv.csv"),
    ("cross memberships a folder", ["cross", "{folder_csv}", "--cases", "{cases_csv}"], "folder_csv.csv"),
    (
        "coreideas import a folder",
        ["coreideas", "import", "{folder}", "--judge", "ana", "--db", "{db}"],
        "folder",
    ),
    (
        "categories import a folder",
        ["categories", "import", "{folder_yaml}", "--judge", "ana", "--db", "{db}"],
        "folder_yaml.yaml: is a folder",
    ),
    (
        "categories import alias bomb",
        ["categories", "import", "{alias_bomb_yaml}", "--judge", "ana", "--db", "{db}"],
        "alias_bomb_yaml.yaml:2: invalid YAML: aliases",
    ),
    (
        "train --gold a folder",
        ["train", "--gold", "{folder}", "--codebook", "{good_codebook}", "--out", "{tmp}/model"],
        "folder",
    ),
    ("import-qdc a folder", ["import-qdc", "{folder}", "--out", "{tmp}/cb.yaml"], "folder"),
    # -- the --db URL ----------------------------------------------------------------------------
    (
        "--db unknown scheme",
        ["status", "--db", "mysqlx://ana:s3cret-pw@host/study"],
        "unknown database scheme",
    ),
    ("--db not a URL", ["status", "--db", "s3cret-pw"], "not a database URL"),
    ("--db a text file", ["status", "--db", "sqlite:///{sqlite_not_db}"], "cannot open store"),
    ("--db a folder", ["status", "--db", "sqlite:///{folder}"], "is a folder, not a file"),
    ("--db missing folder", ["init", "--db", "sqlite:///{tmp}/none/x.db"], "does not exist"),
    ("--db no store there", ["status", "--db", "sqlite:///{tmp}/none.db"], "no transcode store"),
    # -- outputs, checked before the work ----------------------------------------------------
    (
        "export qdpx into a missing folder",
        ["export", "--db", "{db}", "--out", "{tmp}/none/x.qdpx"],
        "none: folder does not exist",
    ),
    (
        "export xlsx to a folder",
        ["export", "--db", "{db}", "--format", "xlsx", "--out", "{folder}"],
        "folder: is a folder",
    ),
    (
        "export xlsx read-only place",
        ["export", "--db", "{db}", "--format", "xlsx", "--out", "{ro}/x.xlsx"],
        "cannot write here",
    ),
    (
        "export qdc read-only place",
        ["export", "--db", "{db}", "--format", "qdc", "--out", "{ro}/x.qdc"],
        "cannot write here",
    ),
    (
        "export csv into a file",
        ["export", "--db", "{db}", "--format", "csv", "--out", "{good_txt}"],
        "good_txt.txt: is a file, not a folder",
    ),
    (
        "export csv read-only place",
        ["export", "--db", "{db}", "--format", "csv", "--out", "{ro}/tables"],
        "cannot write here",
    ),
    ("import-qdc --out a folder", ["import-qdc", "{not_qdc}", "--out", "{folder}"], "folder: is a folder"),
    (
        "precode --out a folder",
        ["precode", "{good_txt}", "--codebook", "{good_codebook}", "--out", "{folder}"],
        "folder: is a folder",
    ),
    (
        "precode --out read-only",
        ["precode", "{good_txt}", "--codebook", "{good_codebook}", "--out", "{ro}/p.jsonl"],
        "cannot write here",
    ),
    ("deid --out a file", ["deid", "{good_txt}", "--out", "{good_txt}"], "--out must be a folder"),
    ("deid --out read-only", ["deid", "{good_txt}", "--out", "{ro}/deid"], "cannot write here"),
    (
        "deid --key a folder",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--key", "{folder}", *PASSPHRASE],
        "folder: is a folder",
    ),
    (
        "deid --key read-only",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--key", "{ro}/k.key", *PASSPHRASE],
        "cannot write here",
    ),
    (
        "deid --key missing folder",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--key", "{tmp}/none/k.key", *PASSPHRASE],
        "none: folder does not exist",
    ),
    (
        "deid --key short passphrase",
        ["deid", "{good_txt}", "--out", "{tmp}/deid", "--key", "{tmp}/k.key", "--key-passphrase", "short"],
        "at least 8 characters",
    ),
    (
        "train --out a file",
        ["train", "--gold", "{bad_jsonl}", "--codebook", "{good_codebook}", "--out", "{good_txt}"],
        "good_txt.txt: is a file, not a folder",
    ),
    (
        "train --out a folder with other files",
        ["train", "--db", "{db}", "--out", "{tmp}"],
        "holds other files",
    ),
    ("train --out read-only", ["train", "--db", "{db}", "--out", "{ro}/model"], "cannot write here"),
    ("cross --out a folder", ["cross", "--db", "{db}", "--out", "{folder}"], "folder: is a folder"),
    (
        "cross --chart missing folder",
        ["cross", "--db", "{db}", "--chart", "{tmp}/none/c.png"],
        "folder does not exist",
    ),
    ("cross --out read-only", ["cross", "--db", "{db}", "--out", "{ro}/t.csv"], "cannot write here"),
    ("agree --csv a folder", ["agree", "{ratings_bad}", "--csv", "{folder}"], "folder: is a folder"),
    ("agree --report read-only", ["agree", "--db", "{db}", "--report", "{ro}/r.html"], "cannot write here"),
    (
        "evaluate --out a file",
        ["evaluate", "--gold", "{bad_jsonl}", "--codebook", "{good_codebook}", "--out", "{good_txt}"],
        "good_txt.txt: is a file",
    ),
    # -- key files -----------------------------------------------------------------------------
    ("key show scrypt N=2^24", ["deid", "key", "show", "{key_bomb}", *PASSPHRASE], "scrypt N=16777216"),
    ("key show N not a power of two", ["deid", "key", "show", "{key_odd_n}", *PASSPHRASE], "a power of two"),
    ("key show not JSON", ["deid", "key", "show", "{key_not_json}", *PASSPHRASE], "not a transcode key"),
    ("key show a list", ["deid", "key", "show", "{key_list}", *PASSPHRASE], "not a transcode key"),
    ("key show other format", ["deid", "key", "show", "{key_wrong_format}", *PASSPHRASE], "not a transcode"),
    ("key show a folder", ["deid", "key", "show", "{folder}", *PASSPHRASE], "folder: not a file"),
    ("key show missing", ["deid", "key", "show", "{tmp}/none.key", *PASSPHRASE], "key file not found"),
    # -- the store's limits --------------------------------------------------------------------
    (
        "judge name over 100 characters",
        ["judges", "add", "j" * 101, "--role", "judge", "--db", "{db}"],
        "at most 100 characters",
    ),
    (
        "no such category",
        ["categories", "rename", "99999999999999999999", "--name", "x", "--judge", "ana", "--db", "{db}"],
        "",
    ),
    # -- REFI-QDA (what already holds; the rest is the exchange rewrite's) ----------------------
    (
        "import-qdpx not a zip",
        ["import-qdpx", "{not_qdpx}", "--db", "sqlite:///{tmp}/new.db"],
        "not_qdpx.qdpx",
    ),
    (
        "import-qdpx missing",
        ["import-qdpx", "{tmp}/none.qdpx", "--db", "sqlite:///{tmp}/new.db"],
        "none.qdpx",
    ),
    ("import-qdc not XML", ["import-qdc", "{not_qdc}", "--out", "{tmp}/cb.yaml"], "not_qdc.qdc"),
]

#: Usage errors: the usage line, then one error line (exit 2).
USAGE_ROWS: list[tuple[str, list[str], str]] = [
    ("agree --resamples 10^9", ["agree", "x.csv", "--resamples", "1000000000"], "--resamples"),
    ("agree --window 0", ["agree", "--window", "0"], "--window"),
    ("coreideas consensus 2^64", ["coreideas", "consensus", str(2**64)], "'idea'"),
    ("coreideas history 0", ["coreideas", "history", "0"], "'idea'"),
    ("comment on id 2^40", ["comment", "unit", str(2**40), "--text", "x", "--judge", "ana"], "'target_id'"),
    ("train --target-recall 2", ["train", "--out", "m", "--target-recall", "2"], "--target-recall"),
    ("export --format pdf", ["export", "--out", "x", "--format", "pdf"], "--format"),
    ("precode without files", ["precode"], "Missing argument"),
    ("deid key with an unknown subcommand", ["deid", "key", "bogus"], "(see 'transcode deid key --help')"),
    ("deid key without a subcommand file", ["deid", "key", "show"], "Missing argument"),
]


def _commands() -> list[str]:
    """Every command path (``coreideas draft``), as click sees them."""
    import typer

    import transcode.cli

    transcode.cli._register()
    found = []

    def walk(group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                walk(command, path)
            else:
                found.append(path)

    walk(typer.main.get_command(transcode.cli.app), "")
    return sorted(found)


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    """An initialised store with the test codebook, copied for each row."""
    folder = tmp_path_factory.mktemp("template")
    files = HostileFiles(folder)
    path = folder / "store.db"
    assert run(["init", "--db", f"sqlite:///{path}", "--codebook", files["good_codebook"]]) == 0
    assert run(["judges", "add", "ana", "--role", "judge", "--db", f"sqlite:///{path}"]) == 0
    return path


@pytest.fixture
def workspace(tmp_path, template_store):
    store = tmp_path / "store.db"
    shutil.copyfile(template_store, store)
    return tmp_path, HostileFiles(tmp_path), store


def snapshot(folder: Path, store: Path) -> dict:
    """Every file under ``folder`` by content (the store by its rows: reading it may checkpoint)."""
    state: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.name.startswith(store.name):
            continue
        state[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    with sqlite3.connect(store) as connection:
        state["store rows"] = "\n".join(connection.iterdump())
    connection.close()
    return state


class Placeholders(dict):
    def __init__(self, folder: Path, files: HostileFiles, store: Path):
        super().__init__(tmp=str(folder), db=f"sqlite:///{store}", ro="/sys")
        self.files = files

    def __missing__(self, name: str) -> str:
        return self.files[name]


def run_row(capsys, folder, files, store, args):
    argv = [arg.format_map(Placeholders(folder, files, store)) for arg in args]
    # Made before the snapshot, so only what the command writes counts.
    before = snapshot(folder, store)
    code = run(argv)
    captured = capsys.readouterr()
    return code, captured, before, snapshot(folder, store)


@pytest.mark.parametrize(("args", "expected"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, monkeypatch, workspace, args, expected):
    monkeypatch.delenv("TRANSCODE_KEY_PASSPHRASE", raising=False)
    monkeypatch.delenv("TRANSCODE_DB", raising=False)
    folder, files, store = workspace
    for arg in args:  # make the row's files first: they are input, not output
        arg.format_map(Placeholders(folder, files, store))
    code, captured, before, after = run_row(capsys, folder, files, store, args)
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("transcode: error: "), captured.err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert "s3cret-pw" not in captured.err
    assert after == before, "something was written"


@pytest.mark.parametrize(
    ("args", "expected"), [row[1:] for row in USAGE_ROWS], ids=[row[0] for row in USAGE_ROWS]
)
def test_a_bad_value_is_a_usage_error(capsys, args, expected):
    assert run(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Usage: transcode "), lines
    assert lines[1].startswith("transcode: error: ") and expected in lines[1], lines


@pytest.mark.parametrize("command", _commands())
def test_every_command_answers_a_mistyped_option_with_its_usage_line(capsys, command):
    assert run([*command.split(), "--bogus"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"Usage: transcode {command}"), lines
    assert lines[1].startswith("transcode: error: No such option: --bogus"), lines
    assert lines[1].endswith(f"(see 'transcode {command} --help')"), lines


def test_the_table_covers_every_kind_of_bad_input():
    """The issue's kinds: each has rows here (a guard against the table shrinking unnoticed)."""
    ids = " ".join(row[0] for row in ROWS + USAGE_ROWS)
    for kind in (
        "zip bomb",
        "alias bomb",
        "read-only",
        "a folder",
        "latin-1",
        "1,000,000",
        "131,072",
        "--db",
        "N=2^24",
        "--resamples",
        "2^64",
        "over 100",
        "--model-name",
        "categories: 5",
    ):
        assert kind in ids, kind
    assert len(ROWS) + len(USAGE_ROWS) >= 100
