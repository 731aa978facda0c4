"""Build the bundled Korean traditional-culture NER sample in the KLP 2016 file format.

Source: ``sentences.txt`` next to this script, one hand-written sentence per line with its
entities marked inline as ``<surface:TYPE>``; ``#`` starts a comment line, blank lines are
skipped. Each sentence is analysed by the package's Kiwi analyser (the one `KoreanNERPredictor` uses on
raw text: `modeling_mtl_bilstm.inference.morphology`), which maps Kiwi's tags onto the Sejong tag set used by
KLP 2016, and its morphemes receive eojeol indices and NER tags
(``B_TYPE`` on the first morpheme of an entity, bare ``I`` on the rest, ``O`` outside).

Usage::

    python build_sample.py            # write train.txt, validation.txt, test.txt
    python build_sample.py --check    # verify the committed files and the card's statistics
    python build_sample.py --stats    # print the statistics table for README.md

The output is deterministic for a given kiwipiepy/kiwipiepy_model version. The split is
stratified so that even the rarest entity type reaches validation and test: sentences are
grouped by the rarest entity type they contain, ordered by a hash of their text inside each
group, and dealt out 8/1/1 to train/validation/test.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import dataclasses
import hashlib
import re
import sys
import unicodedata
from pathlib import Path


HERE = Path(__file__).resolve().parent
SENTENCES_FILE = HERE / "sentences.txt"
CARD_FILE = HERE / "README.md"

ENTITY_TYPES = ("PS", "LC", "OG", "DT", "TI")

# Sentences must be 6 to 40 morphemes long (the range the sample was written for).
SENTENCE_LENGTHS = range(6, 41)

SPLITS = ("train", "validation", "test")
# Dealt in this order within each stratum: 80/10/10.
SPLIT_CYCLE = ("train",) * 4 + ("validation",) + ("train",) * 4 + ("test",)

# Sejong tags as used by KLP 2016; anything Kiwi emits outside this set (after the
# mapping below) makes the build fail, naming the sentence.
SEJONG_TAGS = frozenset(
    "NNG NNP NNB NP NR VV VA VX VCP VCN MM MAG MAJ IC JKS JKC JKG JKO JKB JKV JKQ JX JC "
    "EP EF EC ETN ETM XPN XSN XSV XSA XR SF SP SS SE SO SW SL SH SN".split()
)
MARKUP = re.compile(r"<([^<>:]+):([A-Z]+)>")


class SampleError(ValueError):
    """A sentence, a generated file or the card does not satisfy the sample's rules."""


@dataclasses.dataclass(frozen=True)
class Entity:
    start: int  # character offsets into the raw sentence, end exclusive
    end: int
    label: str
    surface: str


@dataclasses.dataclass(frozen=True)
class AnnotatedSentence:
    line_number: int
    marked: str
    raw: str
    entities: tuple[Entity, ...]


@dataclasses.dataclass(frozen=True)
class Morpheme:
    eojeol: int
    form: str
    pos: str
    ner: str


@dataclasses.dataclass(frozen=True)
class KlpSentence:
    raw: str
    marked: str
    morphemes: tuple[Morpheme, ...]


# --------------------------------------------------------------------------- parsing


def parse_marked(marked: str, where: str) -> tuple[str, tuple[Entity, ...]]:
    """Split ``<surface:TYPE>`` markup into raw text and entity character spans."""
    raw_parts: list[str] = []
    entities: list[Entity] = []
    position = 0
    cursor = 0
    for match in MARKUP.finditer(marked):
        plain = marked[cursor : match.start()]
        raw_parts.append(plain)
        position += len(plain)
        surface, label = match.group(1), match.group(2)
        if label not in ENTITY_TYPES:
            raise SampleError(f"{where}: entity type {label!r} in {match.group(0)!r}; expected one of {ENTITY_TYPES}")
        if surface != surface.strip() or "  " in surface:
            raise SampleError(
                f"{where}: entity {match.group(0)!r} has stray spaces; expected single inner spaces only"
            )
        entities.append(Entity(position, position + len(surface), label, surface))
        raw_parts.append(surface)
        position += len(surface)
        cursor = match.end()
    raw_parts.append(marked[cursor:])
    raw = "".join(raw_parts)
    if "<" in raw or ">" in raw:
        raise SampleError(f"{where}: unbalanced or malformed markup; expected <surface:TYPE>, got {marked!r}")
    if raw != raw.strip() or "  " in raw or "\t" in raw:
        raise SampleError(f"{where}: expected words separated by single spaces, got {raw!r}")
    return raw, tuple(entities)


