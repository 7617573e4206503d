"""norn: provision the Kubernetes infrastructure of an app from its infraspec."""

__version__ = "0.1.0"
