"""Functional models: what the engines compute, apart from when.

``lut`` reproduces the LUT-based Forward and Weight Update Engines bit for bit
(up to float rounding) so that the LUT scheme can be checked against the dense
computation; ``geometry`` holds the window helpers shared with the cost
functions.
"""

from tlm.functional.lut import lut_forward, lut_weight_grad, subset_sum_tables

__all__ = ["lut_forward", "lut_weight_grad", "subset_sum_tables"]
