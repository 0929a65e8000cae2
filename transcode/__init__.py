"""transcode: a Consensual Qualitative Research engine.

``transcode.open(db)`` gives read-only pandas DataFrames of a project store (see transcode.api);
it is imported on first use so the command line starts fast.
"""


def __getattr__(name: str):
    if name == "open":
        from transcode.api import open as open_project

        return open_project
    raise AttributeError(f"module 'transcode' has no attribute {name!r}")
