"""An exponential moving average (EMA) of the weights, which is what a run evaluates, selects and saves."""

import torch
from transformers import TrainerCallback


class WeightAveragingCallback(TrainerCallback):
    """
    Keeps an exponential moving average of the model's parameters over the optimizer steps, and puts it in place
    of the parameters at each epoch end, for the evaluation and checkpoint that follow; the next step trains the
    parameters themselves again. The checkpoints, and so the best model loaded at the end, hold the average.

    The average starts from the initial weights with a short memory that grows to `decay`: after `t` steps the
    decay is `min(decay, (1 + t) / (10 + t))`, so the first epochs are not dominated by the random initialisation.
    A run resumed from a checkpoint starts a new average from the checkpoint's (averaged) weights.

    Args:
        decay (`float`): in (0, 1); an update moves the average `1 - decay` of the way to the parameters, so it
            remembers about `1 / (1 - decay)` steps.
    """

    def __init__(self, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay: expected a float in (0, 1), received {decay!r}.")
        self.decay = decay
        self._average: list[torch.Tensor] | None = None
        self._trained: list[torch.Tensor] | None = None  # the parameters while the average stands in for them
        self._updates = 0

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._average = [parameter.detach().clone() for parameter in _parameters(model)]
        self._trained, self._updates = None, 0

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self._restore(model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        decay = min(self.decay, (1 + self._updates) / (10 + self._updates))
        with torch.no_grad():
            torch._foreach_lerp_(self._average, _parameters(model), 1.0 - decay)
        self._updates += 1

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        if self._trained is None:
            parameters = _parameters(model)
            with torch.no_grad():
                self._trained = [parameter.detach().clone() for parameter in parameters]
                torch._foreach_copy_(parameters, self._average)

    def _restore(self, model) -> None:
        if self._trained is not None:
            with torch.no_grad():
                torch._foreach_copy_(_parameters(model), self._trained)
            self._trained = None


def _parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    return [parameter for parameter in model.parameters() if parameter.requires_grad]
