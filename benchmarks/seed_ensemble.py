#!/usr/bin/env python
"""Seed ensembles: the entity F1 of models trained with different seeds, alone and together, and what the
ensemble costs at inference.

    python benchmarks/seed_ensemble.py --model_dirs runs/klp2016/runs/mtl/seed*/checkpoint-* \
        --output benchmarks/results/seed_ensemble_mtl.json

Every model tags the gold morphemes of the dev and test splits, with the corpus's eojeol index, as in training.
The ensemble adds the models' path scores: its NER tag score at each position is the mean of the models' tag
scores (emissions), its CRF start, transition and end scores the mean of theirs, and its tags are the best valid
IOB2 path under those (constrained Viterbi). A head without a CRF contributes its log-softmax and no transition
scores. F1 is strict IOB2 entity F1, as the korean_ner_pos metric computes it in training.

Cost: each model's pass over the test split (encoding and forward) is timed, the models taking turns (--repeats
passes each, median), and so is Kiwi's analysis of the split's raw sentences, which a predictor runs once whatever
the number of models (where kiwipiepy is installed). Raw text in, entities out, the ensemble then takes the
analysis plus every model's time, one model the analysis plus the mean model's: their ratio is the ensemble's
end-to-end cost, against the model-time ratio, which is the number of models.
"""

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from benchmark_common import add_common_arguments, check_data_dir, emit, environment, load_corpus, setup_torch

from modeling_mtl_bilstm import KiwiMorphemeAnalyzer, MTLBiLSTMForTokenClassification, MTLBiLSTMTokenizer
from modeling_mtl_bilstm.crf import allowed_transitions, viterbi_decode
from modeling_mtl_bilstm.training.trainer import load_metric


SPLITS = ("validation", "test")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--model_dirs",
        nargs="+",
        required=True,
        help="Folders saved by examples/train.py (a run's checkpoint or best_model/), one per seed.",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="Sentences per forward pass (default: 64).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed passes over the test split per model.")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1:
        parser.error(f"--batch_size, --repeats: expected >= 1, received {args.batch_size}, {args.repeats}.")
    check_data_dir(parser, args)
    return args


class Member:
    """One model of the ensemble, with its tokenizer."""

    def __init__(self, directory: str, device: torch.device):
        self.directory = directory
        self.model = MTLBiLSTMForTokenClassification.from_pretrained(directory).to(device).eval()
        self.tokenizer = MTLBiLSTMTokenizer.from_pretrained(directory)
        if "ner" not in self.model.config.tasks:
            raise SystemExit(
                f"--model_dirs {directory}: expected a model with an NER head, received tasks "
                f"{self.model.config.tasks}."
            )

    @torch.inference_mode()
    def tag_scores(self, tokens: list[list[str]], word_ids: list[list[int]] | None, batch_size: int) -> list:
        """Per sentence, the (length, num_tags) NER scores that the ensemble adds: the emissions of a CRF head,
        the log-softmax of a softmax head."""
        scores = []
        for start in range(0, len(tokens), batch_size):
            batch = range(start, min(start + batch_size, len(tokens)))
            features = [self.tokenizer.encode(tokens[i], word_ids=word_ids[i] if word_ids else None) for i in batch]
            inputs = self.model.model_inputs(self.tokenizer.pad(features))
            logits = self.model(**inputs, return_dict=True).ner_logits.float()
            if self.crf is None:
                logits = logits.log_softmax(dim=-1)
            lengths = inputs["attention_mask"].sum(dim=1).tolist()
            scores += [logits[row, :length].cpu() for row, length in enumerate(lengths)]
        return scores

    @property
    def crf(self):
        return self.model.heads["ner"].crf


def check_members(members: list[Member]) -> None:
    first = members[0]
    for member in members[1:]:
        if member.model.config.ner_id2label != first.model.config.ner_id2label:
            raise SystemExit(
                f"--model_dirs: expected the NER tags of {first.directory} "
                f"{list(first.model.config.ner_id2label.values())}, received "
                f"{list(member.model.config.ner_id2label.values())} in {member.directory}."
            )
        if (member.crf is None) != (first.crf is None):
            raise SystemExit(
                f"--model_dirs: expected every NER head {'with' if first.crf is not None else 'without'} a CRF "
                f"(as in {first.directory}), received one {'with' if member.crf is not None else 'without'} in "
                f"{member.directory}."
            )


