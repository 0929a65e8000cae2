"""Codebook YAML (CONTRACT section 2): parsing, validation errors, fingerprints."""

from __future__ import annotations

import pytest

from tests.support import DEMO
from transcode.codebook import load_codebook, parse_codebook
from transcode.errors import InputError


def test_demo_codebook_loads_with_questions_and_descriptions():
    book = load_codebook(DEMO / "codebook.yaml")
    assert len(book.domains) == 8 and book.domain_ids[0] == "client_context"
    assert all(d.description and d.questions for d in book.domains)


def test_categories_and_subcategories_parse():
    book = parse_codebook(
        {
            "domains": [
                {
                    "id": "a",
                    "categories": [
                        {"id": "c1", "name": "One", "subcategories": [{"id": "s1", "name": "Sub"}]}
                    ],
                }
            ]
        }
    )
    assert book.domains[0].categories[0].subcategories[0].name == "Sub"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "non-empty 'domains'"),
        ({"domains": [{"name": "no id"}]}, "needs an 'id'"),
        ({"domains": [{"id": "Bad Id"}]}, "must match"),
        ({"domains": [{"id": "a"}, {"id": "a"}]}, "duplicate"),
        ({"domains": [{"id": "other"}]}, "reserved"),
        ({"domains": [{"id": "a", "questions": "not a list"}]}, "must be a list"),
    ],
)
def test_invalid_codebooks_are_refused(data, message):
    with pytest.raises(InputError, match=message):
        parse_codebook(data)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text("domains:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_codebook(path)
    assert err.value.path == str(path) and err.value.line is not None


def test_fingerprint_changes_with_content_only():
    a = parse_codebook({"domains": [{"id": "a", "name": "A"}]}, "x.yaml")
    b = parse_codebook({"domains": [{"id": "a", "name": "A"}]}, "y.yaml")
    c = parse_codebook({"domains": [{"id": "a", "name": "B"}]})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
