"""twdne sidecar: loads one model per process and answers batch requests on stdin/stdout."""

__version__ = "0.1.0"
