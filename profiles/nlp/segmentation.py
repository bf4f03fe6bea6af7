"""Text cleaning and word segmentation for Chinese, English and mixed-script review text.

Holds the one jieba tokenizer the project uses (global ``jieba.dt``, loaded once with the
cultural-product user dictionary in ``data/user_dict.txt``, silent), the stop-word lists, and
the functions every other NLP module builds on:

- ``clean_text(value)``: anything (str, bytes in any encoding, None, numbers) → safe str;
- ``tokens(text)``: Chinese runs segmented by jieba, Latin runs tokenised as English words;
- ``content_words(text)``: ``tokens`` without stop words, punctuation, numbers and emoji.

No Django imports here.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT_PATH = DATA_DIR / "user_dict.txt"
STOPWORDS_ZH_PATH = DATA_DIR / "stopwords_zh.txt"
STOPWORDS_EN_PATH = DATA_DIR / "stopwords_en.txt"

# Reviews past this length are truncated: keywords and classifiers gain nothing from a novel,
# and jieba's cost grows linearly with it.
MAX_TEXT_CHARS = 2000

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]*(?:['’-][a-z0-9]+)*")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCRIPT_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9'’-]+")

_init_lock = threading.Lock()
_initialised = False


def clean_text(value: object, *, max_chars: int = MAX_TEXT_CHARS, normalise: bool = True) -> str:
    """Return ``value`` as a printable string of at most ``max_chars`` characters.

    Bytes are decoded as UTF-8, then GB18030 (what Chinese Windows exports use), and finally
    UTF-8 with replacement characters, so no input raises. With ``normalise`` (for models, not
    for text shown to people), NFKC folds full-width Latin letters, digits and punctuation
    (ＡＢＣ１２３，！) into ASCII so English tokenisation sees them.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        text = _decode_bytes(bytes(value))
    else:
        text = str(value)
    text = text[: max_chars * 2]
    if normalise:
        text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_CHARS.sub(" ", text).replace("\ufffd", " ")
    return text[:max_chars].strip()


def _decode_bytes(raw: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def ensure_jieba() -> None:
    """Load jieba's dictionary and our user dictionary exactly once, without log output.

    jieba pickles its prefix dictionary to a cache file; we pin that file in the temp dir so
    every process after the first loads in well under a second instead of rebuilding it.
    """
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if _initialised:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = tempfile.gettempdir()
        jieba.dt.cache_file = "jieba.cache"
        jieba.dt.initialize()
        jieba.dt.load_userdict(str(USER_DICT_PATH))
        _initialised = True


@lru_cache(maxsize=1)
def user_dictionary_terms() -> frozenset[str]:
    """The craft and product terms of the user dictionary."""
    lines = USER_DICT_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0] for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Chinese and English stop words, lower-case."""
    words: set[str] = set()
    for path in (STOPWORDS_ZH_PATH, STOPWORDS_EN_PATH):
        for line in path.read_text(encoding="utf-8").splitlines():
            word = line.strip().lower()
            if word and not word.startswith("#"):
                words.add(word)
    return frozenset(words)


def english_tokens(text: str) -> list[str]:
    """Lower-case English words of ``text`` with plurals folded (vases → vase)."""
    return [_singular(word.replace("’", "'")) for word in _LATIN_WORD.findall(text.lower())]


_IRREGULAR_PLURALS = {"scarves": "scarf", "knives": "knife", "leaves": "leaf", "shelves": "shelf"}


def _singular(word: str) -> str:
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if len(word) <= 3 or word.endswith(("ss", "us", "is", "'s")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def chinese_tokens(text: str) -> list[str]:
    """jieba words of a run of Chinese characters (precise mode, HMM on)."""
    ensure_jieba()
    return [word for word in jieba.lcut(text) if word.strip()]


def tokens(text: object) -> list[str]:
    """All word tokens of ``text`` in order: Chinese runs by jieba, Latin runs as English words.

    Punctuation, emoji and other symbols are dropped. jieba is never handed English, so
    "silk scarf" stays two words instead of being split into letters or glued together.
    """
    cleaned = clean_text(text)
    result: list[str] = []
    for match in _SCRIPT_RUN.finditer(cleaned):
        run = match.group()
        if _CJK_RUN.fullmatch(run):
            result.extend(chinese_tokens(run))
        else:
            result.extend(english_tokens(run))
    return result


def is_content_word(word: str) -> bool:
    """True for words worth counting: not a stop word, not a number, not a single Latin letter."""
    if word in stop_words() or word.isdigit():
        return False
    if word.isascii():
        return len(word) > 1
    return True


def content_words(text: object) -> list[str]:
    """``tokens(text)`` without stop words, numbers and one-letter Latin tokens."""
    return [word for word in tokens(text) if is_content_word(word)]


def chinese_part(text: str) -> str:
    """The Chinese runs of ``text`` joined by spaces (what jieba's TextRank should see)."""
    return " ".join(_CJK_RUN.findall(text))
