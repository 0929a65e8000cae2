"""Small REFI-QDA projects written as another tool would write them (no transcode metadata)."""

from __future__ import annotations

import zipfile
from pathlib import Path

A, B, C = (f"{n}0000000-0000-4000-8000-000000000000" for n in (1, 2, 3))
CODE_1, CODE_2, FOLDER, OTHER_CODE = (f"{n}1111111-0000-4000-8000-000000000000" for n in (4, 5, 6, 7))
SOURCE = "80000000-0000-4000-8000-000000000000"
TEXT = "I: How did it start?\nP: She went quiet. Then she left.\nI: And then?\nP: I called her.\n"
CODES = f"""<Code guid="{CODE_1}" name="Émotions 😬" isCodable="true"/>
<Code guid="{FOLDER}" name="Folder" isCodable="false">
<Code guid="{CODE_2}" name="Эмоции" isCodable="true"/></Code>
<Code guid="{OTHER_CODE}" name="Other (no domain)" isCodable="true"/>"""


def guid_of(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def selection(start: int, end: int, user: str | None = A, coder: str | None = A, code: str = CODE_1) -> str:
    on_selection = f' creatingUser="{user}"' if user else ""
    on_coding = f' creatingUser="{coder}"' if coder else ""
    return (
        f'<PlainTextSelection guid="{guid_of(start * 1000 + end)}" '
        f'startPosition="{start}" endPosition="{end}"'
        f'{on_selection}><Coding guid="{guid_of(start * 1000 + end + 500)}"{on_coding}>'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def write_project(
    path: Path,
    selections: list[str],
    *,
    text: str = TEXT,
    users: str = f'<User guid="{A}" name="A"/><User guid="{B}" name="B"/>',
    extra: str = "",
    source_attributes: str = 'plainTextPath="internal://s.txt"',
    members: dict[str, bytes] | None = None,
) -> Path:
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="mini" origin="elsewhere">
<Users>{users}</Users>
<CodeBook><Codes>{CODES}</Codes></CodeBook>
<Sources><TextSource guid="{SOURCE}" name="C:\\data\\interview_7.txt" {source_attributes}>
{"".join(selections)}</TextSource>
{extra}</Sources>
</Project>"""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde)
        archive.writestr("sources/s.txt", text.encode("utf-8"))
        for name, data in (members or {}).items():
            archive.writestr(name, data)
    return path


def span(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)
