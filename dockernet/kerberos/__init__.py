"""Kerberos-signed updates (GSS-TSIG, RFC 3645), for Active Directory zones and Kerberos-secured BIND zones.

``tkey`` builds and reads the TKEY messages that set up a key with the
server (pure); ``failures`` turns each Kerberos failure into one line that
says what to fix (pure); ``client`` is the only module that imports the
``gssapi`` package (the ``kerberos`` extra): tickets from a keytab into a
private in-memory cache, or from the user's own cache; ``signer`` holds the
negotiated key of each server and renews it before it expires.
"""
