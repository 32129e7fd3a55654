"""Digests: what the briefings of a time window say about a topic, as a dated timeline of verbatim quotes.

``window`` reads the dates, ``gather`` the window's sentences, ``select`` the salient ones and their
near-duplicates, ``build`` puts them together, ``intent`` tells a digest request in a chat question.
Must not import adapters; adapters receive a :class:`~assistant.digest.model.Digest` through the service.
"""
