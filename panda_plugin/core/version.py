"""The package version (written into every database the engine builds)."""
__version__ = '0.1.0'
