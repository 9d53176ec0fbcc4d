"""The rules of the marketplace. Nothing here imports an AWS library."""
