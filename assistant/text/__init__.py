"""Text primitives shared by ``index/`` and ``assistant/``: tokens, sentences with offsets, date patterns.
Pure: must not read files or import the index, the answer step or adapters."""
