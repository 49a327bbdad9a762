"""The package version, in one place (``engramos.__version__`` re-exports it)."""

VERSION = "0.1.0"
