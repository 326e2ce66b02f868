"""模速 mosu: an open platform for an AI model innovation community."""

__version__ = "0.1.0"
