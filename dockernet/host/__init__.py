"""The host side: the bridge and Docker's config files, Docker control, topology, ``dns init`` and the dns toolbox."""
