"""Synthetic traces: target densities, irregularity, chaining, determinism, TOML files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from traces.netfile import load_network_file
from traces.network import NetworkError
from traces.reader import open_trace
from traces.synthetic import (LayerRates, SyntheticError, SyntheticParams, generate_trace,
                              synthesize_iteration)
from traces.validate import validate_trace
from traces.workloads import WORKLOADS

TINY = WORKLOADS["tiny-cnn"]
MNIST = WORKLOADS["mnist-cnn"]


@pytest.fixture(scope="module")
def mnist() -> dict:
    return synthesize_iteration(MNIST, batch=8, seed=3)


def test_densities_hit_their_targets(mnist: dict) -> None:
    assert mnist["conv1"].input_spikes.mean() == pytest.approx(0.20, rel=0.1)
    for name, rec in mnist.items():
        assert rec.output_spikes.mean() == pytest.approx(0.15, rel=0.15), name
        assert rec.h_mask.mean() == pytest.approx(0.25, rel=0.12), name
        assert rec.du_nonzero.mean() == pytest.approx(0.40, rel=0.12), name


def test_per_layer_rates_override_the_defaults() -> None:
    params = SyntheticParams(layer_rates={"fc1": LayerRates(0.05, 0.30, 0.20)})
    recs = synthesize_iteration(TINY, params, batch=64)
    assert recs["fc1"].output_spikes.mean() == pytest.approx(0.05, rel=0.25)
    assert recs["fc1"].du_nonzero.mean() == pytest.approx(0.20, rel=0.15)
    assert recs["conv1"].output_spikes.mean() == pytest.approx(0.15, rel=0.15)


def test_layers_are_chained(mnist: dict) -> None:
    names = list(mnist)
    for prev, cur in zip(names, names[1:]):
        a, b = mnist[prev].output_spikes, mnist[cur].input_spikes
        assert np.array_equal(a.reshape(b.shape), b)


def test_mask_is_denser_where_neurons_fire(mnist: dict) -> None:
    rec = mnist["conv2"]
    assert rec.h_mask[rec.output_spikes].mean() > 3 * rec.h_mask[~rec.output_spikes].mean()


def test_du_contains_the_mask_and_follows_the_recursion(mnist: dict) -> None:
    rec = mnist["fc1"]
    assert not np.any(rec.h_mask & ~rec.du_nonzero)  # du >= h when du_density >= h_density
    carried = rec.du_nonzero & ~rec.h_mask
    # a carried gradient at t needs one at t+1 and no spike at t (detached hard reset)
    assert not np.any(carried[-1])
    assert not np.any(carried[:-1] & ~rec.du_nonzero[1:])
    assert not np.any(carried & rec.output_spikes)


def test_channels_are_unequal(mnist: dict) -> None:
    per_channel = mnist["conv2"].output_spikes.mean(axis=(0, 1, 3, 4))
    assert per_channel.std() / per_channel.mean() > 0.3
    flat = synthesize_iteration(MNIST, SyntheticParams(channel_cv=0.0), batch=8)
    per_channel = flat["conv2"].output_spikes.mean(axis=(0, 1, 3, 4))
    assert per_channel.std() / per_channel.mean() < 0.1


def _lag1(spikes: np.ndarray) -> float:
    x = spikes.reshape(spikes.shape[0], -1).astype(float)
    a, b = x[:-1].ravel() - x.mean(), x[1:].ravel() - x.mean()
    return float((a * b).mean() / x.var())


def test_temporal_correlation_follows_the_parameter() -> None:
    for corr in (0.0, 0.6):
        recs = synthesize_iteration(TINY, SyntheticParams(temporal_corr=corr, channel_cv=0.0,
                                                          input_coupling=0.0), batch=64)
        assert _lag1(recs["fc1"].output_spikes) == pytest.approx(corr, abs=0.06)


def test_seeded_and_deterministic(tmp_path: Path) -> None:
    generate_trace(tmp_path / "a.h5", TINY, seed=5, batch=4)
    generate_trace(tmp_path / "b.h5", TINY, seed=5, batch=4)
    generate_trace(tmp_path / "c.h5", TINY, seed=6, batch=4)
    with open_trace(tmp_path / "a.h5") as a, open_trace(tmp_path / "b.h5") as b, \
            open_trace(tmp_path / "c.h5") as c:
        for tensor in ("input_spikes", "h_mask", "du_nonzero"):
            assert np.array_equal(a.read(0, "fc1", tensor), b.read(0, "fc1", tensor))
            assert not np.array_equal(a.read(0, "fc1", tensor), c.read(0, "fc1", tensor))


def test_file_matches_in_memory_generation_and_validates(tmp_path: Path) -> None:
    params = SyntheticParams(du_values=True)
    generate_trace(tmp_path / "t.h5", TINY, params, iterations=2, seed=1, timesteps=5)
    summary = validate_trace(tmp_path / "t.h5")
    assert summary.iterations == 2 and summary.timesteps == 5 and summary.has_du_values
    recs = synthesize_iteration(TINY, params, seed=1, timesteps=5, iteration=1)
    with open_trace(tmp_path / "t.h5") as reader:
        assert np.array_equal(reader.read(1, "fc2", "du_nonzero"), recs["fc2"].du_nonzero)
        assert np.array_equal(reader.read_du_values(1, "fc2"), recs["fc2"].du_values)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(SyntheticError, match="firing_rate = 1.5"):
        LayerRates(firing_rate=1.5)
    with pytest.raises(SyntheticError, match="temporal_corr"):
        SyntheticParams(temporal_corr=1.0)


NETWORK_TOML = """
name = "toml-net"
topology = "4C3-AP2-FC10"
input_shape = [2, 8, 8]
timesteps = 6
batch = 3
input_kind = "events"
[neuron]
vth = 0.75
[synthetic]
firing_rate = 0.1
[synthetic.layers.fc1]
du_density = 0.2
"""


def test_network_file(tmp_path: Path) -> None:
    (tmp_path / "n.toml").write_text(NETWORK_TOML)
    workload, params = load_network_file(tmp_path / "n.toml")
    assert workload.name == "toml-net" and workload.network.layers[-1].out_shape == (10,)
    assert (workload.timesteps, workload.batch, workload.input_kind) == (6, 3, "events")
    assert workload.neuron.vth == 0.75 and workload.neuron.tau == 0.2
    assert params.rates_for("conv1") == LayerRates(0.1, 0.25, 0.4)
    assert params.rates_for("fc1") == LayerRates(0.1, 0.25, 0.2)


@pytest.mark.parametrize("text, message", [
    ("topology = 'FC10'\ninput_shape=[4]\ntimesteps=2", "batch: missing"),
    (NETWORK_TOML.replace("4C3", "4Q3"), "topology: network 'toml-net': cannot read layer '4Q3'"),
    (NETWORK_TOML.replace("[synthetic.layers.fc1]", "[synthetic.layers.fc9]"),
     "synthetic.layers.fc9: no such layer"),
    (NETWORK_TOML + "bogus = 1\n", "unknown key"),
    ("topology = [", "not valid TOML"),
])
def test_network_file_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "n.toml").write_text(text)
    with pytest.raises(NetworkError, match=message.replace("[", "\\[")) as info:
        load_network_file(tmp_path / "n.toml")
    assert str(info.value).startswith(str(tmp_path / "n.toml"))
