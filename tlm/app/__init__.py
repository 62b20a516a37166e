"""The application layer: the Python API, sweeps, validation, replay and the command line.

The only code that imports both the model (tlm, memory, traces) and the reports.
"""
