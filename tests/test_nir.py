"""NIR import and export (issue 12, item 4): round trip, a graph the nir package writes, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from capture_support import need
from traces.network import NetworkError, parse_network
from traces.workloads import NeuronConstants

H2LEARN = [sys.executable, "-m", "tlm.app.cli"]


def nir_chain(nir, *, middle=None):
    """conv → LIF → sum-pool → flatten → affine → LIF, as the nir package builds it."""
    ones = np.ones((4, 8, 8))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=np.ones((4, 2, 3, 3)), stride=1, padding=1,
                           dilation=1, groups=1, bias=np.zeros(4)),
        "lif1": nir.LIF(tau=2e-4 * ones, r=2 * ones, v_leak=0 * ones, v_threshold=0.5 * ones),
        "pool": middle or nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                        padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0),
        "fc": nir.Affine(weight=np.ones((10, 64)), bias=np.zeros(10)),
        "lif2": nir.LIF(tau=2e-4 * np.ones(10), r=2 * np.ones(10), v_leak=np.zeros(10),
                        v_threshold=0.5 * np.ones(10)),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }
    order = list(nodes)
    # nir's own type inference does not know a pool's output shape (nir 1.0.8), so skip it
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), type_check=False)


def test_export_import_round_trip(tmp_path):
    nir = need("nir")
    from traces.nirgraph import network_to_nir, nir_network

    net = parse_network("4C3-AP2-8C3S2P0-FC10", (2, 16, 16), "rt")
    path = tmp_path / "rt.nir"
    nir.write(path, network_to_nir(net, NeuronConstants(vth=0.75, tau=0.5)))
    back, neuron = nir_network(nir.read(path), "rt")
    assert back == net
    assert neuron.vth == 0.75 and neuron.tau == pytest.approx(0.5)


def test_graph_written_by_nir_becomes_a_trace_that_runs(tmp_path):
    nir = need("nir")
    graph = tmp_path / "net.nir"
    nir.write(graph, nir_chain(nir))
    out = tmp_path / "net.h5"
    for source in ("synthetic", "trainer"):
        subprocess.run(H2LEARN + ["trace", "gen", "--nir", str(graph), "--source", source,
                                  "--timesteps", "4", "--batch", "4", "-o", str(out)], check=True)
        subprocess.run(H2LEARN + ["trace", "check", str(out)], check=True, capture_output=True)
    run = subprocess.run(H2LEARN + ["run", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    from traces.reader import open_trace
    with open_trace(out) as reader:
        layers = reader.meta.network.layers
        # the pool feeds the affine with no neuron between: one fc on the 4×8×8 spikes
        assert [(layer.kind, layer.in_shape) for layer in layers] == [("conv", (2, 8, 8)),
                                                                     ("fc", (256,))]
        assert reader.meta.neuron.tau == pytest.approx(0.5)   # 1 - dt/tau = 1 - 1e-4/2e-4


def test_unsupported_node_is_one_line_naming_it(tmp_path):
    nir = need("nir")
    graph = tmp_path / "bad.nir"
    nir.write(graph, nir_chain(nir, middle=nir.Threshold(threshold=np.ones((4, 8, 8)))))
    res = subprocess.run(H2LEARN + ["trace", "gen", "--nir", str(graph), "-o",
                                    str(tmp_path / "x.h5")], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "pool (Threshold)" in res.stderr
    assert not (tmp_path / "x.h5").exists()


def test_branching_graph_is_refused():
    nir = need("nir")
    from traces.nirgraph import nir_network

    g = nir_chain(nir)
    g.edges.append(("conv", "output"))
    with pytest.raises(NetworkError, match="conv: 2 successors"):
        nir_network(g, "b")
