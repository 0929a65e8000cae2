"""Checking a user's results table against the CQR rules and the data."""

from __future__ import annotations

import pytest

from transcode.cross import Comparison, CrossOptions, Membership, check_table, cross_analysis
from transcode.cross.consistency import parse_cell, parse_column
from transcode.cross.io import read_user_table
from transcode.cross.render import render_csv
from transcode.errors import InputError

DOMAIN = "Antecedents"
OPTIONS = CrossOptions(comparisons=(Comparison("anxiety"),))


def study() -> dict:
    """N = 14, anxiety high 5 / low 5 / mid 4: the worked example of cqr/README.md."""
    cases = {f"c{i:02d}": {"anxiety": v} for i, v in enumerate(["high"] * 5 + ["low"] * 5 + ["mid"] * 4, 1)}
    ids = list(cases)
    rows = [Membership(c, DOMAIN, "", "Tense start", "") for c in [ids[0], *ids[5:12]]]  # 8: 1 high, 5 low
    rows += [Membership(c, DOMAIN, "", "Withdrew", "") for c in ids[:13]]  # 13
    rows += [Membership(c, DOMAIN, "", "Pushed", "") for c in ids[:6]]  # 6: 5 high, 1 low
    rows += [Membership(c, "Consequences", "", "Repair", "") for c in ids[1:3]]  # 2: 2 high
    return cross_analysis(rows, cases, OPTIONS)


def write(tmp_path, text: str):
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "label", "count", "star"),
    [
        ("T (8)", "typical", 8, False),
        ("G (5)*", "general", 5, True),
        ("typical", "typical", None, False),
        ("Variant (3) *", "variant", 3, True),
        ("r(2)", "rare", 2, False),
        ("1", "", 1, False),
        ("", "", None, False),
        ("\u2014", "", None, False),
    ],
)
def test_parse_cell(text, label, count, star):
    cell = parse_cell(text)
    assert (cell.label, cell.count, cell.star) == (label, count, star)


def test_parse_cell_rejects_other_text():
    for text in ("lots", "T (8", "X (3)", "*"):
        with pytest.raises(ValueError, match="cannot read frequency cell"):
            parse_cell(text)


def test_parse_column():
    assert parse_column("Total (N = 14)").is_sample and parse_column("Total (N = 14)").n == 14
    assert parse_column("label").is_sample
    high = parse_column("anxiety=high (n = 5)")
    assert (high.attribute, high.group, high.n) == ("anxiety", "high", 5)
    assert (parse_column("Anxiety: low").attribute, parse_column("Anxiety: low").group) == ("anxiety", "low")
    assert (parse_column("high").attribute, parse_column("high").group) == (None, "high")


def test_rendered_csv_is_consistent(tmp_path):
    result = study()
    table = read_user_table(write(tmp_path, render_csv(result)))
    assert check_table(table, result, OPTIONS) == []


def test_planted_inconsistencies_are_each_reported(tmp_path):
    result = study()
    text = (
        "domain,category,Total (N = 14),high (n = 6),low (n = 5)\n"
        f"{DOMAIN},,,,\n"  # a heading row
        ",Withdrew,T (13),G (5),G (5)\n"  # 13 of 14 is general, not typical
        ",Tense start,T (9),1,G (5)\n"  # count 9 (data 8) and the * on low is missing
        ",Pushed,V (6),G (5)*,1*\n"  # an extra * on the lower group
        ",Invented,V (3),,\n"  # not in the data
        ",Withdrew,G (13),G (5),G (5)\n"  # duplicate row
    )
    disagreements = check_table(read_user_table(write(tmp_path, text)), result, OPTIONS)
    found = {(d.kind, d.line, d.row) for d in disagreements}
    assert found == {
        ("n", 1, "(header)"),
        ("label", 3, f"{DOMAIN} / Withdrew"),
        ("count", 4, f"{DOMAIN} / Tense start"),
        ("meaningful", 4, f"{DOMAIN} / Tense start"),
        ("meaningful", 5, f"{DOMAIN} / Pushed"),
        ("unknown_row", 6, f"{DOMAIN} / Invented"),
        ("duplicate_row", 7, f"{DOMAIN} / Withdrew"),
        ("missing_row", None, "Consequences / Repair"),
    }
    label = next(d for d in disagreements if d.kind == "label")
    assert (label.stated, label.expected) == ("typical", "general")
    star = next(d for d in disagreements if d.kind == "meaningful" and d.line == 5)
    assert "belongs on high" in star.message


def test_a_label_is_checked_against_the_stated_count(tmp_path):
    result = study()
    text = "domain,category,sample\nAntecedents,Tense start,V (7)\n"  # wrong count, but V fits 7 of 14
    kinds = [d.kind for d in check_table(read_user_table(write(tmp_path, text)), result, OPTIONS)]
    assert "count" in kinds and "label" not in kinds


def test_labels_only_table_is_checked_against_the_data(tmp_path):
    result = study()
    text = (
        "domain,category,label\n"
        "Antecedents,Withdrew,general\nAntecedents,Tense start,typical\n"
        "Antecedents,Pushed,typical\nConsequences,Repair,variant\n"
    )
    disagreements = check_table(read_user_table(write(tmp_path, text)), result, OPTIONS)
    assert [(d.kind, d.row, d.expected) for d in disagreements] == [
        ("label", "Antecedents / Pushed", "variant")
    ]


def test_unknown_subgroup_column_and_bad_cells_name_the_line(tmp_path):
    result = study()
    path = write(tmp_path, "domain,category,Total,gender=f\nAntecedents,Withdrew,G (13),1\n")
    with pytest.raises(InputError, match="matches no compared subgroup") as err:
        check_table(read_user_table(path), result, OPTIONS)
    assert (err.value.path, err.value.line) == (str(path), 1)
    path = write(tmp_path, "domain,category,Total\nAntecedents,Withdrew,G (13)\nAntecedents,Pushed,many\n")
    with pytest.raises(InputError, match="cannot read frequency cell") as err:
        read_user_table(path)
    assert err.value.line == 3
    with pytest.raises(InputError, match="no frequency column"):
        read_user_table(write(tmp_path, "domain,category\nAntecedents,Withdrew\n"))
    with pytest.raises(InputError, match="missing column"):
        read_user_table(write(tmp_path, "domain,Total\nAntecedents,G (13)\n"))
