"""ObservationReader: signed Boxes (running on/off code), MultiDiscrete, Dict/Tuple, errors."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from plasticgym.encoding import (
    Z_MAX,
    ObservationReader,
    ObservationStats,
    box_index,
    check_box_edges,
    n_channels,
    on_off_channels,
    welford_update,
)

CPU = torch.device("cpu")
INF = np.inf


def _signed(dim=1):
    return gym.spaces.Box(-INF, INF, (dim,), dtype=np.float32)


def test_golden_on_off_pairs_by_hand():
    # one agent sees 1 then 3: after 1, mean 1, var 0 -> z 0; after 3, mean 2, M2 = 2,
    # var = 2 / 2 = 1 -> z = (3 - 2) / 1 = 1 -> on = 1 / 3, off = 0.
    reader = ObservationReader(_signed(), CPU)
    stats = reader.init(1, CPU)
    channels, stats = reader(np.array([[1.0]]), stats, update=True)
    assert channels.tolist() == [[0.0, 0.0]]
    channels, stats = reader(np.array([[3.0]]), stats, update=True)
    assert stats.count.tolist() == [2.0]
    assert stats.mean.tolist() == [[2.0]]
    assert stats.m2.tolist() == [[2.0]]
    np.testing.assert_allclose(channels.numpy(), [[1.0 / Z_MAX, 0.0]], rtol=1e-6)
    # below the mean only the off channel fires; far away both saturate at 1 / 0
    channels, _ = reader(np.array([[1.0]]), stats)  # no update: z = -1
    np.testing.assert_allclose(channels.numpy(), [[0.0, 1.0 / Z_MAX]], rtol=1e-6)
    channels, _ = reader(np.array([[100.0]]), stats)
    assert channels.tolist() == [[1.0, 0.0]]


def test_welford_matches_numpy_per_agent_and_is_deterministic():
    rng = np.random.default_rng(0)
    data = rng.normal([3.0, -2.0], [0.5, 4.0], size=(500, 3, 2))  # [T, B, D]
    stats = ObservationStats(torch.zeros(3, dtype=torch.float64),
                             torch.zeros(3, 2, dtype=torch.float64),
                             torch.zeros(3, 2, dtype=torch.float64))  # fmt: skip
    for x in data:
        stats = welford_update(stats, torch.as_tensor(x))
    np.testing.assert_allclose(stats.mean.numpy(), data.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose((stats.m2 / 500).numpy(), data.var(axis=0), rtol=1e-10)
    x = torch.as_tensor(data[-1])
    z = (data[-1] - data.mean(axis=0)) / np.sqrt(data.var(axis=0) + 1e-8)
    code = on_off_channels(x, stats).numpy().reshape(3, 2, 2)
    np.testing.assert_allclose(code[..., 0] - code[..., 1], np.clip(z, -3, 3) / 3, atol=1e-6)
    assert (code.min(axis=-1) == 0).all()  # one of each pair is silent


def test_agents_normalise_independently():
    reader = ObservationReader(_signed(2), CPU)
    stats = reader.init(2, CPU)
    for t in range(10):
        obs = np.array([[t, 0.0], [-5.0 * t, 7.0]], dtype=np.float32)
        _, stats = reader(obs, stats, update=True)
    assert stats.mean[0].tolist() == [4.5, 0.0]
    assert stats.mean[1].tolist() == [-22.5, 7.0]


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        (gym.make("CartPole-v1").observation_space, 8),
        (gym.make("Pendulum-v1").observation_space, 6),
        (gym.spaces.Box(-1.0, 1.0, (2, 3)), 12),
        (gym.spaces.Box(0.0, 1.0, (5,)), 5),
        (gym.spaces.Box(0.0, INF, (5,)), 10),  # unbounded intensities: normalised too
        (gym.spaces.Discrete(4), 4),
        (gym.spaces.MultiBinary(3), 3),
        (gym.spaces.MultiDiscrete([2, 3, 4]), 9),
        (gym.spaces.Tuple((gym.spaces.Discrete(2), _signed(2))), 6),
        (gym.spaces.Dict({"a": gym.spaces.Discrete(3),
                          "b": gym.spaces.Dict({"c": gym.spaces.MultiBinary(2)})}), 5),
    ],
)  # fmt: skip
def test_channel_counts(space, expected):
    assert n_channels(space) == expected
    reader = ObservationReader(space, CPU)
    obs = gym.vector.utils.create_empty_array(space, 4)
    obs = gym.vector.utils.concatenate(space, [space.sample() for _ in range(4)], obs)
    channels, _ = reader(obs, reader.init(4, CPU), update=True)
    assert channels.shape == (4, expected)
    assert channels.min() >= 0 and channels.max() <= 1


def test_bounded_box_and_discrete_keep_their_reading():
    box = gym.spaces.Box(np.float32([0.0, 1.0]), np.float32([2.0, 5.0]), dtype=np.float32)
    reader = ObservationReader(box, CPU)
    assert reader.init(3, CPU) is None
    channels, stats = reader(np.array([[1.0, 2.0], [3.0, 1.0]], dtype=np.float32))
    assert stats is None
    assert channels.tolist() == [[0.5, 0.25], [1.0, 0.0]]
    reader = ObservationReader(gym.spaces.Discrete(3, start=1), CPU)
    assert reader(np.array([1, 3]))[0].tolist() == [[1, 0, 0], [0, 0, 1]]


def test_multidiscrete_one_hot_blocks():
    reader = ObservationReader(gym.spaces.MultiDiscrete([2, 3]), CPU)
    channels, _ = reader(np.array([[0, 2], [1, 0]]))
    assert channels.tolist() == [[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]]


def test_dict_concatenates_in_space_order_and_shares_stats():
    space = gym.spaces.Dict({"pos": _signed(1), "cue": gym.spaces.Discrete(2),
                             "vel": _signed(1)})  # fmt: skip
    reader = ObservationReader(space, CPU)
    stats = reader.init(1, CPU)
    assert stats.mean.shape == (1, 2)
    for value in (1.0, 3.0):
        obs = {"pos": np.array([[value]]), "cue": np.array([1]), "vel": np.array([[-value]])}
        channels, stats = reader(obs, stats, update=True)
    keys = list(space.spaces)  # gymnasium orders a Dict's keys
    blocks = {"pos": [1 / Z_MAX, 0.0], "cue": [0.0, 1.0], "vel": [0.0, 1 / Z_MAX]}
    expected = [v for k in keys for v in blocks[k]]
    np.testing.assert_allclose(channels.numpy()[0], expected, rtol=1e-6)


def test_signed_box_needs_stats_and_finite_values():
    reader = ObservationReader(_signed(), CPU)
    with pytest.raises(ValueError, match="running normalisation"):
        reader(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        reader(np.array([[np.nan]]), reader.init(1, CPU), update=True)


@pytest.mark.parametrize(
    "space",
    [gym.spaces.Text(5), gym.spaces.Dict({"ok": gym.spaces.Discrete(2),
                                          "bad": gym.spaces.Sequence(gym.spaces.Discrete(2))})],
)  # fmt: skip
def test_unsupported_spaces_name_the_space_and_what_is_allowed(space):
    with pytest.raises(ValueError, match=r"not supported.*Box, Discrete, MultiDiscrete"):
        n_channels(space)


def test_box_code_golden_by_hand():
    # edges (0,) and (-1, 1): element 0 has 2 bins, element 1 has 3, so 6 boxes, box = 3 k0 + k1
    reader = ObservationReader(_signed(2), CPU, box_edges=[[0.0], [-1.0, 1.0]])
    assert reader.n_channels == 6 and reader.init(2, CPU) is None
    obs = np.array([[-0.5, -2.0], [0.5, 0.0], [0.0, 1.0], [3.0, 5.0]], dtype=np.float32)
    channels, stats = reader(obs, None, update=True)
    assert stats is None
    # bins: (0, 0) -> 0; (1, 1) -> 4; an edge belongs to the bin above it: (1, 2) -> 5; (1, 2)
    assert channels.argmax(dim=1).tolist() == [0, 4, 5, 5]
    assert channels.sum(dim=1).tolist() == [1.0] * 4


def test_box_index_matches_numpy_digitize():
    rng = np.random.default_rng(3)
    edges = [np.sort(rng.normal(size=k)) for k in (1, 4, 2)]
    x = rng.normal(size=(200, 3))
    expected = np.zeros(200, dtype=np.int64)
    for d, e in enumerate(edges):
        expected = expected * (len(e) + 1) + np.digitize(x[:, d], e)
    index = box_index(torch.as_tensor(x), [torch.as_tensor(e) for e in edges])
    assert index.tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        ([[0.0, 0.0]], r"box_edges\[0\].*strictly increasing"),
        ([[1.0], [np.nan]], r"box_edges\[1\].*finite"),
        ([[]], r"box_edges\[0\]"),
        ([], r"box_edges=\[\].*one sequence"),
        ("0,1", r"box_edges='0,1'"),
        ([[0.0]] * 21, r"boxes.*at most 1000000"),
    ],
)
def test_bad_box_edges_are_refused_with_what_is_allowed(edges, match):
    with pytest.raises(ValueError, match=match):
        check_box_edges(edges)


def test_box_code_needs_a_box_with_one_sequence_per_element():
    with pytest.raises(ValueError, match=r"box_edges needs a Box.*Discrete"):
        ObservationReader(gym.spaces.Discrete(3), CPU, box_edges=[[0.0]])
    with pytest.raises(ValueError, match=r"1 sequence\(s\).*2 element\(s\)"):
        ObservationReader(_signed(2), CPU, box_edges=[[0.0]])
