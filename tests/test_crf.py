"""Tests of the CRF: the contract that the torch CRF (`crf.py`) and the numpy one (`inference/numpy_crf.py`, for
ONNX Runtime) share, checked on both against brute force over every tag path; then what only the torch CRF does
(likelihood, gradients, precision, tracing, partial annotation)."""

import itertools

import numpy as np
import pytest
import torch

from modeling_mtl_bilstm.crf import ConditionalRandomField, TransitionConstraints, allowed_transitions, viterbi_decode
from modeling_mtl_bilstm.inference import numpy_crf


def make_crf(num_tags, dtype=torch.float64, seed=0):
    """A CRF with transition scores large enough that mistakes in them change the results."""
    torch.manual_seed(seed)
    crf = ConditionalRandomField(num_tags).to(dtype)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def make_batch(lengths, num_tags, dtype=torch.float64, seed=1):
    """Random emissions, tags (-100 at padding) and a left-aligned bool mask for the given lengths."""
    generator = torch.Generator().manual_seed(seed)
    batch_size, sequence_length = len(lengths), max(lengths)
    emissions = torch.randn(batch_size, sequence_length, num_tags, generator=generator, dtype=dtype)
    mask = torch.arange(sequence_length) < torch.tensor(lengths).unsqueeze(1)
    tags = torch.randint(num_tags, (batch_size, sequence_length), generator=generator).masked_fill(~mask, -100)
    return emissions, tags, mask


def oracle_score(crf, emissions, path):
    """Score of one tag path for one unpadded sequence, emissions of shape (len(path), num_tags)."""
    score = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    score = score + sum(emissions[position, tag] for position, tag in enumerate(path))
    return score + sum(crf.transitions[previous, tag] for previous, tag in zip(path, path[1:]))


def all_path_scores(crf, emissions):
    """Every tag path of one unpadded sequence with its score."""
    paths = list(itertools.product(range(crf.num_tags), repeat=emissions.size(0)))
    return paths, torch.stack([oracle_score(crf, emissions, path) for path in paths])


LENGTHS = [4, 1, 3, 2]


# ---------------------------------------------------------------- the contract of both CRFs


class TorchCRF:
    """The torch CRF behind the shared interface: numpy in, numpy out; CRF scores go through the module's own
    methods, score-free decoding through `viterbi_decode`."""

    @staticmethod
    def constraints(id2label):
        return tuple(value.numpy() for value in allowed_transitions(id2label))

    @staticmethod
    def _crf(scores):
        crf = ConditionalRandomField(len(scores[0])).double()
        with torch.no_grad():
            for parameter, value in zip((crf.start_transitions, crf.transitions, crf.end_transitions), scores):
                parameter.copy_(torch.from_numpy(value))
        return crf

    @classmethod
    def viterbi(cls, emissions, mask, scores=None, constraints=None, pad_tag_id=-100):
        emissions, mask = torch.from_numpy(emissions), torch.from_numpy(mask)
        if constraints is not None:
            constraints = TransitionConstraints(*(torch.from_numpy(value) for value in constraints))
        if scores is None:
            return viterbi_decode(emissions, mask, constraints=constraints, pad_tag_id=pad_tag_id).numpy()
        return cls._crf(scores).decode(emissions, mask, pad_tag_id=pad_tag_id, constraints=constraints).numpy()

    @classmethod
    def marginals(cls, emissions, mask, scores, constraints=None):
        if constraints is not None:
            constraints = TransitionConstraints(*(torch.from_numpy(value) for value in constraints))
        marginals = cls._crf(scores).marginals(torch.from_numpy(emissions), torch.from_numpy(mask), constraints)
        return marginals.numpy()


class NumpyCRF:
    """The numpy CRF of the ONNX Runtime backend behind the same interface."""

    @staticmethod
    def constraints(id2label):
        return tuple(numpy_crf.iob2_constraints(id2label))

    @staticmethod
    def viterbi(emissions, mask, scores=None, constraints=None, pad_tag_id=-100):
        scores = None if scores is None else numpy_crf.CRFScores(*scores)
        constraints = None if constraints is None else numpy_crf.NumpyTransitionConstraints(*constraints)
        return numpy_crf.viterbi_decode(emissions, mask, scores, constraints, pad_tag_id=pad_tag_id)

    @staticmethod
    def marginals(emissions, mask, scores, constraints=None):
        constraints = None if constraints is None else numpy_crf.NumpyTransitionConstraints(*constraints)
        return numpy_crf.crf_marginals(emissions, mask, numpy_crf.CRFScores(*scores), constraints)


