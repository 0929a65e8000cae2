"""Bad and hostile input files, made at test time and small: zip bombs of a few KB, YAML alias
bombs, crafted key files, wrong encodings. Each builder writes one file under a folder and
returns its path; :class:`HostileFiles` makes them on first use by name."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

GOOD_TRANSCRIPT = (
    "# case: 01\nI: How did the session go?\nP: It went well, I think we understood each other.\n"
)
GOOD_CODEBOOK = """name: Test codebook
domains:
  - id: relationship
    name: Relationship
    description: The bond between client and therapist.
  - id: repair
    name: Repair
    description: How a rupture was repaired.
"""


def minimal_docx(document_xml: str | bytes | Callable[[IO[bytes]], None]) -> bytes:
    """A .docx package: content types, package relationships and the main part, given as text or
    as a function that streams it into the member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        package.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        if callable(document_xml):
            with package.open("word/document.xml", "w") as member:
                document_xml(member)
        else:
            package.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


def paragraphs_xml(lines: list[str]) -> str:
    body = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in lines)
    return (
        '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>'
    )


def repetitive_docx(megabytes: int) -> bytes:
    """A transcript whose main part is ``megabytes`` MB of one paragraph repeated (packs ~350:1)."""
    head, tail = paragraphs_xml(["I: Hello?"]).split("</w:body>")
    chunk = b"<w:p><w:r><w:t>P: and then we talked again</w:t></w:r></w:p>" * 16_000

    def write(member: IO[bytes]) -> None:
        member.write(head.encode())
        for _ in range(megabytes):
            member.write(chunk)
        member.write(b"</w:body>" + tail.encode())

    return minimal_docx(write)


def unreferenced_bomb_docx(megabytes: int = 100) -> bytes:
    """A small, valid transcript plus an unreferenced member of ``megabytes`` MB of zeros."""
    buffer = io.BytesIO(minimal_docx(paragraphs_xml(["I: Hello?", "P: Fine."])))
    block = b"\0" * (1 << 20)
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as package,
        package.open("word/media/bomb.bin", "w") as member,
    ):
        for _ in range(megabytes):
            member.write(block)
    return buffer.getvalue()


def alias_bomb_yaml() -> str:
    """Nine levels of nine aliases: 9^9 (387 million) nodes once expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\ndomains: *a9\n"


def crafted_key_file(n: int = 2**24, r: int = 8, p: int = 1) -> str:
    """A key file envelope asking scrypt for 128 * n * r bytes (16 GiB by default)."""
    return json.dumps(
        {
            "format": "transcode-deid-key",
            "version": 1,
            "kdf": {"name": "scrypt", "salt": base64.b64encode(b"s" * 16).decode(), "n": n, "r": r, "p": p},
            "cipher": "AES-256-GCM",
            "nonce": base64.b64encode(b"n" * 12).decode(),
            "ciphertext": base64.b64encode(b"c" * 32).decode(),
        }
    )


class HostileFiles:
    """Files by name, made on first use in ``folder``: ``files["bomb_docx"]`` is a path."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.made: dict[str, Path] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self.made:
            builder = BUILDERS[name]
            suffix, content = builder()
            path = self.folder / f"{name}{suffix}"
            if content is None:
                path.mkdir()
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            self.made[name] = path
        return str(self.made[name])


def _long_turn() -> str:
    return "I: Go on.\nP: " + "word " * 200_001 + "\n"


def _long_csv_field() -> str:
    return 'speaker,text\nI,Hello?\nP,"' + "x" * 140_000 + '"\n'


