"""A dataset the project renders itself: stroke-font digits, and their spike codings.

The reference trainer needs real, learnable data without downloads. Each digit
0–9 (plus an ``X`` glyph, so that 11-class workloads have an 11th class) is a
set of strokes — polylines in a unit box — rendered at any resolution as the
distance from each pixel to the nearest stroke, after a random affine jitter
(scale, aspect, rotation, shear, shift) and a random stroke thickness, plus
Gaussian pixel noise. Everything is drawn from a seeded generator, so the same
seed gives the same images bit for bit.

Two input codings turn images into binary spike tensors [T, B, *input_shape]:

- ``rate``: Bernoulli rate coding, as in the STBP code — each timestep a pixel
  spikes with probability equal to its intensity. Several input channels
  (e.g. a CIFAR-shaped 3-channel input) get the digit tinted by a random
  per-sample colour gain.
- ``events``: DVS-like — the digit is moved along a small triangular saccade
  path (as the N-MNIST recordings were made), and a pixel emits an ON (channel
  0) or OFF (channel 1) event when its log intensity changed by more than a
  contrast threshold since the previous timestep; sparse background noise
  events are added, as real sensors produce them.

A flat input shape ``(N,)`` (an MLP) is the C-order flattening of the spatial
coding: ``N = H*W`` for rate, ``N = 2*H*W`` for events, with a square image.
"""

from __future__ import annotations

import math

import numpy as np

from traces.workloads import Workload

Polyline = list[tuple[float, float]]

# Event-coding constants (DVS-like). Contrast threshold and noise rate are the
# order of magnitude of real DVS sensors (~15-30 % contrast, sparse noise).
LOG_EPS = 0.5                 # dark-level floor: keeps log() finite, mutes pixel noise
CONTRAST_THRESHOLD = 0.3      # log-intensity change that fires an event
NOISE_EVENT_PROB = 0.002      # background-activity events per pixel per step
SACCADE_PIXELS_PER_14 = 1.5   # saccade amplitude: 1.5 px on a 14-px side, scaled


def _arc(cx: float, cy: float, rx: float, ry: float, deg0: float, deg1: float,
         points: int = 9) -> Polyline:
    """Points on an elliptic arc; angles in degrees, 0 = right, 90 = down (y grows down)."""
    angles = np.radians(np.linspace(deg0, deg1, points))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _glyph_strokes() -> list[list[Polyline]]:
    """Stroke font: glyph index -> polylines in the unit box (x right, y down)."""
    return [
        [_arc(0.5, 0.5, 0.3, 0.45, 0, 360, 17)],                                   # 0
        [[(0.3, 0.2), (0.55, 0.05), (0.55, 0.95)], [(0.35, 0.95), (0.75, 0.95)]],  # 1
        [_arc(0.5, 0.3, 0.3, 0.25, 180, 380) + [(0.2, 0.95), (0.82, 0.95)]],       # 2
        [_arc(0.48, 0.28, 0.28, 0.23, 200, 450), _arc(0.48, 0.72, 0.3, 0.23, 270, 520)],  # 3
        [[(0.68, 0.95), (0.68, 0.05), (0.15, 0.65), (0.88, 0.65)]],                 # 4
        [[(0.8, 0.05), (0.28, 0.05), (0.24, 0.45)] + _arc(0.48, 0.67, 0.3, 0.28, 235, 505)],  # 5
        [_arc(0.55, 0.5, 0.32, 0.45, 300, 180, 9) + _arc(0.5, 0.7, 0.28, 0.25, 180, 540, 17)],  # 6
        [[(0.15, 0.05), (0.85, 0.05), (0.4, 0.95)]],                                # 7
        [_arc(0.5, 0.27, 0.24, 0.22, 0, 360, 13), _arc(0.5, 0.72, 0.3, 0.23, 0, 360, 13)],  # 8
        [_arc(0.5, 0.3, 0.28, 0.25, 0, 360, 15), [(0.78, 0.3), (0.7, 0.95)]],      # 9
        [[(0.15, 0.1), (0.85, 0.9)], [(0.85, 0.1), (0.15, 0.9)]],                  # X
    ]


def _segments(glyph: list[Polyline]) -> np.ndarray:
    """Polylines -> segment array [S, 2 endpoints, 2 coords]."""
    segs = [(p, q) for line in glyph for p, q in zip(line[:-1], line[1:])]
    return np.asarray(segs, dtype=np.float64)