@pytest.fixture(params=[TorchCRF, NumpyCRF], ids=["torch", "numpy"])
def implementation(request):
    return request.param


IOB2_TAGS = {0: "O", 1: "B-PS", 2: "I-PS", 3: "B-LC", 4: "I-LC"}


def random_inputs(lengths, num_tags, seed=1):
    """Emissions `(batch, max(lengths), num_tags)`, a left-aligned bool mask, and CRF scores `(start, transitions,
    end)` large enough that mistakes in them change the results; float64 numpy arrays."""
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(len(lengths), max(lengths), num_tags))
    mask = np.arange(max(lengths))[None, :] < np.array(lengths)[:, None]
    scores = (rng.normal(size=num_tags), rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags))
    return emissions, mask, scores


def zero_scores(num_tags):
    return np.zeros(num_tags), np.zeros((num_tags, num_tags)), np.zeros(num_tags)


def is_allowed(constraints, path):
    """Whether a tag path makes only allowed moves."""
    start, transitions, end = constraints
    return bool(start[path[0]] and end[path[-1]] and all(transitions[i, j] for i, j in zip(path, path[1:])))


def brute_force(emissions, scores, constraints=None):
    """Every tag path of one unpadded sequence (emissions `(length, num_tags)`) and its score, `-inf` where the
    constraints forbid it."""
    start, transitions, end = scores
    paths = list(itertools.product(range(emissions.shape[1]), repeat=emissions.shape[0]))
    path_scores = np.array(
        [
            start[path[0]]
            + end[path[-1]]
            + emissions[range(len(path)), list(path)].sum()
            + sum(transitions[i, j] for i, j in zip(path, path[1:]))
            for path in paths
        ]
    )
    if constraints is not None:
        path_scores[[not is_allowed(constraints, path) for path in paths]] = -np.inf
    return paths, path_scores


def brute_force_marginals(emissions, scores, constraints=None):
    paths, path_scores = brute_force(emissions, scores, constraints)
    probabilities = np.exp(path_scores - np.logaddexp.reduce(path_scores))
    marginals = np.zeros(emissions.shape)
    for path, probability in zip(paths, probabilities):
        marginals[range(len(path)), list(path)] += probability
    return marginals


def may_follow(previous, label):
    """IOB2: I-X only continues a B-X or I-X."""
    return not label.startswith("I-") or (previous != "O" and previous[2:] == label[2:])


def is_valid_iob2(labels):
    return all(may_follow(previous, label) for previous, label in zip(["O", *labels], labels))


@pytest.mark.parametrize("num_tags", [1, 2, 3, 4])
@pytest.mark.parametrize("with_scores", [True, False], ids=["crf", "argmax"])
def test_viterbi_is_the_best_path_by_brute_force(implementation, num_tags, with_scores):
    emissions, mask, scores = random_inputs(LENGTHS, num_tags)
    decoded = implementation.viterbi(emissions, mask, scores if with_scores else None)
    assert decoded.dtype == np.int64 and decoded.shape == mask.shape
    for row, length in enumerate(LENGTHS):
        paths, path_scores = brute_force(emissions[row, :length], scores if with_scores else zero_scores(num_tags))
        assert decoded[row, :length].tolist() == list(paths[path_scores.argmax()])
        assert (decoded[row, length:] == -100).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_viterbi_is_the_best_valid_iob2_path(implementation, seed):
    emissions, mask, scores = random_inputs(LENGTHS, len(IOB2_TAGS), seed=seed + 10)
    emissions[:, :, 2] += 3.0  # make I-PS tempting everywhere, so unconstrained paths are often invalid
    constraints = implementation.constraints(IOB2_TAGS)
    decoded = implementation.viterbi(emissions, mask, scores, constraints)
    unconstrained_invalid = 0
    for row, length in enumerate(LENGTHS):
        paths, path_scores = brute_force(emissions[row, :length], scores)
        valid = np.array([is_allowed(constraints, path) for path in paths])
        assert valid.tolist() == [is_valid_iob2([IOB2_TAGS[t] for t in path]) for path in paths]
        assert decoded[row, :length].tolist() == list(paths[np.where(valid, path_scores, -np.inf).argmax()])
        unconstrained_invalid += not valid[path_scores.argmax()]
    assert unconstrained_invalid > 0  # the constraints changed something