def read_sentences(path: Path = SENTENCES_FILE) -> list[AnnotatedSentence]:
    sentences = []
    first_line_of: dict[str, int] = {}
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{path.name}:{line_number}"
        raw, entities = parse_marked(line, where)
        if raw in first_line_of:
            raise SampleError(f"{where}: duplicate of the sentence on line {first_line_of[raw]}: {raw!r}")
        first_line_of[raw] = line_number
        sentences.append(AnnotatedSentence(line_number, line, raw, entities))
    return sentences


# ------------------------------------------------------------------------ analysing


def make_analyzer():
    # The predictor's analyser: the sample is analysed exactly as raw text is at inference.
    from modeling_mtl_bilstm.inference.morphology import KiwiMorphemeAnalyzer

    return KiwiMorphemeAnalyzer()


def kiwi_versions() -> str:
    import kiwipiepy
    import kiwipiepy_model

    return f"{kiwipiepy.__version__} (model {kiwipiepy_model.__version__})"


def eojeol_starts(raw: str) -> list[int]:
    starts = [0]
    starts.extend(index + 1 for index, char in enumerate(raw) if char == " ")
    return starts


def analyse(sentence: AnnotatedSentence, analyzer) -> KlpSentence:
    where = f"{SENTENCES_FILE.name}:{sentence.line_number}"
    starts = eojeol_starts(sentence.raw)
    ends = [start - 1 for start in starts[1:]] + [len(sentence.raw)]
    opened: set[Entity] = set()
    morphemes = []
    tokens = [morpheme for part in analyzer.analyze([sentence.raw])[0] for morpheme in part]
    for token in tokens:
        token_end = token.end
        pos = token.tag
        if pos not in SEJONG_TAGS:
            raise SampleError(
                f"{where}: Kiwi tag {token.kiwi_tag!r} of {token.form!r} has no Sejong counterpart; "
                f"rephrase the sentence: {sentence.raw!r}"
            )
        if not token.form:
            raise SampleError(f"{where}: Kiwi returned an empty morpheme ({token.kiwi_tag}): {sentence.raw!r}")
        # A copula elided after a vowel ('산책로예요' -> 산책로 + 이 + 에요) has no characters
        # of its own; it belongs to the eojeol it sits in.
        eojeol = bisect.bisect_right(starts, token.start)
        if token_end > ends[eojeol - 1]:
            raise SampleError(f"{where}: morpheme {token.form!r} crosses a space: {sentence.raw!r}")
        ner = "O"
        for entity in sentence.entities:
            if token_end <= entity.start or token.start >= entity.end:
                continue
            if token.start < entity.start or token_end > entity.end:
                raise SampleError(
                    f"{where}: entity <{entity.surface}:{entity.label}> cuts through morpheme "
                    f"{token.form!r}/{token.tag} at characters {token.start}-{token_end}; "
                    f"move the entity boundary or rephrase: {sentence.raw!r}"
                )
            ner = "I" if entity in opened else f"B_{entity.label}"
            opened.add(entity)
        morphemes.append(Morpheme(eojeol, token.form, pos, ner))
    for entity in sentence.entities:
        if entity not in opened:
            raise SampleError(f"{where}: no morpheme inside entity <{entity.surface}:{entity.label}>")
    if len(morphemes) not in SENTENCE_LENGTHS:
        raise SampleError(
            f"{where}: {len(morphemes)} morphemes; expected {SENTENCE_LENGTHS.start} to {SENTENCE_LENGTHS.stop - 1}"
        )
    return KlpSentence(sentence.raw, sentence.marked, tuple(morphemes))