GLYPH_SEGMENTS: tuple[np.ndarray, ...] = tuple(_segments(g) for g in _glyph_strokes())
MAX_CLASSES = len(GLYPH_SEGMENTS)


def _distance_to_segments(points: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Distance from points [..., 2] to the nearest of segs [S, 2, 2] -> [...]."""
    a, b = segs[:, 0], segs[:, 1]                                   # [S, 2]
    ab = b - a
    ap = points[..., None, :] - a                                   # [..., S, 2]
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    nearest = a + t[..., None] * ab
    return np.sqrt(((points[..., None, :] - nearest) ** 2).sum(-1)).min(-1)


def _inverse_affines(rng: np.random.Generator, n: int, side_px: float) -> np.ndarray:
    """Random pixel -> glyph-box affine maps [n, 2, 3] (the inverse of the jitter)."""
    scale = side_px * rng.uniform(0.65, 0.9, n)
    aspect = rng.uniform(0.85, 1.15, n)
    angle = np.radians(rng.uniform(-12.0, 12.0, n))
    shear = rng.uniform(-0.15, 0.15, n)
    sx, sy = scale * aspect, scale / aspect
    cos, sin = np.cos(angle), np.sin(angle)
    # forward map glyph -> pixel: R · Shear · diag(sx, sy); we need its inverse.
    fwd = np.empty((n, 2, 2))
    fwd[:, 0, 0], fwd[:, 0, 1] = cos * sx, (cos * shear - sin) * sy
    fwd[:, 1, 0], fwd[:, 1, 1] = sin * sx, (sin * shear + cos) * sy
    # the 2×2 inverse in closed form, elementwise: LAPACK's rounding depends on its kernel
    det = fwd[:, 0, 0] * fwd[:, 1, 1] - fwd[:, 0, 1] * fwd[:, 1, 0]
    inv = np.stack([np.stack([fwd[:, 1, 1], -fwd[:, 0, 1]], -1),
                    np.stack([-fwd[:, 1, 0], fwd[:, 0, 0]], -1)], -2) / det[:, None, None]
    shift = rng.uniform(-0.12, 0.12, (n, 2)) * side_px
    out = np.empty((n, 2, 3))
    out[:, :, :2] = inv
    out[:, :, 2] = 0.5 - np.einsum("nij,nj->ni", inv, shift)  # glyph centre at (0.5, 0.5)
    return out


def _render_class(rng: np.random.Generator, n: int, glyph: int, height: int,
                  width: int) -> np.ndarray:
    """Render n jittered copies of one glyph -> float64 [n, H, W] in [0, 1]."""
    side_px = float(min(height, width))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    centred = np.stack([xs - (width - 1) / 2, ys - (height - 1) / 2, np.ones_like(xs)], -1)
    inv = _inverse_affines(rng, n, side_px)
    glyph_pts = np.einsum("nij,hwj->nhwi", inv, centred)
    dist = _distance_to_segments(glyph_pts, GLYPH_SEGMENTS[glyph])
    half_thick = rng.uniform(0.06, 0.11, n)[:, None, None]
    edge = 1.0 / side_px                      # antialias over about one pixel
    ink = np.clip((half_thick - dist) / edge + 0.5, 0.0, 1.0)
    noise = rng.normal(0.0, 0.05, ink.shape)
    return np.clip(ink + noise, 0.0, 1.0)


def make_images(n: int, height: int, width: int, seed: int,
                num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Render n labelled glyph images -> (float32 [n, H, W] in [0, 1], int64 labels [n]).

    Labels are drawn uniformly from ``range(num_classes)`` (at most 11: digits and X).
    Deterministic for a given seed.
    """
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in 1..{MAX_CLASSES}, got {num_classes}")
    if min(n, height, width) < 1:
        raise ValueError(f"need n, height, width >= 1, got {n}, {height}, {width}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n).astype(np.int64)
    images = np.empty((n, height, width), dtype=np.float32)
    chunk = max(1, 2_000_000 // (height * width * 64))   # bound the [n, H, W, S] temporaries
    for glyph in range(num_classes):
        where = np.flatnonzero(labels == glyph)
        for start in range(0, where.size, chunk):
            idx = where[start:start + chunk]
            images[idx] = _render_class(rng, idx.size, glyph, height, width)
    return images, labels


def image_size(input_shape: tuple[int, ...], input_kind: str) -> tuple[int, int]:
    """The (H, W) of the images a coding turns into ``input_shape``."""
    if len(input_shape) == 3:
        return int(input_shape[1]), int(input_shape[2])
    if len(input_shape) != 1:
        raise ValueError(f"input shape {input_shape}: expected (C, H, W) or (N,)")
    pixels = input_shape[0] // (2 if input_kind == "events" else 1)
    side = math.isqrt(pixels)
    if side * side != pixels or pixels * (2 if input_kind == "events" else 1) != input_shape[0]:
        raise ValueError(f"flat input shape {input_shape} is not a square {input_kind} image")
    return side, side


def _rate_code(images: np.ndarray, channels: int, timesteps: int,
               rng: np.random.Generator) -> np.ndarray:
    """Bernoulli rate coding -> bool [T, B, C, H, W]; channels > 1 get a random tint."""
    b = images.shape[0]
    gain = np.ones((b, channels, 1, 1)) if channels == 1 else rng.uniform(0.6, 1.0, (b, channels, 1, 1))
    prob = images[:, None] * gain
    return rng.random((timesteps,) + prob.shape) < prob


def _shift_bilinear(images: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Translate images [B, H, W] by per-image fractional offsets (zero fill) -> [B, H, W]."""
    b, h, w = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    ys = np.clip(np.arange(h)[None, :, None] - dy[:, None, None] + 1, 0, h + 1 - 1e-9)
    xs = np.clip(np.arange(w)[None, None, :] - dx[:, None, None] + 1, 0, w + 1 - 1e-9)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    y1, x1 = np.minimum(y0 + 1, h + 1), np.minimum(x0 + 1, w + 1)
    bi = np.arange(b)[:, None, None]
    top = padded[bi, y0, x0] * (1 - fx) + padded[bi, y0, x1] * fx
    bottom = padded[bi, y1, x0] * (1 - fx) + padded[bi, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _saccade_offsets(timesteps: int, batch: int, amplitude_px: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Offsets [T+1, B] along a triangle (three saccades), random start phase per sample."""
    corners = amplitude_px * np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [0.0, 0.0]])
    phase = rng.uniform(0.0, 3.0, batch)
    pos = (np.arange(timesteps + 1)[:, None] * 3.0 / timesteps + phase[None, :]) % 3.0
    seg = np.minimum(pos.astype(int), 2)
    frac = (pos - seg)[..., None]
    xy = corners[seg] * (1 - frac) + corners[seg + 1] * frac      # [T+1, B, 2]
    return xy[..., 0], xy[..., 1]


def _event_code(images: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
    """DVS-like ON/OFF events of a saccading digit -> bool [T, B, 2, H, W]."""
    b, h, _ = images.shape
    dx, dy = _saccade_offsets(timesteps, b, SACCADE_PIXELS_PER_14 * h / 14.0, rng)
    frames = np.stack([_shift_bilinear(images.astype(np.float64), dx[t], dy[t])
                       for t in range(timesteps + 1)])
    change = np.diff(np.log(LOG_EPS + frames), axis=0)            # [T, B, H, W]
    events = np.stack([change > CONTRAST_THRESHOLD, change < -CONTRAST_THRESHOLD], axis=2)
    return events | (rng.random(events.shape) < NOISE_EVENT_PROB)


def encode_batch(workload: Workload, images: np.ndarray, timesteps: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Spike-code images [B, H, W] for a workload -> bool [T, B, *workload.input_shape]."""
    shape = tuple(workload.input_shape)
    if images.shape[1:] != image_size(shape, workload.input_kind):
        raise ValueError(f"images of size {images.shape[1:]} do not fit input shape {shape}")
    if workload.input_kind == "rate":
        channels = shape[0] if len(shape) == 3 else 1
        spikes = _rate_code(images, channels, timesteps, rng)
    elif workload.input_kind == "events":
        spikes = _event_code(images, timesteps, rng)
    else:
        raise ValueError(f"unknown input kind {workload.input_kind!r}, expected 'rate' or 'events'")
    if len(shape) == 3 and spikes.shape[2] != shape[0]:
        raise ValueError(f"{workload.input_kind} coding gives {spikes.shape[2]} channels, "
                         f"input shape {shape} wants {shape[0]}")
    return spikes.reshape((timesteps, images.shape[0]) + shape)