def test_constrained_viterbi_over_log_softmax_is_the_most_probable_valid_sequence(implementation):
    """A softmax head's constrained decoding: no CRF scores, the constraints only."""
    emissions, mask, _ = random_inputs(LENGTHS, len(IOB2_TAGS), seed=3)
    emissions[:, :, 4] += 2.0
    log_probabilities = emissions - np.logaddexp.reduce(emissions, axis=2, keepdims=True)
    constraints = implementation.constraints(IOB2_TAGS)
    decoded = implementation.viterbi(log_probabilities, mask, None, constraints, pad_tag_id=-1)
    for row, length in enumerate(LENGTHS):
        paths, path_scores = brute_force(log_probabilities[row, :length], zero_scores(len(IOB2_TAGS)), constraints)
        assert decoded[row, :length].tolist() == list(paths[path_scores.argmax()])
        assert (decoded[row, length:] == -1).all()


@pytest.mark.parametrize("num_tags", [1, 2, 3, 4])
def test_marginals_sum_to_one_and_match_brute_force(implementation, num_tags):
    emissions, mask, scores = random_inputs(LENGTHS, num_tags)
    marginals = implementation.marginals(emissions, mask, scores)
    assert marginals.dtype == np.float64 and marginals.shape == emissions.shape
    np.testing.assert_allclose(marginals.sum(axis=2), mask.astype(float), atol=1e-12)
    for row, length in enumerate(LENGTHS):
        expected = brute_force_marginals(emissions[row, :length], scores)
        np.testing.assert_allclose(marginals[row, :length], expected, atol=1e-12)
        assert (marginals[row, length:] == 0).all()


def test_constrained_marginals_match_brute_force_over_valid_paths(implementation):
    emissions, mask, scores = random_inputs(LENGTHS, len(IOB2_TAGS))
    constraints = implementation.constraints(IOB2_TAGS)
    marginals = implementation.marginals(emissions, mask, scores, constraints)
    np.testing.assert_allclose(marginals.sum(axis=2), mask.astype(float), atol=1e-12)
    for row, length in enumerate(LENGTHS):
        expected = brute_force_marginals(emissions[row, :length], scores, constraints)
        np.testing.assert_allclose(marginals[row, :length], expected, atol=1e-12)
    assert (marginals[:, 0, [2, 4]] == 0).all()  # no sequence starts inside an entity


def test_allowed_transitions_follow_iob2(implementation):
    start, transitions, end = implementation.constraints(IOB2_TAGS)
    assert start.dtype == transitions.dtype == end.dtype == np.bool_
    assert start.tolist() == [True, True, False, True, False] and end.all()
    allowed = {(IOB2_TAGS[i], IOB2_TAGS[j]) for i, j in zip(*np.nonzero(transitions))}
    assert allowed == {(a, b) for a in IOB2_TAGS.values() for b in IOB2_TAGS.values() if may_follow(a, b)}
    # A list in id order and a map with the str keys of a JSON round trip are the same; tags without an I- tag
    # (POS tags, a bare "I-") are not restricted.
    for same in (list(IOB2_TAGS.values()), {str(i): label for i, label in IOB2_TAGS.items()}):
        for expected, received in zip((start, transitions, end), implementation.constraints(same)):
            np.testing.assert_array_equal(received, expected)
    assert all(value.all() for value in implementation.constraints(["NNG", "JKS", "O", "B-PS", "I-"]))
    with pytest.raises(ValueError, match=r"id2label: expected ids 0..1, received \[0, 2\]"):
        implementation.constraints({0: "O", 2: "B-PS"})
    with pytest.raises(ValueError, match="id2label: expected at least one tag, received none"):
        implementation.constraints([])


