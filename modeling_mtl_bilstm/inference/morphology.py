"""Morphological analysis of raw Korean text with Kiwi (kiwipiepy), in the conventions of the training corpora.

The model reads morphemes as the Sejong-tagged corpora write them (KLP 2016: `가/VV 았/EP 다/EF`,
`ㄴ/ETM`). Kiwi is asked for the same conventions where it has an option for them, and its own extensions
of the Sejong tag set are mapped back onto it:

* allomorphs: Kiwi's default merges them (었 for 았/었/였, 어 for 아/어/여). The corpora keep them apart,
  but not as Kiwi does when asked to (하였 gives Kiwi 였, KLP 2016 았), and on the KLP 2016 dev sentences
  the merged forms leave fewer morphemes out of the training vocabulary (6.3% against 7.1%), so Kiwi's
  default is kept;
* compatibility jamo (`compatible_jamo=True`: ㄴ/ETM, not the conjoining ᆫ);
* compounds with a sai-siot kept whole (`saisiot=False`: 나뭇잎/NNG);
* a coda added to an ending or a particle for style (먹었어욥 -> 어요/EF + ㅂ/Z_CODA) is not a morpheme of
  the corpora: it is dropped and its characters given to the previous morpheme (어요 then spans 어욥);
  Z_SIOT, which `saisiot=False` should never produce, is treated the same way;
* the other Kiwi-only tags map to their nearest Sejong tag (`KIWI_TO_SEJONG_TAGS`), and the `-R`/`-I`
  (regular/irregular conjugation) suffixes of `VV-I`, `VA-R`... are stripped.

Every morpheme keeps its character span in the original string, from Kiwi's `Token.start`/`Token.len`
(Python code points). Morphemes of a contraction share their span (했 -> 하 and 았 both span 했).
A long text is analysed in blocks of at most `MAX_BLOCK_CHARS` characters, cut after a sentence end (or else a
space) in the second half of each block: Kiwi keeps everything between an opening quote or bracket and its closing
one in one sentence, so a long document with one unbalanced quote would otherwise become a single sentence of
hundreds of thousands of characters, which Kiwi and the model take much longer than the same text in sentences.
Texts up to `MAX_BLOCK_CHARS` characters are analysed whole, as before. Blocks (of one text or many) go through
Kiwi's worker threads as a stream, so analysis can run while the caller tags earlier sentences.

Kiwi reads precomposed Hangul only, so a text in another normal form (NFD Hangul from macOS file names,
conjoining jamo, decomposed accents) is analysed in NFC and its spans mapped back onto the original
characters: a morpheme of 한 written as ᄒ+ᅡ+ᆫ spans all three.
"""

import bisect
import functools
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple


KOREAN_EXTRA_INSTALL = 'pip install "mtl-bilstm-ner[korean]"'

# Kiwi tags outside the Sejong tag set, and the Sejong tag each one is mapped to.
KIWI_TO_SEJONG_TAGS = {
    "SSO": "SS",  # opening bracket or quote
    "SSC": "SS",  # closing bracket or quote
    "SB": "SW",  # list bullet (1. 가. 나)): Sejong writes the pieces apart; as one token it is a symbol
    "UN": "NA",  # unanalysable
    "XSM": "XSN",  # adverb-deriving suffix (조용히): Sejong has none; XSN is its nearest suffix tag
    "W_URL": "SL",
    "W_EMAIL": "SL",
    "W_MENTION": "SL",
    "W_HASHTAG": "SW",  # starts with '#' and may be Hangul, so not SL
    "W_SERIAL": "SN",  # telephone, account and IP numbers
    "W_EMOJI": "SW",
    # User-dictionary tags: Kiwi's user words are mostly names. Words added with a Sejong tag keep it.
    **{f"USER{i}": "NNP" for i in range(5)},
}
# Kiwi tags of pieces that belong to the previous morpheme in the corpora.
KIWI_MERGED_TAGS = frozenset({"Z_CODA", "Z_SIOT"})
IRREGULARITY_SUFFIXES = ("-R", "-I")

