"""The command line: the only package that knows click.

``root`` holds the ``dockernet`` group and ``watch``/``topology``; each other
command group has a module of its own. Library code raises dockernet errors;
``root.main`` turns them into one line and an exit status.
"""
