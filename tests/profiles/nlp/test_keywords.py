import subprocess
import sys
from pathlib import Path

from profiles.nlp.keywords import (
    CART_WEIGHT,
    PURCHASE_WEIGHT,
    VIEW_WEIGHT,
    customer_keywords,
    tag_keywords,
    text_keywords,
)
from profiles.nlp.segmentation import clean_text, content_words, tokens, user_dictionary_terms

REPO = Path(__file__).resolve().parents[3]


def test_user_dictionary_terms_stay_whole():
    assert tokens("景泰蓝书签和苏绣团扇") == ["景泰蓝", "书签", "和", "苏绣", "团扇"]
    assert {"祥云", "剪纸", "折扇", "景泰蓝", "皮影", "刺绣", "青花", "漆器"} <= user_dictionary_terms()


def test_chinese_review_keywords_contain_craft_terms():
    review = "这把苏绣团扇的绣工很细腻，扇面上的祥云纹样很有韵味，送给朋友当伴手礼很合适。"
    words = [word for word, _ in text_keywords(review, top_k=8)]
    assert {"苏绣", "团扇", "祥云"} & set(words), words
    assert "的" not in words and "很" not in words


def test_english_is_tokenised_not_segmented():
    words = [word for word, _ in text_keywords("Beautiful hand-painted vases. The vases arrived safely, the glaze is lovely.")]
    assert words[0] == "vase"
    assert "hand-painted" in words and "the" not in words


def test_mixed_script_keeps_both_languages():
    found = tokens("这条silk scarf很柔软，Earrings也不错")
    assert {"silk", "scarf", "earring", "柔软"} <= set(found)


def test_stop_words_and_symbols_are_dropped():
    assert content_words("我觉得这个东西真的很好！！😀 and the") == ["好"]


def test_customer_keywords_weight_each_step_of_the_funnel():
    keywords = customer_keywords([("青花花瓶", VIEW_WEIGHT), ("紫砂茶具", VIEW_WEIGHT), ("紫砂茶具", CART_WEIGHT),
                                  ("紫砂茶具", PURCHASE_WEIGHT)])
    ranked = list(keywords)
    assert ranked.index("紫砂") < ranked.index("青花") and ranked.index("茶具") < ranked.index("花瓶")
    assert keywords["紫砂"] > keywords["青花"] * 2  # viewed, carted and bought against viewed
    assert "紫砂" in customer_keywords([("紫砂茶具", PURCHASE_WEIGHT)])  # customers known only from orders


def test_customer_keywords_respect_top_k_and_skip_zero_weights():
    texts = [(f"剪纸 窗花 年画 第{i}款 中国结 皮影 风筝 泥人", 1.0) for i in range(5)] + [("景泰蓝", 0.0)]
    keywords = customer_keywords(texts, top_k=3)
    assert len(keywords) == 3 and "景泰蓝" not in keywords


def test_tags_count_verbatim_even_where_textrank_drops_them():
    # jieba tags 实用 and 送礼 as verbs and 环保 as an abbreviation: TextRank's filter drops them.
    assert not {"实用", "送礼", "环保"} & {word for word, _ in text_keywords("实用 送礼 环保 剪纸")}
    assert dict(tag_keywords(["实用", " 送礼 ", "环保", "Blue  Glaze", "的", "", 7, "a"])) == {
        "实用": 1.0, "送礼": 1.0, "环保": 1.0, "blue glaze": 1.0}
    assert tag_keywords("实用") == [] and tag_keywords(None) == []


def test_customer_keywords_weight_tags_by_event():
    keywords = customer_keywords([("剪纸书签", VIEW_WEIGHT)],
                                 weighted_tags=[(["实用"], VIEW_WEIGHT), (["送礼"], PURCHASE_WEIGHT)])
    assert keywords["送礼"] == PURCHASE_WEIGHT * keywords["实用"]
    assert "剪纸" in keywords


def test_odd_texts_do_not_crash(odd_text):
    assert isinstance(clean_text(odd_text), str)
    assert isinstance(tokens(odd_text), list)
    assert isinstance(text_keywords(odd_text), list)
    assert isinstance(customer_keywords([(odd_text, 1.0), (odd_text, 4.0)], weighted_tags=[([odd_text], 1.0)]), dict)


def test_bytes_are_decoded_from_gb18030():
    assert clean_text("汝窑茶杯".encode("gb18030")) == "汝窑茶杯"


def test_very_long_text_is_truncated():
    assert len(clean_text("扇" * 100_000)) == 2000


def test_jieba_initialises_silently():
    code = "from profiles.nlp.segmentation import tokens; print(tokens('测试折扇'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "折扇" in result.stdout
