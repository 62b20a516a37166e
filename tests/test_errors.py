"""Every exception type the project raises survives SimPy's re-raise.

SimPy hands an exception raised inside a process to whoever waits on it as
``type(exc)(*exc.args)``; an error class whose constructor does not accept its
own ``args`` turns a clean one-line error into a ``TypeError`` traceback.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import simpy

import memory
import reports
import tlm
import traces
from traces.errors import TraceError

PACKAGES = (tlm, memory, traces, reports)


def project_exception_types() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


def sample(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, TraceError):
        return cls("trace.h5", "/iterations/0/layers/conv1/spikes_out", "missing dataset")
    return cls("something went wrong")


def test_the_project_defines_exception_types() -> None:
    names = {cls.__name__ for cls in project_exception_types()}
    assert {"TraceError", "ConfigError", "DeadlockError"} <= names


@pytest.mark.parametrize("cls", project_exception_types(), ids=lambda c: c.__name__)
def test_rebuilds_from_its_args(cls: type[BaseException]) -> None:
    exc = sample(cls)
    rebuilt = type(exc)(*exc.args)
    assert str(rebuilt) == str(exc)


@pytest.mark.parametrize("cls", project_exception_types(), ids=lambda c: c.__name__)
def test_survives_a_simpy_process(cls: type[BaseException]) -> None:
    env = simpy.Environment()
    exc = sample(cls)

    def failing(env: simpy.Environment):
        yield env.timeout(1)
        raise exc

    def waiter(env: simpy.Environment):
        yield env.process(failing(env))

    env.process(waiter(env))
    with pytest.raises(cls) as caught:
        env.run()
    assert str(caught.value) == str(exc)


def test_trace_error_is_one_line() -> None:
    err = TraceError("a.h5", "/x", "bad\nthing")
    assert str(err) == "a.h5: /x: bad thing"
