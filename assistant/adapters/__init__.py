"""The adapters around the one :class:`~assistant.service.BriefingService`: command line, HTTP, chat UI, Slack.

Each is a thin translation between its medium and the service. Adapters import only ``assistant.service``,
``assistant.types``, ``assistant.settings``, ``assistant.errors`` and each other (the command line also
fronts :mod:`assistant.measure`); they must not compute answers, touch the index or read the environment.
"""
