"""Measuring the assistant: evaluation, its reports, calibration, benchmarks and load, as ordinary code.

Owns: every figure the project publishes (``briefings eval``, ``tune``, ``bench``, ``scale``, ``load``) and the
report objects whose keys DESIGN.md fixes.

Must not: be imported by the answer path (``retrieve``, ``answer``, ``llm``, ``service``, ``index``) or by any
adapter but the command line's (``adapters/cli*.py`` and ``adapters/console.py``); change what the service
answers (a measurement only asks it, and ``tune`` writes numbers that the answer step reads from its model
file); or read the environment: settings arrive as a ``Settings`` object, and the one exception, the bench's
child-process environment, is allowed by name in ``tests/test_layout.py``.
"""
