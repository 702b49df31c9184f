"""Bringing the zone to the plan: the reconciler and the books it keeps.

Retries and names set aside, the per-container backlog, the journal of names
written, and the owner's lease in the zone.
"""
