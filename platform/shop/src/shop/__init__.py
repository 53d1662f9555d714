"""The shop: the reference web-shop API that stormcheck loads and breaks."""

__version__ = "0.1.0"