def test_each_sequence_gets_what_it_gets_alone_whatever_its_padding_holds(implementation):
    lengths = [7, 2, 5, 1, 7, 3]
    emissions, mask, scores = random_inputs(lengths, len(IOB2_TAGS))
    constraints = implementation.constraints(IOB2_TAGS)
    noisy = emissions.copy()
    noisy[~mask] = [1e4, np.inf, np.nan, -1e4, 0.0]
    decoded = implementation.viterbi(noisy, mask.astype(np.int64), scores, constraints)  # an integer mask is fine
    marginals = implementation.marginals(noisy, mask, scores, constraints)
    assert np.isfinite(marginals).all()
    for row, length in enumerate(lengths):
        alone = emissions[row : row + 1, :length], mask[row : row + 1, :length]
        assert decoded[row, :length].tolist() == implementation.viterbi(*alone, scores, constraints)[0].tolist()
        np.testing.assert_allclose(
            marginals[row, :length], implementation.marginals(*alone, scores, constraints)[0], atol=1e-12
        )


@pytest.mark.parametrize(
    "mask, message",
    [
        ([[True, True, True], [False, False, False]], r"mask.*expected .*received .*rows \[1\]"),
        ([[True, False, True], [True, True, False]], r"mask.*left-aligned.*received .*rows \[0\]"),
        ([[True, True, True]], r"mask.*expected shape \(2, 3\), received \(1, 3\)"),
    ],
)
def test_masks_of_the_wrong_shape_or_not_left_aligned_raise(implementation, mask, message):
    emissions, _, scores = random_inputs([3, 2], 4)
    mask = np.array(mask)
    with pytest.raises(ValueError, match=message):
        implementation.viterbi(emissions, mask, scores)
    with pytest.raises(ValueError, match=message):
        implementation.marginals(emissions, mask, scores)


# ---------------------------------------------------------------- the torch CRF alone


@pytest.mark.parametrize("num_tags", [1, 2, 3, 4])
def test_log_partition_and_log_likelihood_match_brute_force(num_tags):
    crf = make_crf(num_tags)
    emissions, tags, mask = make_batch(LENGTHS, num_tags)
    log_partition = crf.log_partition(emissions, mask)
    log_likelihood = crf.log_likelihood(emissions, tags, mask)
    for row, length in enumerate(LENGTHS):
        _, scores = all_path_scores(crf, emissions[row, :length])
        expected_log_partition = torch.logsumexp(scores, dim=0)
        gold_score = oracle_score(crf, emissions[row, :length], tags[row, :length].tolist())
        torch.testing.assert_close(log_partition[row], expected_log_partition)
        torch.testing.assert_close(log_likelihood[row], gold_score - expected_log_partition)
    assert (log_likelihood <= 1e-12).all()


def test_batched_results_equal_each_sequence_alone():
    lengths = [7, 2, 5, 1, 7, 3]
    crf = make_crf(5)
    emissions, tags, mask = make_batch(lengths, 5)
    log_partition = crf.log_partition(emissions, mask)
    log_likelihood = crf.log_likelihood(emissions, tags, mask)
    decoded = crf.decode(emissions, mask)
    for row, length in enumerate(lengths):
        alone = (emissions[row : row + 1, :length], tags[row : row + 1, :length], mask[row : row + 1, :length])
        torch.testing.assert_close(log_partition[row : row + 1], crf.log_partition(alone[0], alone[2]))
        torch.testing.assert_close(log_likelihood[row : row + 1], crf.log_likelihood(*alone))
        assert torch.equal(decoded[row, :length], crf.decode(alone[0], alone[2])[0])