# -------------------------------------------------------------------------- writing


def assign_splits(sentences: list[AnnotatedSentence]) -> dict[str, list[AnnotatedSentence]]:
    """Stratified, deterministic split; each split keeps the order of sentences.txt."""
    type_counts = collections.Counter(entity.label for s in sentences for entity in s.entities)

    def stratum(sentence: AnnotatedSentence) -> str:
        labels = {entity.label for entity in sentence.entities}
        return min(labels, key=lambda label: (type_counts[label], label)) if labels else ""

    strata: dict[str, list[AnnotatedSentence]] = collections.defaultdict(list)
    for sentence in sentences:
        strata[stratum(sentence)].append(sentence)
    split_of: dict[int, str] = {}
    for members in strata.values():
        members.sort(key=lambda s: hashlib.sha256(s.raw.encode("utf-8")).hexdigest())
        for position, sentence in enumerate(members):
            split_of[sentence.line_number] = SPLIT_CYCLE[position % len(SPLIT_CYCLE)]
    return {split: [s for s in sentences if split_of[s.line_number] == split] for split in SPLITS}


def format_klp(sentences: list[KlpSentence]) -> bytes:
    blocks = []
    for sentence in sentences:
        lines = [f"; {sentence.raw}", f"${sentence.marked}"]
        lines.extend(f"{m.eojeol}\t{m.form}\t{m.pos}\t{m.ner}" for m in sentence.morphemes)
        blocks.append("\r\n".join(lines) + "\r\n\r\n")
    return "".join(blocks).encode("utf-8")


def build() -> dict[str, list[KlpSentence]]:
    analyzer = make_analyzer()
    splits: dict[str, list[KlpSentence]] = {split: [] for split in SPLITS}
    problems = []
    for split, sentences in assign_splits(read_sentences()).items():
        for sentence in sentences:
            try:
                splits[split].append(analyse(sentence, analyzer))
            except SampleError as error:
                problems.append((sentence.line_number, str(error)))
    if problems:
        # Report every bad sentence at once so they can all be fixed in one pass.
        listing = "\n".join(message for _, message in sorted(problems))
        raise SampleError(f"{len(problems)} sentence(s) rejected:\n{listing}")
    return with_train_covering_all_pos_tags(splits)


def with_train_covering_all_pos_tags(splits: dict[str, list[KlpSentence]]) -> dict[str, list[KlpSentence]]:
    """Moves validation/test sentences with a POS tag that train lacks into train: label ids come
    from the train split, so such a tag would have no id (the loader rejects it)."""
    train_tags = {m.pos for s in splits["train"] for m in s.morphemes}
    moved = {split: [s for s in splits[split] if {m.pos for m in s.morphemes} - train_tags] for split in SPLITS[1:]}
    result = {"train": splits["train"] + [s for split in SPLITS[1:] for s in moved[split]]}
    for split in SPLITS[1:]:
        result[split] = [s for s in splits[split] if s not in moved[split]]
    return result


def output_path(split: str) -> Path:
    return HERE / f"{split}.txt"


# -------------------------------------------------------------------------- reading