BUILDERS: dict[str, Callable[[], tuple[str, str | bytes | None]]] = {
    "good_txt": lambda: (".txt", GOOD_TRANSCRIPT),
    "good_codebook": lambda: (".yaml", GOOD_CODEBOOK),
    "folder": lambda: ("", None),
    "folder_txt": lambda: (".txt", None),
    "folder_csv": lambda: (".csv", None),
    "folder_yaml": lambda: (".yaml", None),
    "latin1_txt": lambda: (".txt", "I: Ça va?\nP: Très bien.\n".encode("latin-1")),
    "nul_txt": lambda: (".txt", b"I: Hello\x00\nP: Hi\n"),
    "empty_txt": lambda: (".txt", ""),
    "prose_txt": lambda: (".txt", "Just some prose without any speaker.\n"),
    "unknown_speaker_txt": lambda: (".txt", "I: Hello?\nDr Smith: Hi there.\n"),
    "long_turn_txt": lambda: (".txt", _long_turn()),
    "pdf": lambda: (".pdf", b"%PDF-1.4\n"),
    "long_field_csv": lambda: (".csv", _long_csv_field()),
    "no_columns_csv": lambda: (".csv", "who,said\nI,Hello\n"),
    "bad_time_csv": lambda: (".csv", "speaker,text,start\nI,Hello,soon\n"),
    "bad_vtt": lambda: (".vtt", "not a caption file at all\n"),
    "bad_srt": lambda: (".srt", "1\nnonsense --> nonsense\nP: hi\n"),
    "bomb_docx": lambda: (".docx", repetitive_docx(72)),
    "ratio_docx": lambda: (".docx", repetitive_docx(4)),
    "not_zip_docx": lambda: (".docx", b"PK\x03\x04 this is not really a zip"),
    "text_docx": lambda: (".docx", "I: a text file named .docx\n"),
    "no_main_docx": lambda: (".docx", _no_main_docx()),
    "bad_xml_docx": lambda: (".docx", minimal_docx("<w:document><w:body><w:p>")),
    "unreferenced_bomb_docx": lambda: (".docx", unreferenced_bomb_docx()),
    "laughs_docx": lambda: (".docx", minimal_docx(_laughs_xml())),
    "xxe_docx": lambda: (".docx", minimal_docx(_xxe_xml())),
    "alias_bomb_yaml": lambda: (".yaml", alias_bomb_yaml()),
    "categories_5_yaml": lambda: (".yaml", GOOD_CODEBOOK + "    categories: 5\n"),
    "newline_id_yaml": lambda: (".yaml", 'domains:\n  - id: "a\\n"\n'),
    "list_name_yaml": lambda: (".yaml", "domains:\n  - id: a\n    name: [1, 2]\n"),
    "list_yaml": lambda: (".yaml", "- just\n- a list\n"),
    "broken_yaml": lambda: (".yaml", "domains: [\n"),
    "latin1_yaml": lambda: (".yaml", "name: caf\xe9\n".encode("latin-1")),
    "bands_list_yaml": lambda: (".yaml", "general: [1, 2]\ntypical: '> 1/2'\n"),
    "cases_csv": lambda: (".csv", "case,anxiety\n01,high\n"),
    "latin1_csv": lambda: (".csv", "case,anxiety\n01,\xe9lev\xe9\n".encode("latin-1")),
    "latin1_jsonl": lambda: (".jsonl", '{"case": "caf\xe9"}\n'.encode("latin-1")),
    "bad_jsonl": lambda: (".jsonl", '{"case": "01", "unit": \n'),
    "gold_types_jsonl": lambda: (".jsonl", '{"case": ["01"], "unit": "u", "turn": 1, "text": "t"}\n'),
    "not_a_model": lambda: ("", None),
    "key_bomb": lambda: (".key", crafted_key_file()),
    "key_odd_n": lambda: (".key", crafted_key_file(n=3 * 2**14)),
    "key_not_json": lambda: (".key", "not json"),
    "key_list": lambda: (".key", "[1, 2, 3]"),
    "key_wrong_format": lambda: (".key", '{"format": "something else", "version": 1}'),
    "ratings_bad": lambda: (".csv", "unit,judge\n1,ana\n"),
    "sqlite_not_db": lambda: (".db", b"this is not a database file, just text" * 100),
    "not_qdpx": lambda: (".qdpx", b"not a zip"),
    "not_qdc": lambda: (".qdc", "not xml"),
}


def _no_main_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("_rels/.rels", '<Relationships xmlns="urn:x"/>')
    return buffer.getvalue()


def _laughs_xml() -> str:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>P: &lol9;</w:t></w:r></w:p></w:body></w:document>"
    )


def _xxe_xml() -> str:
    return (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>P: &x;</w:t></w:r></w:p></w:body></w:document>"
    )