def test_padding_values_and_tags_do_not_matter():
    crf = make_crf(4)
    emissions, tags, mask = make_batch([5, 2, 3], 4)
    noisy_emissions = emissions.clone()
    noisy_emissions[~mask] = torch.tensor([1e4, float("inf"), float("nan"), -1e4], dtype=emissions.dtype)
    noisy_tags = tags.masked_fill(~mask, 3)
    outputs = {}
    for name, (emissions_in, tags_in) in {"clean": (emissions, tags), "noisy": (noisy_emissions, noisy_tags)}.items():
        emissions_in = emissions_in.clone().requires_grad_()
        loss = crf(emissions_in, tags_in, mask, reduction="sum")
        loss.backward()
        outputs[name] = (loss, emissions_in.grad, crf.decode(emissions_in, mask))
    for clean, noisy in zip(outputs["clean"], outputs["noisy"]):
        assert torch.equal(clean, noisy)
    assert outputs["noisy"][1][~mask].eq(0).all()


def test_gradients_reach_emissions_and_all_transition_scores():
    crf = ConditionalRandomField(3)
    emissions, tags, mask = make_batch([4, 2], 3, dtype=torch.float32)
    emissions.requires_grad_()
    crf(emissions, tags, mask).backward()
    for name, gradient in [("emissions", emissions.grad)] + [(n, p.grad) for n, p in crf.named_parameters()]:
        assert gradient is not None, name
        assert torch.isfinite(gradient).all(), name
        assert gradient.abs().sum() > 0, name
    assert {name for name, _ in crf.named_parameters()} == {"start_transitions", "end_transitions", "transitions"}


@pytest.mark.parametrize("half_dtype", [torch.float16, torch.bfloat16])
def test_half_precision_emissions_are_computed_in_float32(half_dtype):
    crf = make_crf(4, dtype=torch.float32)
    emissions, tags, mask = make_batch([6, 3, 4], 4, dtype=torch.float32)
    half_emissions = emissions.to(half_dtype).requires_grad_()
    loss = crf(half_emissions, tags, mask)
    assert loss.dtype == torch.float32
    assert crf.log_likelihood(half_emissions, tags, mask).dtype == torch.float32
    assert crf.log_partition(half_emissions, mask).dtype == torch.float32
    # Upcasting is the only approximation: the result equals the float32 one on the rounded emissions.
    torch.testing.assert_close(loss, crf(half_emissions.float(), tags, mask), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(loss, crf(emissions, tags, mask), rtol=2e-2, atol=5e-2)
    loss.backward()
    assert half_emissions.grad.dtype == half_dtype
    assert torch.equal(crf.decode(half_emissions, mask), crf.decode(half_emissions.float(), mask))


def test_reductions():
    crf = make_crf(3)
    emissions, tags, mask = make_batch([5, 2, 4], 3)
    per_sequence = crf(emissions, tags, mask, reduction="none")
    assert per_sequence.shape == (3,)
    torch.testing.assert_close(per_sequence, -crf.log_likelihood(emissions, tags, mask))
    torch.testing.assert_close(crf(emissions, tags, mask, reduction="sum"), per_sequence.sum())
    torch.testing.assert_close(crf(emissions, tags, mask), per_sequence.sum() / 3)
    torch.testing.assert_close(crf(emissions, tags, mask, reduction="token_mean"), per_sequence.sum() / 11)


def test_integer_masks_are_accepted():
    crf = make_crf(3)
    emissions, tags, mask = make_batch([4, 1, 3], 3)
    expected = crf(emissions, tags, mask, reduction="none")
    for dtype in (torch.uint8, torch.int32, torch.long):
        torch.testing.assert_close(crf(emissions, tags, mask.to(dtype), reduction="none"), expected)
        assert torch.equal(crf.decode(emissions, mask.to(dtype)), crf.decode(emissions, mask))


def test_decode_output_format():
    crf = make_crf(3)
    emissions, _, mask = make_batch([5, 2, 4], 3)
    decoded = crf.decode(emissions.requires_grad_(), mask, pad_tag_id=-1)
    assert decoded.dtype == torch.long
    assert decoded.device == emissions.device
    assert decoded.shape == (3, 5)
    assert not decoded.requires_grad
    assert decoded[~mask].eq(-1).all()
    assert ((decoded[mask] >= 0) & (decoded[mask] < 3)).all()
    assert torch.equal(crf.decode(emissions, mask)[~mask], torch.full((4,), -100))


def test_reset_parameters_initialises_uniformly_in_small_range():
    crf = make_crf(6, dtype=torch.float32)
    crf.reset_parameters()
    for parameter in crf.parameters():
        assert parameter.abs().max() <= 0.1
        assert parameter.std() > 0
    assert crf.transitions.shape == (6, 6)
    assert "num_tags=6" in repr(crf)


VALID_LENGTHS = [3, 2]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e, t, m: (e[0], t, m), "3-D"),
        (lambda e, t, m: (e[:, :0], t[:, :0], m[:, :0]), "3-D"),
        (lambda e, t, m: (e[..., :3], t, m), "num_tags"),
        (lambda e, t, m: (e, t[:, :2], m), "tags must match"),
        (lambda e, t, m: (e, t, m[:1]), "mask must match"),
        (lambda e, t, m: (e, t, torch.tensor([[True, True, True], [False, False, False]])), r"mask\[:, 0\]"),
        (lambda e, t, m: (e, t, torch.tensor([[True, False, True], [True, True, False]])), "left-aligned"),
        (lambda e, t, m: (e, t.masked_fill(m, 4), m), r"\[0, 4\), received 4"),
        (lambda e, t, m: (e, torch.where(m, -100, t), m), r"\[0, 4\), received -100"),
        (lambda e, t, m: (e, t.float(), m), "integer dtype"),
    ],
)
def test_invalid_inputs_raise_value_error(change, message):
    crf = make_crf(4)
    emissions, tags, mask = change(*make_batch(VALID_LENGTHS, 4))
    with pytest.raises(ValueError, match=message) as error:
        crf(emissions, tags, mask)
    assert "expected" in str(error.value) and "received" in str(error.value)


