"""Odd review texts every NLP function must survive."""

import pytest

ODD_TEXTS = [
    "",
    "   \n\t ",
    "😀😀😀👍",
    "！！！。。。???",
    "很好" * 30_000,
    b"\xff\xfe\xfa\x00broken",
    "汝窑茶杯很好看".encode("gb18030"),
    None,
    12345,
    "\x00\x01控制字符\x7f",
    "ｆｕｌｌ　ｗｉｄｔｈ　ＦＡＮ　团扇",
    "这条silk scarf真的很soft，颜色也nice😍",
]


@pytest.fixture(params=ODD_TEXTS, ids=lambda text: repr(text)[:24])
def odd_text(request):
    return request.param
