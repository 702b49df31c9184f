"""The host side: the bridge and Docker's config files, Docker control, topology, ``dns init`` and the dns toolbox.

``dockernet.bridge`` (the link's spec, plan and netlink socket) and
``dockernet.netns`` are the faces of the two network wings; the modules
here build on them and hold the rest, one concern each:

* the bridge: ``bridgeargs`` (arguments to a ``BridgeSpec``), ``bridgesetup``
  (setup and teardown as plans), ``bridgeapply`` (carrying a plan out,
  ``--restart-docker``), ``bridgereport`` (``bridge show``'s findings);
* Docker's files: ``dockerconf`` (which file gets the settings),
  ``daemonjson``, ``dockeropts`` (the sh-quoted DOCKER_OPTS), ``dockerunit``
  (the systemd unit's facts), ``ifupdown`` (the boot stanza), ``filechange``
  (a planned file change, read and written atomically);
* Docker itself: ``dockerctl`` (is it running, stop and start it, ask it);
* containers' namespaces: ``containerns`` (opening one without a race),
  ``netnsview`` (reading and drawing), ``netnsargs`` (parsing arguments);
* ``topology``, ``dnsinit`` (``dns init``) and ``dnstools`` (``dns check``,
  ``dns ls``, the nsupdate script).
"""
