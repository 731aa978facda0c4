"""What each corpus is and under which terms it may be used: the one table of corpus licences, read by the
`datasets` builder (dataset info), the model card (licence metadata) and the Hub publisher (redistribution)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CorpusTerms:
    """
    Attributes:
        description: one paragraph for dataset and model cards.
        license: the licence in words, as the builder's `DatasetInfo.license` gives it.
        hub_license: the Hub licence identifier for cards (`"other"` with `hub_license_name` for custom terms).
        hub_license_name: the name of a custom licence, or None.
        redistribution_forbidden: why the corpus may not be republished, or None where it may be.
        homepage: where the corpus comes from.
        guidelines: where its annotation guidelines differ from the other corpora's, for the limits of a model
            card; empty where nothing is known.
    """

    description: str
    license: str
    hub_license: str
    hub_license_name: str | None = None
    redistribution_forbidden: str | None = None
    homepage: str = ""
    guidelines: str = ""


NON_COMMERCIAL_MODELS = "Its licence allows non-commercial use only, and so does the licence of models trained on it."

CORPORA = {
    "sample": CorpusTerms(
        description="The Korean traditional-culture sample corpus bundled with mtl-bilstm-ner (sentences written by "
        "the project team, analysed with Kiwi into Sejong-tagged morphemes, entities annotated by hand).",
        license="Apache-2.0 (written by the mtl-bilstm-ner authors)",
        hub_license="apache-2.0",
    ),
    "klp2016": CorpusTerms(
        description="The KLP 2016 (Klpexpo 2016) Korean NER corpus: morphemes with Sejong POS tags and PS/LC/OG/DT/TI "
        f"entities. {NON_COMMERCIAL_MODELS}",
        license="Non-commercial use only, on MIT terms (Korea Maritime and Ocean University NLP lab)",
        hub_license="other",
        hub_license_name="klp2016-non-commercial",
        redistribution_forbidden="the KLP 2016 corpus (kmounlp/NER) is licensed for non-commercial use only and its "
        "licence does not allow redistributing it",
        homepage="https://github.com/kmounlp/NER",
    ),
    "ner2016": CorpusTerms(
        description="The training and development data of the 2016 Korean NER competition (국어정보처리 시스템 경진대회): "
        f"morphemes with Sejong POS tags and PS/LC/OG/DT/TI entities. {NON_COMMERCIAL_MODELS}",
        license="Distributed for research use in the 2016 competition; no licence grants redistribution",
        hub_license="other",
        hub_license_name="ner2016-research-only",
        redistribution_forbidden="the 2016 competition data was distributed for research use in the competition and "
        "no licence allows redistributing it",
        homepage="https://github.com/dsindex/Wapiti/tree/master/ner2016",
    ),
    "klue": CorpusTerms(
        description="KLUE-NER v1.1 from KLUE: Korean Language Understanding Evaluation (Park et al., 2021), "
        "https://klue-benchmark.com: news (wikitree) and movie reviews (nsmc) with PS/LC/OG/DT/TI/QT entities "
        "annotated by character, licensed CC BY-SA 4.0. Morphemes and POS tags are Kiwi's analysis (silver), the "
        "gold character spans projected onto them. Redistribution keeps this attribution and the same licence.",
        license="CC BY-SA 4.0 (KLUE: Korean Language Understanding Evaluation, Park et al., 2021); redistribution "
        "with attribution under the same licence",
        hub_license="cc-by-sa-4.0",
        homepage="https://github.com/KLUE-benchmark/KLUE",
        guidelines="KLUE's guidelines differ from KLP 2016's: a bare surname (박 in 박씨) is PS, a country acting as "
        "an organisation is OG, and quantities (QT) are entities.",
    ),
    "conll": CorpusTerms(
        description="A user-supplied corpus in CoNLL format (token, POS, NER columns).",
        license="",
        hub_license="other",
    ),
}
