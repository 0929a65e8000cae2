"""The command line never shows a traceback: usage errors, bad input and bugs each get their lines."""

from __future__ import annotations

import pytest

from tests.support.cli import run_transcode
from transcode.cli import DEBUG_ENV, run


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (["precode"], "Usage: transcode precode", "Missing argument 'files'"),
        (["status", "--bogus"], "Usage: transcode status", "No such option: --bogus"),
        (["agree", "--window", "0"], "Usage: transcode agree", "Invalid value for '--window'"),
        (["bogus"], "Usage: transcode [OPTIONS] COMMAND", "No such command 'bogus'"),
        (["coreideas", "draft", "--case", "01"], "Usage: transcode coreideas draft", "--domain"),
        (["export", "--out", "x", "--format", "pdf"], "Usage: transcode export", "'pdf' is not one of"),
    ],
)
def test_a_usage_error_is_the_usage_line_and_one_error_line_exit_2(args, usage, message):
    done = run_transcode(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(usage), done.stderr
    assert lines[1].startswith("transcode: error: ") and message in lines[1], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_bad_input_is_one_line_exit_2(tmp_path):
    done = run_transcode("status", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no transcode store" in done.stderr


def test_a_bug_is_one_line_and_exit_1_with_the_traceback_on_request(tmp_path, monkeypatch, capsys):
    from transcode.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run(["init", "--db", url]) == 0
    capsys.readouterr()

    def broken(self):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(Store, "status", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert run(["status", "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError: division by zero" in err
    assert "Traceback" not in err
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(ZeroDivisionError):
        run(["status", "--db", url])


def test_help_is_shown_and_exits_0():
    done = run_transcode("status", "--help")
    assert done.returncode == 0 and "Usage: transcode status" in done.stdout


def test_the_safety_net_masks_secrets_in_context_only(monkeypatch):
    """A password shows nowhere as ``:PASSWORD@`` or ``password=PASSWORD``; a password that is also
    a common word ("transcode") does not blank that word out elsewhere."""
    from transcode.cli import _one_line, _secrets

    monkeypatch.setenv("TRANSCODE_DB", "postgresql://ana:transcode@db/transcode?sslpassword=k%40y")
    monkeypatch.setenv("TRANSCODE_KEY_PASSPHRASE", "correct horse battery")
    secrets = _secrets(["status", "--db=postgresql://bo:p%40ss@h/s"])
    line = _one_line(
        "transcode failed on postgresql://ana:transcode@db/transcode?sslpassword=k@y and "
        "postgresql://bo:p@ss@h/s with 'correct horse battery'",
        secrets,
    )
    assert line == (
        "transcode failed on postgresql://ana:***@db/transcode?sslpassword=*** and "
        "postgresql://bo:***@h/s with '***'"
    )