# The longest piece of text that Kiwi analyses at once (see the module docstring).
MAX_BLOCK_CHARS = 2000
# Where a block may end, best first: after a sentence end (final punctuation, closing quotes or brackets, then
# whitespace), or a line break; else after any whitespace.
_SENTENCE_BREAK = re.compile(r"[.!?。…‥][\"'”’)\]」』]*\s+|\n\s*")
_WHITESPACE = re.compile(r"\s+")
# A whitespace-separated word (eojeol), as the corpus builder reads them.
_WORD = re.compile(r"\S+")

# Code points that cannot be encoded (unpaired surrogates): replaced one for one, so offsets are unchanged.
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


class NFCOffsets:
    """The NFC form of a text and, for each of its characters, the span of the original text it comes from.

    The text is cut into the shortest pieces that NFC composes on their own (a starter and the characters
    that compose with it: ᄒ+ᅡ+ᆫ, e+◌́), each normalised apart; every character of a piece's NFC maps
    to the whole piece. Texts already in NFC map one to one, without the walk.
    """

    def __init__(self, text: str):
        self.original_length = len(text)
        if unicodedata.is_normalized("NFC", text):
            self.text, self._starts, self._ends = text, None, None
            return
        pieces, starts, ends = [], [], []
        begin = 0
        while begin < len(text):
            end = begin + 1
            piece = unicodedata.normalize("NFC", text[begin:end])
            # Grow the piece while the next character composes into it (its NFC gains no character).
            while end < len(text):
                longer = unicodedata.normalize("NFC", text[begin : end + 1])
                if len(longer) > len(piece):
                    break
                piece, end = longer, end + 1
            pieces.append(piece)
            starts += [begin] * len(piece)
            ends += [end] * len(piece)
            begin = end
        self.text, self._starts, self._ends = "".join(pieces), starts, ends

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text covered by `self.text[start:end]` (an empty span stays empty)."""
        if self._starts is None:
            return start, end
        original_start = self._starts[start] if start < len(self._starts) else self.original_length
        if end <= start:
            return original_start, original_start
        return original_start, self._ends[end - 1]


@dataclass(frozen=True)
class Morpheme:
    """One morpheme of an analysed text.

    Attributes:
        form: the morpheme as the model reads it (하, 았, ㄴ), not always a substring of the text.
        start, end: its character span in the original text; morphemes of a contraction share it.
        kiwi_tag: Kiwi's tag, as Kiwi wrote it (VV-I, W_URL, SSO...).
        tag: the Sejong tag of the training corpora that `kiwi_tag` stands for.
    """

    form: str
    start: int
    end: int
    kiwi_tag: str
    tag: str


def text_blocks(text: str, max_chars: int = MAX_BLOCK_CHARS) -> list[tuple[int, int]]:
    """Consecutive `[start, end)` blocks covering `text` (one for a text of at most `max_chars` characters, including
    an empty one), each at most `max_chars` long and ending, where its second half has one, after the last sentence
    end there, else after the last whitespace there, else at `max_chars`."""
    if max_chars < 2:
        raise ValueError(f"max_chars: expected an int >= 2, received {max_chars!r}.")
    bounds, begin = [], 0
    while len(text) - begin > max_chars:
        low, high = begin + max_chars // 2, begin + max_chars
        end = (
            _last_match_end(_SENTENCE_BREAK, text, low, high) or _last_match_end(_WHITESPACE, text, low, high) or high
        )
        bounds.append((begin, end))
        begin = end
    bounds.append((begin, len(text)))
    return bounds


def _last_match_end(pattern: re.Pattern, text: str, low: int, high: int) -> int | None:
    """The end of the last match of `pattern` inside `text[low:high]`, or None."""
    end = None
    for match in pattern.finditer(text, low, high):
        end = match.end()
    return end


@functools.cache
def to_sejong_tag(kiwi_tag: str) -> str:
    """The Sejong tag for a Kiwi tag: `-R`/`-I` stripped, Kiwi-only tags mapped (see `KIWI_TO_SEJONG_TAGS`); cached,
    since every morpheme of every text asks."""
    for suffix in IRREGULARITY_SUFFIXES:
        kiwi_tag = kiwi_tag.removesuffix(suffix)
    return KIWI_TO_SEJONG_TAGS.get(kiwi_tag, kiwi_tag)


# Words Kiwi analyses clearly wrongly, found by reviewing every entity of the bundled sample corpus (its README,
# "How it was made"), and the Sejong tag each one gets.
USER_WORDS = (
    # split into meaningless pieces, e.g. 건원릉 -> 거/NNB + ㄴ/JX + 원 + 릉, 이충 -> 이/MM + 충
    ("건원릉", "NNP"), ("장릉", "NNP"), ("영릉", "NNP"), ("대릉원", "NNP"), ("이충", "NNP"),
    ("보문호", "NNP"), ("월영교", "NNP"), ("홍의장군", "NNP"), ("전의감", "NNP"),
    ("장악원", "NNP"), ("삼도수군통제영", "NNP"), ("한국고전번역원", "NNP"), ("촉석루", "NNP"),
    ("남강", "NNP"), ("경기전", "NNP"), ("장경판전", "NNP"), ("우산국", "NNP"),
    ("간송", "NNP"), ("나주", "NNP"), ("삼일절", "NNG"),
    # place and person names read as a common-noun homograph (pearl, princess, copper, ...)
    ("경주", "NNP"), ("개성", "NNP"), ("진주", "NNP"), ("공주", "NNP"), ("조선", "NNP"),
    ("구리", "NNP"), ("모란", "NNP"), ("의상", "NNP"),
    # double-hours of the old twelve-hour clock, read as 오/NR + 시 or 자/IC + 시
    ("자시", "NNG"), ("오시", "NNG"),
)  # fmt: skip


def load_kiwi(**kiwi_kwargs):
    """A new `kiwipiepy.Kiwi` set up as the package analyses text, for training data and raw-text input alike:
    no multi-word dictionary (its entries, such as '백자 달항아리', would be one morpheme spanning a space, which
    the eojeol-indexed corpora cannot express) and the `USER_WORDS`. `kiwi_kwargs` go to `Kiwi(...)`.
    kiwipiepy is imported here, on first use, so that the package works without it for everything but raw-text
    analysis."""
    try:
        from kiwipiepy import Kiwi
    except ImportError as error:
        raise ImportError(
            f"Analysing raw Korean text needs kiwipiepy, which is not installed: {KOREAN_EXTRA_INSTALL}"
        ) from error
    kiwi = Kiwi(**{"load_multi_dict": False, **kiwi_kwargs})
    for word, tag in USER_WORDS:
        kiwi.add_user_word(word, tag)
    return kiwi


class KiwiMorphemeAnalyzer:
    """
    Splits texts into sentences of [`Morpheme`]s with Kiwi, in the conventions of the training corpora
    (see the module docstring).

    Args:
        kiwi (`kiwipiepy.Kiwi`, *optional*): an analyser to use, e.g. one with a user dictionary; by default
            a new one from [`load_kiwi`] (about a second to load).

    Example:

    ```python
    >>> analyzer = KiwiMorphemeAnalyzer()
    >>> [(m.form, m.tag, m.start, m.end) for m in analyzer.analyze(["창제했다"])[0][0]]
    [('창제', 'NNG', 0, 2), ('하', 'XSV', 2, 3), ('었', 'EP', 2, 3), ('다', 'EF', 3, 4)]
    ```
    """

    def __init__(self, kiwi=None, max_block_chars: int = MAX_BLOCK_CHARS):
        self.kiwi = kiwi if kiwi is not None else load_kiwi()
        self.max_block_chars = max_block_chars

    def analyze(self, texts: Sequence[str]) -> list[list[list[Morpheme]]]:
        """The sentences of each text, each a list of morphemes with spans into that text. Texts with no
        analysable character (empty, whitespace) have no sentence."""
        documents, document = [], []
        for block in self.iter_blocks(texts):
            document += block.sentences
            if block.last:
                documents.append(document)
                document = []
        return documents

    def iter_blocks(self, texts: Iterable[str]) -> Iterator["AnalysedBlock"]:
        """The analysis of each block of each text (see the module docstring), in order, lazily: texts are taken
        from `texts` as Kiwi's worker threads need them and blocks come out as they finish, so a caller can tag the
        sentences of one block while Kiwi analyses the next ones. Every text gives at least one block."""
        pending: deque[tuple[str, NFCOffsets, int, bool]] = deque()  # text, its NFC, block start, last block

        def blocks() -> Iterator[str]:
            for index, text in enumerate(texts):
                if not isinstance(text, str):
                    raise TypeError(f"texts[{index}]: expected a str, received {type(text).__name__}.")
                offsets = NFCOffsets(_UNPAIRED_SURROGATE.sub("\ufffd", text))
                bounds = text_blocks(offsets.text, self.max_block_chars)
                for number, (start, end) in enumerate(bounds):
                    pending.append((text, offsets, start, number == len(bounds) - 1))
                    yield offsets.text[start:end]

        for sentences in self.kiwi.tokenize(blocks(), split_sents=True, compatible_jamo=True, saisiot=False):
            text, offsets, block_start, last = pending.popleft()
            morpheme_lists = (_morphemes(sentence, offsets, block_start) for sentence in sentences)
            yield AnalysedBlock(text, [morphemes for morphemes in morpheme_lists if morphemes], last)


class AnalysedBlock(NamedTuple):
    """One block of a text, analysed: the text, the sentences of the block (morpheme spans index `text`), and
    whether it is the text's last block."""

    text: str
    sentences: list[list[Morpheme]]
    last: bool