def test_invalid_inputs_raise_in_every_public_method():
    crf = make_crf(4)
    emissions, tags, mask = make_batch(VALID_LENGTHS, 4)
    bad_mask = torch.tensor([[True, False, True], [True, True, False]])
    for call in (
        lambda: crf.log_likelihood(emissions, tags, bad_mask),
        lambda: crf.log_partition(emissions, bad_mask),
        lambda: crf.decode(emissions, bad_mask),
    ):
        with pytest.raises(ValueError, match="expected ones followed by zeros, received .* rows \\[0\\]"):
            call()


def test_unknown_reduction_raises_value_error():
    emissions, tags, mask = make_batch(VALID_LENGTHS, 4)
    with pytest.raises(ValueError, match="expected one of .*received 'average'"):
        make_crf(4)(emissions, tags, mask, reduction="average")


@pytest.mark.parametrize("num_tags", [0, -2])
def test_non_positive_num_tags_raises_value_error(num_tags):
    with pytest.raises(ValueError, match=f"expected >= 1, received {num_tags}"):
        ConditionalRandomField(num_tags)


# ---------------------------------------------------------------- marginals


def test_marginals_equal_the_gradient_of_the_log_partition():
    crf = make_crf(5, dtype=torch.float32)
    emissions, _, mask = make_batch([7, 2, 5, 1], 5, dtype=torch.float32)
    emissions.requires_grad_()
    (expected,) = torch.autograd.grad(crf.log_partition(emissions, mask).sum(), emissions)
    marginals = crf.marginals(emissions, mask)
    assert not marginals.requires_grad
    torch.testing.assert_close(marginals, expected)
    torch.testing.assert_close(marginals.sum(dim=2), mask.float())


def test_marginals_of_half_precision_emissions_are_float32():
    crf = make_crf(4, dtype=torch.float32)
    emissions, _, mask = make_batch([6, 3], 4, dtype=torch.float32)
    marginals = crf.marginals(emissions.to(torch.bfloat16), mask)
    assert marginals.dtype == torch.float32
    torch.testing.assert_close(marginals, crf.marginals(emissions.to(torch.bfloat16).float(), mask))


def test_constraints_of_the_wrong_size_raise():
    with pytest.raises(ValueError, match=r"constraints: expected shapes .* received"):
        make_crf(3).decode(*make_batch([2], 3)[::2], constraints=allowed_transitions(IOB2_TAGS))


