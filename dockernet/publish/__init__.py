"""The desired state and its plan: what containers ask for, and what to change.

Pure logic, no I/O: claims from containers, names from templates, the plan
per name, and the ownership registry (whose record is whose).
"""
