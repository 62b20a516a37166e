"""Train a small convolutional SNN with SpikingJelly (multi-step mode) on event data and capture one iteration.

    python examples/spikingjelly_capture.py -o sj.h5 [--data-dir TONIC-DIR]
    h2learn trace check sj.h5 && h2learn run sj.h5

The model runs in ``step_mode='m'`` (each layer sees all T timesteps at once);
``capture_step`` wraps the last training step and records what the trace holds.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from spikingjelly.activation_based import functional, layer, neuron, surrogate  # noqa: E402

from examples._data import Inputs, add_arguments  # noqa: E402
from traces.capture import capture_step  # noqa: E402

# PyTorch's default init leaves deep layers silent on sparse events; this gain brings every
# layer to firing (measured with `h2learn trace info`).
INIT_GAIN = 4.0


def lif() -> neuron.LIFNode:
    # tau = 5 with decay_input=False: leak 1 - 1/5 = 0.8 per step; the rectangular surrogate
    # of width 1 (PiecewiseLeakyReLU with c = 0) is H2Learn's, so h is sparse.
    return neuron.LIFNode(tau=5.0, decay_input=False, v_threshold=0.5, v_reset=0.0,
                          detach_reset=True, step_mode="m",
                          surrogate_function=surrogate.PiecewiseLeakyReLU(w=0.5, c=0.0))


def model(classes: int = 10) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        layer.Conv2d(2, 8, 3, padding=1, bias=False, step_mode="m"), lif(),
        layer.AvgPool2d(2, step_mode="m"), lif(),
        layer.Conv2d(8, 16, 3, padding=1, bias=False, step_mode="m"), lif(),
        layer.AvgPool2d(2, step_mode="m"), lif(),
        layer.Flatten(step_mode="m"), layer.Linear(16 * 8 * 8, classes, bias=False, step_mode="m"), lif())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    inputs = Inputs(args)
    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    net = model(inputs.classes)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(INIT_GAIN)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)

    def step(spikes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        functional.reset_net(net)
        rate = net(spikes).mean(0)                       # [B, classes] firing rates
        target = torch.nn.functional.one_hot(labels, inputs.classes).float()
        loss = torch.nn.functional.mse_loss(rate, target)
        loss.backward()
        optimizer.step()
        return loss

    data = list(inputs.batches())
    for i, (spikes, labels) in enumerate(data[:-1]):
        loss = step(torch.as_tensor(spikes, dtype=torch.float32), torch.as_tensor(labels))
        print(f"iteration {i}: loss {float(loss.detach()):.4f}")
    spikes, labels = data[-1]
    captured = capture_step(net, torch.as_tensor(spikes, dtype=torch.float32),
                            lambda x: step(x, torch.as_tensor(labels)), name="spikingjelly-cnn")
    captured.write(args.output, dataset=inputs.name, iteration=len(data) - 1)
    print(f"iteration {len(data) - 1}: loss {captured.loss:.4f}, captured -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
