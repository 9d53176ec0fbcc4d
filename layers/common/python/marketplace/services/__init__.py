"""Use cases: one function per thing a caller can do. They call repositories, never the SDK."""
