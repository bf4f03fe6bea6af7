"""manage.py analyze_reviews end to end (needs Django settings; no database)."""

import csv

import pytest
from django.core.management import CommandError, call_command

LONG_TEXT = "这把折扇做工很精致，" * 2000

ROWS = [
    {"review_id": "r1", "rating": "5", "备注": "老客户", "text": "质量很好，扇面上的祥云图案很漂亮，非常满意"},
    {"review_id": "r2", "rating": "1", "备注": "", "text": "太差了，扇骨用了一天就断了"},
    {"review_id": "r3", "rating": "4", "备注": "多行", "text": "希望包装少用塑料。\n换成可回收的纸盒就好了"},
    {"review_id": "r4", "rating": "", "备注": "空", "text": ""},
    {"review_id": "r5", "rating": "3", "备注": "emoji", "text": "😀😀👍"},
    {"review_id": "r6", "rating": "5", "备注": "long", "text": LONG_TEXT},
    {"review_id": "r7", "rating": "4", "备注": "mixed", "text": "这条silk scarf真的很soft, love it"},
]


def write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_round_trip_keeps_columns_and_survives_odd_texts(tmp_path, encoding):
    source, target = tmp_path / "reviews.csv", tmp_path / "analysed.csv"
    write_csv(source, ROWS, encoding=encoding)
    call_command("analyze_reviews", "--input", str(source), "--output", str(target), "--no-progress")
    rows = read_csv(target)
    assert list(rows[0]) == ["review_id", "rating", "备注", "text", "sentiment", "label", "is_demand", "demand_type", "keywords"]
    assert [row["review_id"] for row in rows] == [row["review_id"] for row in ROWS]
    for original, analysed in zip(ROWS, rows):
        assert {key: analysed[key] for key in original} == original
    by_id = {row["review_id"]: row for row in rows}
    assert by_id["r1"]["label"] == "pos" and float(by_id["r1"]["sentiment"]) > 0.5
    assert by_id["r2"]["label"] == "neg" and float(by_id["r2"]["sentiment"]) < 0.5
    assert by_id["r3"]["is_demand"] == "true" and by_id["r3"]["demand_type"] == "L5"
    assert by_id["r1"]["is_demand"] == "false" and by_id["r1"]["demand_type"] == ""
    assert "祥云" in by_id["r1"]["keywords"]
    assert by_id["r4"]["sentiment"] == "" and by_id["r4"]["label"] == "" and by_id["r4"]["is_demand"] == "false"
    assert by_id["r5"]["label"] == ""
    assert by_id["r6"]["label"] in {"pos", "neg"}
    assert "silk" in by_id["r7"]["keywords"]


def test_missing_text_column_is_a_clear_error(tmp_path):
    source = tmp_path / "reviews.csv"
    write_csv(source, [{"id": "1", "comment": "很好"}])
    with pytest.raises(CommandError, match="no 'text' column"):
        call_command("analyze_reviews", "--input", str(source), "--output", str(tmp_path / "out.csv"), "--no-progress")


def test_missing_input_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("analyze_reviews", "--input", str(tmp_path / "no.csv"), "--output", str(tmp_path / "out.csv"))
