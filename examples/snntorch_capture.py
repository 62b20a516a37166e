"""Train a small convolutional SNN with snnTorch on event data and capture one iteration.

    python examples/snntorch_capture.py -o snn.h5 [--data-dir TONIC-DIR]
    h2learn trace check snn.h5 && h2learn run snn.h5

The model, loss and optimizer are ordinary snnTorch; ``capture_step`` wraps the
last training step and records what the trace schema holds.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import snntorch as snn  # noqa: E402
import torch  # noqa: E402
from snntorch import functional as SF  # noqa: E402
from snntorch import surrogate  # noqa: E402

from examples._data import Inputs, add_arguments  # noqa: E402
from traces.capture import capture_step  # noqa: E402


# The rectangular surrogate of H2Learn (and STBP): dS/dU = 1 where |U - Vth| < 1/2, else 0,
# so h is sparse; snnTorch's default (arctan) is non-zero everywhere and would give h = 1.
RECT = surrogate.custom_surrogate(lambda u, grad, spk: grad * (u.abs() < 0.5).float())
# PyTorch's default init (uniform, ±1/sqrt(fan_in)) leaves deep layers silent on sparse
# events; this gain brings every layer to firing (measured with `h2learn trace info`).
INIT_GAIN = 4.0


def lif() -> snn.Leaky:
    return snn.Leaky(beta=0.8, threshold=0.5, reset_mechanism="zero", init_hidden=True,
                     spike_grad=RECT)


def model(classes: int = 10) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 8, 3, padding=1, bias=False), lif(), torch.nn.AvgPool2d(2), lif(),
        torch.nn.Conv2d(8, 16, 3, padding=1, bias=False), lif(), torch.nn.AvgPool2d(2), lif(),
        torch.nn.Flatten(), torch.nn.Linear(16 * 8 * 8, classes, bias=False), lif())


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
    loss_fn = SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.1)

    def step(spikes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        for layer in net:               # a fresh membrane per batch
            if isinstance(layer, snn.Leaky):
                layer.reset_mem()
        out = torch.stack([net(x) for x in spikes])   # single-step loop over T
        loss = loss_fn(out, labels)
        loss.backward()
        optimizer.step()
        return loss

    data = list(inputs.batches())
    for i, (spikes, labels) in enumerate(data[:-1]):
        loss = step(torch.as_tensor(spikes, dtype=torch.float32), torch.as_tensor(labels))
        print(f"iteration {i}: loss {float(loss.detach()):.4f}")
    spikes, labels = data[-1]
    captured = capture_step(net, torch.as_tensor(spikes, dtype=torch.float32),
                            lambda x: step(x, torch.as_tensor(labels)), name="snntorch-cnn")
    captured.write(args.output, dataset=inputs.name, iteration=len(data) - 1)
    print(f"iteration {len(data) - 1}: loss {captured.loss:.4f}, captured -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
