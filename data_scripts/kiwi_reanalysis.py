"""Re-analysis with Kiwi (``analyzer="kiwi"``): each raw sentence is analysed with the predictor's Kiwi set-up and
its gold entity spans are projected onto Kiwi's morphemes (``span_projection``), so that a model trains in the
inference distribution; entities with a boundary inside a Kiwi morpheme are counted and handled as
``misaligned_entities`` says. A corpus without raw text (ner2016, CoNLL files) gets it rebuilt from its morphemes
by Kiwi's ``join`` first (``rebuild_text``).
"""

import importlib.metadata
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path

from .entity_marks import entity_spans
from .format_common import CorpusFormatError, EntitySpan, MarkedSentence, Sentence
from .span_projection import Projection, ProjectionStats, project_entities
from .tag_schemes import iob2_spans


KOREAN_EXTRA_INSTALL = 'pip install "mtl-bilstm-ner[korean]"'


def reanalyse_with_kiwi(
    sentences: Sequence, analyzer=None, misaligned_entities: str = "drop"
) -> tuple[list[Projection], ProjectionStats]:
    """Re-analyses raw sentences with Kiwi as the predictor does and projects their gold entities
    onto Kiwi's morphemes (``project_entities``).

    Args:
        sentences: objects with ``text`` and ``entities`` (``EntitySpan``s), e.g. the
            ``MarkedSentence``s of ``formats.load_entity_spans``.
        analyzer: a ``KiwiMorphemeAnalyzer``; by default a new one, the predictor's default set-up.
            Where Kiwi splits a text into several sentences, their morphemes are joined.
        misaligned_entities: ``"drop"`` or ``"expand"``, see ``project_entities``.

    Returns:
        One ``Projection`` per sentence, and the counts over all of them.
    """
    if analyzer is None:
        analyzer = default_analyzer()
    documents = analyzer.analyze([sentence.text for sentence in sentences])
    projections, stats = [], ProjectionStats()
    for sentence, document in zip(sentences, documents):
        morphemes = [morpheme for kiwi_sentence in document for morpheme in kiwi_sentence]
        projection = project_entities(sentence.text, sentence.entities, morphemes, misaligned_entities)
        projections.append(projection)
        stats.add(sentence.entities, projection)
    return projections, stats


def default_analyzer():
    """A new ``KiwiMorphemeAnalyzer``, the predictor's default set-up."""
    try:
        from modeling_mtl_bilstm.inference.morphology import KiwiMorphemeAnalyzer
    except ImportError as error:  # kiwipiepy itself is imported when the analyser is created
        raise ImportError(f"analyzer='kiwi' needs modeling_mtl_bilstm's KiwiMorphemeAnalyzer: {error}") from error
    return KiwiMorphemeAnalyzer()


def kiwi_fingerprint_parts() -> list[bytes]:
    """What Kiwi's analyses depend on, for a cache key: the versions of kiwipiepy and its model, and the analyser's
    source."""
    try:
        versions = [importlib.metadata.version(name) for name in ("kiwipiepy", "kiwipiepy_model")]
    except importlib.metadata.PackageNotFoundError as error:
        raise ImportError(
            f"analyzer='kiwi' needs kiwipiepy, which is not installed: {KOREAN_EXTRA_INSTALL}"
        ) from error
    from modeling_mtl_bilstm.inference.morphology import KiwiMorphemeAnalyzer

    return [version.encode() for version in versions] + [
        Path(inspect.getsourcefile(KiwiMorphemeAnalyzer)).read_bytes()
    ]


# The Sejong corpora write an ending that is a lone consonant in compatibility jamo (ㄴ of 속하/VV + ㄴ/ETM); Kiwi's join
# composes only the conjoining final consonant (ᆫ) onto the syllable before it.
_FINAL_CONSONANTS = dict(
    zip("ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ", map(chr, range(0x11A8, 0x11C3)))
)
# Kiwi's tag for a morpheme whose tag it does not know (a corpus's typo such as JBK).
_UNKNOWN_TAG = "UN"