def eojeol_word_ids(text: str, sentence: Sequence[Morpheme]) -> list[int]:
    """An eojeol index for each morpheme of a sentence of `text`: the whitespace-separated word of `text` where the
    morpheme starts, counted from the sentence's first morpheme (so the cost is the sentence's, not the text's).
    The eojeol features read only whether consecutive indexes differ, which is as in the corpus builder's
    `project_entities` for Kiwi-analysed training text (a test checks that the two agree)."""
    if not sentence:
        return []
    begin = min(morpheme.start for morpheme in sentence)
    end = max(max(morpheme.end for morpheme in sentence), begin + 1)
    word_starts = [match.start() for match in _WORD.finditer(text, begin, end)]
    return [max(bisect.bisect_right(word_starts, morpheme.start) - 1, 0) for morpheme in sentence]


def _morphemes(tokens, offsets: NFCOffsets, block_start: int = 0) -> list[Morpheme]:
    """The morphemes of one sentence of Kiwi's analysis of the block of `offsets.text` at `block_start`."""
    text_length = len(offsets.text)
    morphemes: list[Morpheme] = []
    for token in tokens:
        start = min(max(block_start + token.start, 0), text_length)
        end = min(max(block_start + token.start + token.len, start), text_length)
        start, end = offsets.original_span(start, end)
        if token.tag in KIWI_MERGED_TAGS:
            if morphemes:
                previous = morphemes[-1]
                morphemes[-1] = replace(previous, start=min(previous.start, start), end=max(previous.end, end))
            continue
        morphemes.append(Morpheme(token.form, start, end, token.tag, to_sejong_tag(token.tag)))
    return morphemes


__all__ = [
    "AnalysedBlock",
    "KIWI_TO_SEJONG_TAGS",
    "MAX_BLOCK_CHARS",
    "USER_WORDS",
    "KiwiMorphemeAnalyzer",
    "Morpheme",
    "NFCOffsets",
    "eojeol_word_ids",
    "load_kiwi",
    "text_blocks",
    "to_sejong_tag",
]
