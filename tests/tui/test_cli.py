"""``transcode code`` refuses bad input with one line on stderr and exit 2, before any screen opens."""

from __future__ import annotations

import pytest

from tests.support.cli import run_transcode
from tests.support.stores import build_store


@pytest.fixture()
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_store(url).close()
    return url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "coding needs --judge NAME"),
        (["--audit"], "auditing needs --judge NAME"),
        (["--judge", "A", "--order", "random"], "--order must be transcript or uncertainty"),
        (["--judge", "A", "--consensus", "--audit"], "choose one of --consensus and --audit"),
        (["--judge", "A", "--case", "99"], "no case '99' in the store"),
        (["--judge", "Aud"], "Aud is an auditor"),
        (["--judge", "Zed"], "'Zed' is not a registered person of this study"),
        (["--judge", "A", "--consensus"], "no case is open for consensus yet"),
        (["--judge", "A", "--consensus", "--case", "01"], "the consensus view would show one judge's codes"),
        (["--judge", "A", "--consensus", "--unlock"], "A is a judge; --unlock needs a lead"),
        (["--judge", "A", "--unlock"], "--unlock goes with --consensus"),
        (
            ["--consensus", "--unlock"],
            "--unlock needs the lead who takes responsibility for it: --judge LEAD",
        ),
        (["--judge", "A", "--audit"], "nothing to audit yet"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(url, args, message):
    result = run_transcode("code", "--db", url, "--no-model", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_a_missing_store_names_the_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = run_transcode("code", "--db", url, "--judge", "A")
    assert result.returncode == 2 and "no transcode store" in result.stderr and url in result.stderr
