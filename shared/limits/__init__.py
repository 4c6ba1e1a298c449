"""The user's limits: one definition (model.py), one loader (loader.py), one rule (rules.py).

A valid symphony's allocation is never blocked by a default; the limits guard against mistakes, and
when one binds every output names it, with its numbers and where to change it.
"""
