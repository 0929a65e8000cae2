"""``transcode code`` refuses bad input with one line on stderr and exit 2, before any screen opens."""

from __future__ import annotations

import pytest

from tests.support.cli import run_transcode
from tests.support.stores import build_store


@pytest.fixture()
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = build_store(url)
    store.judge("Aud", "auditor")
    store.close()
    return url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "coding needs --judge NAME"),
        (["--audit"], "auditing needs --judge NAME"),
        (["--judge", "A", "--order", "random"], "--order must be transcript or uncertainty"),
        (["--judge", "A", "--consensus", "--audit"], "choose one of --consensus and --audit"),
        (["--judge", "A", "--case", "99"], "case '99' has no thought units"),
        (["--judge", "Aud"], "Aud is an auditor"),
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