def ensemble_decode(members: list[Member], scores: list[list[torch.Tensor]]) -> list[list[str]]:
    """The tags of each sentence under the members' mean tag and transition scores (`scores[m][s]`: member m,
    sentence s)."""
    id2label = members[0].model.config.ner_id2label
    constraints = allowed_transitions(id2label)
    crfs = [member.crf for member in members]
    transitions = {}
    if crfs[0] is not None:
        for name in ("transitions", "start_transitions", "end_transitions"):
            values = torch.stack([getattr(crf, name).detach().float().cpu() for crf in crfs])
            transitions[name] = values.mean(dim=0)
    tags = []
    for sentence_scores in zip(*scores):
        emissions = torch.stack(sentence_scores).mean(dim=0).unsqueeze(0)
        mask = torch.ones(emissions.shape[:2], dtype=torch.bool)
        path = viterbi_decode(emissions, mask, constraints=constraints, **transitions)[0]
        tags.append([id2label[int(tag)] for tag in path])
    return tags


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def kiwi_analysis(texts: list[str]):
    """A function that analyses `texts` as the predictor does, or None without kiwipiepy."""
    if importlib.util.find_spec("kiwipiepy") is None:
        return None
    analyzer = KiwiMorphemeAnalyzer()
    analyzer.analyze(texts[:1])  # loads the model, once
    return lambda: analyzer.analyze(texts)


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    corpus = load_corpus(args)
    members = [Member(directory, device) for directory in args.model_dirs]
    check_members(members)
    metric = load_metric()
    eojeol = any(member.tokenizer.eojeol_features for member in members)

    splits = {}
    for split in SPLITS:
        dataset = corpus[split]
        names = dataset.features["ner_tags"].feature.names
        gold = [[names[tag] for tag in tags] for tags in dataset["ner_tags"]]
        tokens = dataset["tokens"]
        word_ids = dataset["word_ids"] if eojeol else None
        scores = [member.tag_scores(tokens, word_ids, args.batch_size) for member in members]
        single = [
            metric.compute(ner_predictions=ensemble_decode([member], [member_scores]), ner_references=gold)["ner_f1"]
            for member, member_scores in zip(members, scores)
        ]
        together = metric.compute(ner_predictions=ensemble_decode(members, scores), ner_references=gold)["ner_f1"]
        splits[split] = {
            "sentences": dataset.num_rows,
            "models_ner_f1": single,
            "mean_model_ner_f1": statistics.fmean(single),
            "best_model_ner_f1": max(single),
            "ensemble_ner_f1": together,
            "ensemble_minus_mean_model": together - statistics.fmean(single),
        }
        print(
            f"{split}: models {', '.join(f'{100 * f:.2f}' for f in single)} (mean {100 * statistics.fmean(single):.2f})"
            f" -> ensemble {100 * together:.2f}",
            file=sys.stderr,
        )

    test = corpus["test"]
    test_word_ids = test["word_ids"] if eojeol else None
    analysis = kiwi_analysis(test["text"])
    seconds = [[] for _ in members]
    analysis_seconds = []
    for _ in range(args.repeats):
        # Taking turns, so that drifts in machine speed hit all alike.
        for index, member in enumerate(members):
            seconds[index].append(timed(member.tag_scores, test["tokens"], test_word_ids, args.batch_size))
        if analysis is not None:
            analysis_seconds.append(timed(analysis))
    medians = [statistics.median(runs) for runs in seconds]
    analysis_median = statistics.median(analysis_seconds) if analysis is not None else None
    end_to_end = None
    if analysis_median is not None:
        end_to_end = (analysis_median + sum(medians)) / (analysis_median + statistics.fmean(medians))
    result = {
        "benchmark": "seed_ensemble",
        "dataset": args.dataset,
        "model_dirs": [str(Path(directory)) for directory in args.model_dirs],
        "combination": "mean tag scores and mean CRF scores, constrained IOB2 Viterbi",
        "splits": splits,
        "cost": {
            "test_sentences": test.num_rows,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "model_seconds_median": medians,
            "kiwi_analysis_seconds_median": analysis_median,
            "model_time_over_one_model": sum(medians) / statistics.fmean(medians),
            "end_to_end_over_one_model": end_to_end,
        },
        "environment": environment(device),
    }
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
