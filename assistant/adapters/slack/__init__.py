"""Slack: the bot's routes (:mod:`.app`), reply layout (:mod:`.blocks`), memory (:mod:`.state`, :mod:`.feedback`)
and configuration (:mod:`.config`); a thin adapter over the one service, like the others.
"""