def read_klp(path: Path) -> list[KlpSentence]:
    """Parse a KLP 2016-format file strictly, validating every line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise SampleError(f"{path.name}: expected UTF-8 ({error})") from error
    if not text.endswith("\r\n\r\n"):
        raise SampleError(f"{path.name}: expected the file to end with a blank CRLF line")
    blocks = text[: -len("\r\n\r\n")].split("\r\n\r\n")
    sentences = []
    line_number = 1
    for block in blocks:
        lines = block.split("\r\n")
        if any("\r" in line or "\n" in line for line in lines):
            raise SampleError(f"{path.name}:{line_number}: bare CR or LF; expected CRLF line endings")
        sentences.append(parse_klp_block(lines, path.name, line_number))
        line_number += len(lines) + 1
    return sentences


def parse_klp_block(lines: list[str], file_name: str, first_line: int) -> KlpSentence:
    if len(lines) < 3 or not lines[0].startswith("; ") or not lines[1].startswith("$"):
        raise SampleError(
            f"{file_name}:{first_line}: expected '; <raw>', '$<marked>' and morpheme lines, got {lines[:2]!r}"
        )
    raw, marked = lines[0][2:], lines[1][1:]
    where = f"{file_name}:{first_line + 1}"
    unmarked, entities = parse_marked(marked, where)
    if unmarked != raw:
        raise SampleError(f"{where}: marked line without markup is {unmarked!r}; expected the raw line {raw!r}")
    eojeol_count = len(eojeol_starts(raw))
    morphemes = []
    for offset, line in enumerate(lines[2:], start=2):
        where = f"{file_name}:{first_line + offset}"
        fields = line.split("\t")
        if len(fields) != 4:
            raise SampleError(f"{where}: expected 4 tab-separated fields, got {len(fields)}: {line!r}")
        eojeol_text, form, pos, ner = fields
        if not eojeol_text.isdigit() or not 1 <= int(eojeol_text) <= eojeol_count:
            raise SampleError(f"{where}: eojeol index {eojeol_text!r}; expected 1..{eojeol_count}")
        eojeol = int(eojeol_text)
        if morphemes and eojeol < morphemes[-1].eojeol:
            raise SampleError(f"{where}: eojeol index {eojeol} after {morphemes[-1].eojeol}; expected non-decreasing")
        if not form or form != form.strip():
            raise SampleError(f"{where}: empty or padded morpheme {form!r}")
        if pos not in SEJONG_TAGS:
            raise SampleError(f"{where}: POS tag {pos!r}; expected a Sejong tag")
        if ner not in {"O", "I"} and not (ner.startswith("B_") and ner[2:] in ENTITY_TYPES):
            raise SampleError(f"{where}: NER tag {ner!r}; expected O, I or B_<{'|'.join(ENTITY_TYPES)}>")
        if ner == "I" and (not morphemes or morphemes[-1].ner == "O"):
            raise SampleError(f"{where}: I tag with no open entity before it")
        morphemes.append(Morpheme(eojeol, form, pos, ner))
    sentence = KlpSentence(raw, marked, tuple(morphemes))
    check_entities(sentence, entities, f"{file_name}:{first_line}")
    return sentence


def tagged_entities(sentence: KlpSentence) -> list[tuple[str, list[Morpheme]]]:
    spans: list[tuple[str, list[Morpheme]]] = []
    for morpheme in sentence.morphemes:
        if morpheme.ner.startswith("B_"):
            spans.append((morpheme.ner[2:], [morpheme]))
        elif morpheme.ner == "I":
            spans[-1][1].append(morpheme)
    return spans


def _final_jamo(compatibility_jamo: str) -> str:
    name = unicodedata.name(compatibility_jamo).replace("HANGUL LETTER ", "HANGUL JONGSEONG ")
    try:
        return unicodedata.lookup(name)
    except KeyError:
        return compatibility_jamo


def _syllable_insensitive(text: str) -> str:
    """Decompose Hangul so that e.g. morphemes '시' + 'ㄴ' compare equal to the syllable '신'."""
    recomposed = "".join(_final_jamo(char) if "\u3131" <= char <= "\u314e" else char for char in text.replace(" ", ""))
    return unicodedata.normalize("NFD", recomposed)


def check_entities(sentence: KlpSentence, entities: tuple[Entity, ...], where: str) -> None:
    """The spans read back from B_/I tags must be the entities of the '$' line, in order."""
    spans = tagged_entities(sentence)
    expected = [(entity.label, entity.surface) for entity in entities]
    if len(spans) != len(expected):
        raise SampleError(f"{where}: {len(spans)} tagged entity spans; expected {len(expected)} ({expected})")
    starts = eojeol_starts(sentence.raw)
    for (label, morphemes), entity in zip(spans, entities):
        joined = "".join(morpheme.form for morpheme in morphemes)
        if label != entity.label or _syllable_insensitive(joined) != _syllable_insensitive(entity.surface):
            raise SampleError(f"{where}: tagged span {joined!r}/{label}; expected {entity.surface!r}/{entity.label}")
        first_eojeol = sum(1 for start in starts if start <= entity.start)
        last_eojeol = sum(1 for start in starts if start < entity.end)
        if (morphemes[0].eojeol, morphemes[-1].eojeol) != (first_eojeol, last_eojeol):
            tagged = f"{morphemes[0].eojeol}-{morphemes[-1].eojeol}"
            raise SampleError(
                f"{where}: span {entity.surface!r} tagged on eojeols {tagged}; expected {first_eojeol}-{last_eojeol}"
            )


# ------------------------------------------------------------------------ statistics


def statistics_table(splits: dict[str, list[KlpSentence]]) -> str:
    header = ["split", "sentences", "morphemes", *ENTITY_TYPES, "all spans", "surfaces unseen in train"]
    train_surfaces = {
        (label, " ".join(m.form for m in morphemes))
        for sentence in splits["train"]
        for label, morphemes in tagged_entities(sentence)
    }
    rows = []
    totals: collections.Counter[str] = collections.Counter()
    for split, sentences in splits.items():
        spans = [(label, " ".join(m.form for m in ms)) for s in sentences for label, ms in tagged_entities(s)]
        by_type = collections.Counter(label for label, _ in spans)
        unseen = len({span for span in spans if span not in train_surfaces}) if split != "train" else "-"
        counts = {
            "sentences": len(sentences),
            "morphemes": sum(len(s.morphemes) for s in sentences),
            **{label: by_type[label] for label in ENTITY_TYPES},
            "all spans": len(spans),
        }
        totals.update(counts)
        rows.append([split, *(str(counts[column]) for column in header[1:-1]), str(unseen)])
    rows.append(["total", *(str(totals[column]) for column in header[1:-1]), "-"])
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


STATS_START = "<!-- statistics: generated by build_sample.py --stats -->\n"
STATS_END = "<!-- end of statistics -->"


def card_statistics(card: Path = CARD_FILE) -> str:
    text = card.read_text(encoding="utf-8")
    if STATS_START not in text or STATS_END not in text:
        raise SampleError(f"{card.name}: expected the markers {STATS_START.strip()!r} and {STATS_END!r}")
    return text.split(STATS_START, 1)[1].split(STATS_END, 1)[0].strip("\n") + "\n"


# ---------------------------------------------------------------------------- main


def check(splits: dict[str, list[KlpSentence]]) -> list[str]:
    problems = []
    for split, sentences in splits.items():
        path = output_path(split)
        if not path.exists():
            problems.append(f"{path.name}: missing")
            continue
        if path.read_bytes() != format_klp(sentences):
            problems.append(
                f"{path.name}: differs from what build_sample.py writes with kiwipiepy {kiwi_versions()}; "
                "rerun it (README.md names the versions the committed files were built with)"
            )
        try:
            if read_klp(path) != sentences:
                problems.append(f"{path.name}: reads back differently from the built sentences")
        except SampleError as error:
            problems.append(str(error))
    table = statistics_table(splits)
    if card_statistics() != table:
        problems.append(f"{CARD_FILE.name}: statistics are stale; paste the output of --stats:\n{table}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="verify the committed files and card; write nothing")
    mode.add_argument("--stats", action="store_true", help="print the statistics table for README.md")
    args = parser.parse_args(argv)
    try:
        splits = build()
        if args.stats:
            print(statistics_table(splits), end="")
        elif args.check:
            problems = check(splits)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            print(f"OK: {', '.join(f'{s} {len(v)}' for s, v in splits.items())} sentences match")
        else:
            for split, sentences in splits.items():
                output_path(split).write_bytes(format_klp(sentences))
                read_klp(output_path(split))
                print(f"wrote {output_path(split).name}: {len(sentences)} sentences")
    except SampleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
