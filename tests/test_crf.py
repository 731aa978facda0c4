import itertools

import pytest
import torch

from modeling_mtl_bilstm.crf import ConditionalRandomField


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


@pytest.mark.parametrize("num_tags", [1, 2, 3, 4])
def test_decode_matches_brute_force(num_tags):
    crf = make_crf(num_tags)
    emissions, _, mask = make_batch(LENGTHS, num_tags)
    decoded = crf.decode(emissions, mask)
    for row, length in enumerate(LENGTHS):
        paths, scores = all_path_scores(crf, emissions[row, :length])
        best_path = decoded[row, :length].tolist()
        assert best_path == list(paths[scores.argmax()])
        torch.testing.assert_close(oracle_score(crf, emissions[row, :length], best_path), scores.max())
        assert decoded[row, length:].eq(-100).all()


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
