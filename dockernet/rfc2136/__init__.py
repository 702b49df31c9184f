"""The RFC 2136 provider behind ``dockernet.ddns``: messages, verdicts, transport, keys, zones."""
