"""The watch loop: engine events in, reconciles out, supervised.

Event ordering, timers, the deletion guard, DNS health, sd_notify and metrics.
"""
