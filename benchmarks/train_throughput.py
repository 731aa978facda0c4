#!/usr/bin/env python
"""Training throughput of the package's Trainer path against a plain PyTorch loop on the same batches.

    python benchmarks/train_throughput.py --output benchmarks/results/train_throughput.json
    python benchmarks/train_throughput.py --dataset sample --max_steps 5 --warmup_steps 1 --repeats 1

For each configuration (MTL or single-task NER x random or length-grouped batches) the two paths run
alternately, --repeats times each (plain, trainer, plain, trainer, ...), --max_steps optimiser steps per
run, from the same seeded model:

- trainer: `MTLBiLSTMTrainer` + `DataCollatorForMTLBiLSTM` + TrainingArguments as examples/train.py builds
  them (batch 32, lr 2e-3, grad clipping 5, linear decay, its default optimiser), with evaluation, saving,
  logging and the progress bar off;
- plain: a DataLoader over the same sampler and collator, Adam (fused where the Trainer's is), the same
  clipping and linear decay, and a bare forward / backward / step loop.

Throughput counts real (non-padding) morphemes per second between the end of step --warmup_steps and the
end of the last step, so one-off setup (the Trainer's length scan, optimiser creation) stays out of it;
`total_seconds` keeps it in. Both paths record the shape and real-token count of every training batch,
and `batches_match` says whether they trained on identical batches.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import torch
from benchmark_common import (
    add_common_arguments,
    add_model_size_arguments,
    check_data_dir,
    emit,
    environment,
    load_corpus,
    model_size_overrides,
    setup_torch,
)
from torch.utils.data import DataLoader, RandomSampler
from transformers import TrainerCallback, set_seed
from transformers.trainer_pt_utils import LengthGroupedSampler

from modeling_mtl_bilstm import DataCollatorForMTLBiLSTM, MTLBiLSTMForTokenClassification
from modeling_mtl_bilstm.training import features, runs
from modeling_mtl_bilstm.training.arguments import MODEL_TASKS, DataArguments, ModelArguments, MTLTrainingArguments
from modeling_mtl_bilstm.training.trainer import LABEL_NAMES, MTLBiLSTMTrainer


STRATEGIES = ("random", "group_by_length")
TASKS = ("mtl", "ner")


@dataclass
class StepRecorder:
    """Records every training forward pass (batch shape, real tokens) and the time at the end of two
    steps: --warmup_steps and the last. CUDA is synchronised only at those two steps."""

    device: torch.device
    warmup_steps: int
    max_steps: int
    batches: list = field(default_factory=list)
    real_tokens: list = field(default_factory=list)
    steps_done: int = 0
    window_start: float | None = None
    window_end: float | None = None

    def attach(self, model: torch.nn.Module) -> None:
        model.register_forward_pre_hook(self._record_batch, with_kwargs=True)

    def _record_batch(self, module, args, kwargs):
        if module.training:
            mask = kwargs["attention_mask"]
            self.batches.append(tuple(mask.shape))
            # Kept as a tensor: an .item() here would synchronise CUDA on every step.
            self.real_tokens.append(mask.sum())

    def start(self) -> None:
        if self.warmup_steps == 0:
            self.window_start = self._now()

    def step_done(self) -> None:
        self.steps_done += 1
        if self.steps_done == self.warmup_steps:
            self.window_start = self._now()
        if self.steps_done == self.max_steps:
            self.window_end = self._now()

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def summary(self, total_seconds: float, mean_loss: float) -> dict:
        if self.steps_done != self.max_steps or len(self.real_tokens) != self.max_steps:
            raise RuntimeError(
                f"Expected {self.max_steps} training steps, recorded {self.steps_done} steps and "
                f"{len(self.real_tokens)} forward passes."
            )
        real = [int(tokens) for tokens in self.real_tokens]
        timed_tokens = sum(real[self.warmup_steps :])
        seconds = self.window_end - self.window_start
        padded = sum(batch * length for batch, length in self.batches)
        return {
            "tokens_per_second": timed_tokens / seconds,
            "timed_steps": self.max_steps - self.warmup_steps,
            "timed_tokens": timed_tokens,
            "timed_seconds": seconds,
            "total_seconds": total_seconds,
            "real_token_fraction": sum(real) / padded,
            "mean_loss": mean_loss,
            "batch_signature": [(*shape, tokens) for shape, tokens in zip(self.batches, real)],
        }


class StepClock(TrainerCallback):
    def __init__(self, recorder: StepRecorder):
        self.recorder = recorder

    def on_step_end(self, args, state, control, **kwargs):
        self.recorder.step_done()


class ThroughputBenchmark:
    """Holds the encoded corpus, the tokenizer and the label names; runs one timed training per call."""

    def __init__(self, args: argparse.Namespace, device: torch.device):
        corpus = load_corpus(args)
        self.tokenizer = features.build_tokenizer(corpus, DataArguments(), None)
        self.train_dataset = features.encode_corpus(corpus, self.tokenizer)["train"]
        self.label_names = {
            "pos": corpus["train"].features["pos_tags"].feature.names,
            "ner": corpus["train"].features["ner_tags"].feature.names,
        }
        self.model_args = ModelArguments(**model_size_overrides(args))
        self.args = args
        self.device = device
        self.collator = DataCollatorForMTLBiLSTM(self.tokenizer)
        # Trainer wants an output_dir even with saving off; removed when the benchmark is collected.
        self.output_dir = tempfile.TemporaryDirectory(prefix="train_throughput_")

    def new_model(self, task: str) -> MTLBiLSTMForTokenClassification:
        set_seed(self.args.seed)
        config = runs.build_config(
            self.model_args, self.tokenizer, self.label_names, MODEL_TASKS[task], self.model_args.ner_crf
        )
        return MTLBiLSTMForTokenClassification(config)

    def training_arguments(self, strategy: str):
        # examples/train.py's defaults (batch 32, lr, clipping, optimiser), minus everything that is not training.
        return MTLTrainingArguments(
            output_dir=self.output_dir.name,
            max_steps=self.args.max_steps,
            train_sampling_strategy=strategy,
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            load_best_model_at_end=False,
            disable_tqdm=True,
            use_cpu=self.device.type == "cpu",
            seed=self.args.seed,
            data_seed=self.args.seed,
            label_names=LABEL_NAMES,
        )

    def recorder(self) -> StepRecorder:
        return StepRecorder(self.device, self.args.warmup_steps, self.args.max_steps)

    def run_trainer(self, task: str, strategy: str) -> dict:
        model = self.new_model(task)
        recorder = self.recorder()
        recorder.attach(model)
        trainer = MTLBiLSTMTrainer(
            model=model,
            args=self.training_arguments(strategy),
            train_dataset=self.train_dataset,
            data_collator=self.collator,
            processing_class=self.tokenizer,
            callbacks=[StepClock(recorder)],
        )
        started = time.perf_counter()
        recorder.start()
        # Trainer prints its closing metrics; stdout is kept for the JSON result.
        with contextlib.redirect_stdout(sys.stderr):
            output = trainer.train()
        total = time.perf_counter() - started
        return recorder.summary(total, output.training_loss)

    def run_plain(self, task: str, strategy: str) -> dict:
        training_args = self.training_arguments(strategy)
        model = self.new_model(task).to(self.device)
        recorder = self.recorder()
        recorder.attach(model)
        # Trainer re-seeds when it is built, after the model; its length-grouped sampler then draws from
        # the global generator, and its random sampler from a generator seeded with data_seed + epoch.
        set_seed(self.args.seed)
        started = time.perf_counter()
        recorder.start()
        optimizer = torch.optim.Adam(
            model.parameters(),
            lr=training_args.learning_rate,
            betas=(training_args.adam_beta1, training_args.adam_beta2),
            eps=training_args.adam_epsilon,
            fused=training_args.optim == "adamw_torch_fused",
        )
        scheduler = torch.optim.lr_scheduler.LinearLR(
            optimizer, start_factor=1.0, end_factor=0.0, total_iters=self.args.max_steps
        )
        lengths = [len(ids) for ids in self.train_dataset["input_ids"]] if strategy == "group_by_length" else None
        model.train()
        losses, epoch = [], 0
        while recorder.steps_done < self.args.max_steps:
            if lengths is None:
                sampler = RandomSampler(
                    self.train_dataset, generator=torch.Generator().manual_seed(self.args.seed + epoch)
                )
            else:
                sampler = LengthGroupedSampler(training_args.per_device_train_batch_size, lengths=lengths)
            loader = DataLoader(
                self.train_dataset,
                batch_size=training_args.per_device_train_batch_size,
                sampler=sampler,
                collate_fn=self.collator,
            )
            for batch in loader:
                loss = model(**batch.to(self.device)).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), training_args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.detach())
                recorder.step_done()
                if recorder.steps_done == self.args.max_steps:
                    break
            epoch += 1
        total = time.perf_counter() - started
        return recorder.summary(total, float(torch.stack(losses).mean()))


def summarize(runs: dict[str, list[dict]]) -> dict:
    """Median throughput per path, the trainer/plain ratio (of medians and per alternating pair)."""
    summary = {}
    for path, path_runs in runs.items():
        rates = [run["tokens_per_second"] for run in path_runs]
        summary[path] = {
            "tokens_per_second": statistics.median(rates),
            "tokens_per_second_runs": rates,
            "total_seconds_runs": [run["total_seconds"] for run in path_runs],
            "timed_steps": path_runs[0]["timed_steps"],
            "timed_tokens": path_runs[0]["timed_tokens"],
            "real_token_fraction": path_runs[0]["real_token_fraction"],
            "mean_loss": path_runs[0]["mean_loss"],
        }
    pairs = list(zip(runs["trainer"], runs["plain"]))
    summary["trainer_over_plain"] = summary["trainer"]["tokens_per_second"] / summary["plain"]["tokens_per_second"]
    summary["trainer_over_plain_per_repeat"] = [t["tokens_per_second"] / p["tokens_per_second"] for t, p in pairs]
    signatures = [run["batch_signature"] for path_runs in runs.values() for run in path_runs]
    summary["batches_match"] = all(signature == signatures[0] for signature in signatures)
    # Same batches, init and optimiser: the two paths should train the same model, step for step.
    summary["max_mean_loss_difference"] = max(abs(t["mean_loss"] - p["mean_loss"]) for t, p in pairs)
    return summary


def comparisons(configurations: dict[str, dict]) -> dict:
    """Ratios across configurations, per path: length grouping over random, single-task over multi-task."""
    ratios = {}
    for path in ("plain", "trainer"):
        for task in TASKS:
            grouped, shuffled = configurations[f"{task}/group_by_length"], configurations[f"{task}/random"]
            ratios[f"{path}/{task}/group_by_length_over_random"] = (
                grouped[path]["tokens_per_second"] / shuffled[path]["tokens_per_second"]
            )
        for strategy in STRATEGIES:
            ner, mtl = configurations[f"ner/{strategy}"], configurations[f"mtl/{strategy}"]
            ratios[f"{path}/{strategy}/ner_over_mtl"] = ner[path]["tokens_per_second"] / mtl[path]["tokens_per_second"]
    return ratios


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--max_steps", type=int, default=60, help="Optimiser steps per timed run.")
    parser.add_argument("--warmup_steps", type=int, default=5, help="Steps of each run left out of the timing.")
    parser.add_argument("--repeats", type=int, default=2, help="Runs per path and configuration (alternating).")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--seed", type=int, default=1)
    add_model_size_arguments(parser)
    args = parser.parse_args(argv)
    if args.max_steps < 1 or args.repeats < 1:
        parser.error(f"--max_steps and --repeats: expected >= 1, received {args.max_steps} and {args.repeats}.")
    if not 0 <= args.warmup_steps < args.max_steps:
        parser.error(
            f"--warmup_steps: expected 0 <= warmup_steps < max_steps={args.max_steps}, received {args.warmup_steps}."
        )
    check_data_dir(parser, args)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    benchmark = ThroughputBenchmark(args, device)
    configurations = {}
    for task in args.tasks:
        for strategy in args.strategies:
            runs = {"plain": [], "trainer": []}
            for _ in range(args.repeats):
                runs["plain"].append(benchmark.run_plain(task, strategy))
                runs["trainer"].append(benchmark.run_trainer(task, strategy))
            configurations[f"{task}/{strategy}"] = summarize(runs)
            print(
                f"{task}/{strategy}: plain {configurations[f'{task}/{strategy}']['plain']['tokens_per_second']:.0f} "
                f"tok/s, trainer {configurations[f'{task}/{strategy}']['trainer']['tokens_per_second']:.0f} tok/s",
                file=sys.stderr,
            )
    result = {
        "benchmark": "train_throughput",
        "environment": environment(device),
        "settings": {
            "dataset": args.dataset,
            "train_sentences": benchmark.train_dataset.num_rows,
            "batch_size": benchmark.training_arguments("random").per_device_train_batch_size,
            "max_steps": args.max_steps,
            "warmup_steps": args.warmup_steps,
            "repeats": args.repeats,
            "seed": args.seed,
            "model": asdict(benchmark.model_args),
            "trainer_optimizer": benchmark.training_arguments("random").optim.value,
            "plain_optimizer": f"torch.optim.Adam(fused={benchmark.training_arguments('random').optim == 'adamw_torch_fused'})",
        },
        "configurations": configurations,
    }
    if set(args.tasks) == set(TASKS) and set(args.strategies) == set(STRATEGIES):
        result["comparisons"] = comparisons(configurations)
    emit(result, args.output)
    return result


if __name__ == "__main__":
    main()