def test_crf_methods_trace_into_one_graph():
    """No Python branch on tensor values: loss, decoding and marginals compile with fullgraph=True."""
    crf = make_crf(len(IOB2_TAGS), dtype=torch.float32)
    constraints = allowed_transitions(IOB2_TAGS)
    emissions, tags, mask = make_batch([6, 2, 4], len(IOB2_TAGS), dtype=torch.float32)

    def everything(emissions, tags, mask):
        return (
            crf(emissions, tags, mask, reduction="token_mean"),
            crf.decode(emissions, mask, constraints=constraints),
            crf.marginals(emissions, mask, constraints=constraints),
            viterbi_decode(emissions.log_softmax(-1), mask, constraints=constraints),
        )

    torch._dynamo.reset()
    compiled = torch.compile(everything, fullgraph=True, backend="aot_eager")
    for got, expected in zip(compiled(emissions, tags, mask), everything(emissions, tags, mask)):
        torch.testing.assert_close(got, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_cuda_matches_cpu():
    crf = make_crf(5, dtype=torch.float32)
    emissions, tags, mask = make_batch([6, 2, 4], 5, dtype=torch.float32)
    cuda_crf = make_crf(5, dtype=torch.float32).cuda()
    cuda_inputs = (emissions.cuda(), tags.cuda(), mask.cuda())
    torch.testing.assert_close(cuda_crf(*cuda_inputs, reduction="none").cpu(), crf(emissions, tags, mask, "none"))
    decoded = cuda_crf.decode(cuda_inputs[0], cuda_inputs[2])
    assert decoded.device.type == "cuda"
    assert torch.equal(decoded.cpu(), crf.decode(emissions, mask))


def random_allowed(tags, num_tags, seed=2):
    """The gold tag of each position plus random others: a partial annotation."""
    generator = torch.Generator().manual_seed(seed)
    allowed = torch.rand(*tags.shape, num_tags, generator=generator) < 0.4
    return allowed | torch.nn.functional.one_hot(tags.clamp(min=0), num_tags).bool()


@pytest.mark.parametrize("num_tags", [2, 3, 4])
def test_partial_annotation_loss_matches_brute_force(num_tags):
    crf = make_crf(num_tags)
    emissions, tags, mask = make_batch(LENGTHS, num_tags)
    allowed = random_allowed(tags, num_tags)
    loss = crf(emissions, tags, mask, reduction="none", allowed_tags=allowed)
    for row, length in enumerate(LENGTHS):
        paths, scores = all_path_scores(crf, emissions[row, :length])
        kept = torch.tensor([all(allowed[row, t, tag] for t, tag in enumerate(path)) for path in paths])
        expected = scores.logsumexp(0) - scores[kept].logsumexp(0)
        torch.testing.assert_close(loss[row], expected)


def test_partial_annotation_of_the_gold_alone_is_the_plain_loss_and_of_everything_is_zero():
    crf = make_crf(3)
    emissions, tags, mask = make_batch(LENGTHS, 3)
    gold_only = torch.nn.functional.one_hot(tags.clamp(min=0), 3).bool()
    plain = crf(emissions, tags, mask, reduction="none")
    torch.testing.assert_close(crf(emissions, tags, mask, reduction="none", allowed_tags=gold_only), plain)
    everything = torch.ones_like(gold_only)
    torch.testing.assert_close(
        crf(emissions, tags, mask, reduction="none", allowed_tags=everything),
        torch.zeros(len(LENGTHS), dtype=plain.dtype),
    )


def test_partial_annotation_gradients_are_finite_and_errors_are_clear():
    crf = make_crf(3, dtype=torch.float32)
    emissions, tags, mask = make_batch(LENGTHS, 3, dtype=torch.float32)
    emissions.requires_grad_(True)
    crf(emissions, tags, mask, reduction="token_mean", allowed_tags=random_allowed(tags, 3)).backward()
    assert torch.isfinite(emissions.grad).all() and torch.isfinite(crf.transitions.grad).all()
    wrong_gold = ~torch.nn.functional.one_hot(tags.clamp(min=0), 3).bool()
    with pytest.raises(ValueError, match="allowed_tags must allow the gold tag: expected tag"):
        crf(emissions, tags, mask, allowed_tags=wrong_gold)
    with pytest.raises(ValueError, match=r"expected \(4, 4, 3\), received \(4, 4\)"):
        crf(emissions, tags, mask, allowed_tags=mask)
