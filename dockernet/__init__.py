"""dockernet: Docker host networking on a network you already own."""

__version__ = "0.1.0"
