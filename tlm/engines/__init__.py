"""The engines of H2Learn as SimPy processes (base) and the job programs each one runs."""
