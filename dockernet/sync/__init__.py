"""Bringing the zone to the plan: the reconciler, the collaborators it is given, and the books they keep.

``reconciler`` orchestrates (claims in, plan, apply, remember); ``claimindex``
holds the claims; ``zonereader`` reads the zones (the one place a transfer is
asked for); ``namesync`` plans and applies name by name, through
``writer``; ``triage`` decides whom a refusal concerns (``rejection_scope``);
``retries`` keeps the books of what waits; ``blocked`` watches names held by
others; ``notices`` says each thing once; ``backlog``, ``journal`` and
``leases`` keep the event queue, the names written and the owner's lease.
"""
