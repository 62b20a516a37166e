"""The one error of capture: a model, input or step the trace schema cannot hold."""


class CaptureError(ValueError):
    """One line naming the layer (and its type) or the input that cannot be captured."""