def rebuild_text(sentence: Sentence, kiwi, known_tags: dict[str, bool] | None = None) -> MarkedSentence:
    """A raw text for a sentence that has only morphemes (ner2016, CoNLL files), with its gold entities (IOB2
    ``ner_tags``) as character spans of it.

    Kiwi's ``join`` writes the morphemes out as a sentence: endings and particles conjugated onto the word before,
    spaces where its rules put them (the corpus does not say where the writer put them). A tag Kiwi does not know
    joins as ``UN``. ``kiwi`` is a ``kiwipiepy.Kiwi``; ``known_tags`` caches which tags it knows across calls.
    """
    known_tags = {} if known_tags is None else known_tags
    morphemes = []
    for form, tag in zip(sentence.tokens, sentence.pos_tags):
        if tag not in known_tags:
            try:
                kiwi.join([("가", tag)])
            except ValueError:
                known_tags[tag] = False
            else:
                known_tags[tag] = True
        if tag[:1] in ("E", "J") and form[:1] in _FINAL_CONSONANTS:
            form = _FINAL_CONSONANTS[form[0]] + form[1:]
        morphemes.append((form, tag if known_tags[tag] else _UNKNOWN_TAG))
    text, positions = kiwi.join(morphemes, return_positions=True)
    entities = [
        EntitySpan(positions[first][0], positions[last - 1][1], entity_type)
        for entity_type, first, last in iob2_spans(sentence.ner_tags)
    ]
    return MarkedSentence(sentence.path, sentence.lines[0].number, text, entities, sentence=sentence)


def reanalyse_splits(
    sentences: dict[str, list[Sentence]], analyzer, misaligned_entities: str, reject
) -> dict[str, ProjectionStats]:
    """Replaces each sentence's morphemes and tags by those of ``analyzer`` (a ``KiwiMorphemeAnalyzer``), with the
    gold entities of its ``$`` line projected onto them (``reject`` gets the sentences whose ``$`` line is
    unreadable). A sentence without a ``$`` line (ner2016, CoNLL files) gets its text and entities from
    ``rebuild_text``, its IOB2 NER tags."""
    stats = {}
    known_tags: dict[str, bool] = {}
    for split, split_sentences in sentences.items():
        readable, marked = [], []
        for sentence in split_sentences:
            try:
                if sentence.marked_line is None:
                    marked.append(rebuild_text(sentence, analyzer.kiwi, known_tags))
                else:
                    marked.append(
                        MarkedSentence(
                            sentence.path, sentence.marked_line.number, sentence.text, entity_spans(sentence)
                        )
                    )
            except CorpusFormatError as error:
                reject(error)
            else:
                readable.append(sentence)
        projections, split_stats = reanalyse_with_kiwi(marked, analyzer, misaligned_entities)
        kept = []
        for sentence, gold, projection in zip(readable, marked, projections):
            line = sentence.marked_line or sentence.lines[0]
            if not projection.tokens:
                reject(
                    CorpusFormatError(
                        sentence.path, line.number, line.raw, "a sentence Kiwi finds morphemes in", "none"
                    )
                )
                continue
            sentence.tokens, sentence.pos_tags = projection.tokens, projection.pos_tags
            sentence.ner_tags, sentence.word_ids = projection.ner_tags, projection.word_ids
            sentence.text, sentence.entities = gold.text, list(gold.entities)
            # The labels now come from the '$' line (or the first morpheme's): errors about them name it.
            sentence.lines = [line] * len(projection.tokens)
            kept.append(sentence)
        sentences[split] = kept
        stats[split] = split_stats
    return stats


def projection_note(stats: Mapping[str, ProjectionStats], misaligned_entities: str) -> str:
    """What the re-analysis did to the gold entities, for the log and the dataset description."""
    per_split = ", ".join(f"{split}: {s.misaligned} of {s.entities}" for split, s in stats.items())
    total = sum(s.misaligned for s in stats.values())
    dropped = sum(s.dropped for s in stats.values())
    policy = {
        "drop": "their morphemes are labelled O",
        "expand": "they are labelled on the morphemes that hold them",
    }[misaligned_entities]
    trimmed = sum(s.trimmed for s in stats.values())
    trimmed_note = f" {trimmed} gold spans had whitespace at an end, trimmed off first." if trimmed else ""
    return (
        f"analyzer='kiwi': morphemes and POS tags (silver) are Kiwi's analysis of the raw text, the gold entity "
        f"spans projected onto them.{trimmed_note} {total} gold entities have a boundary inside a Kiwi morpheme "
        f"({per_split}); misaligned_entities={misaligned_entities!r}: {policy}. {dropped} entities in all are left "
        f"out of the labels."
    )
