"""Infrastructure: the deployable template's build and the local stack, from one set of definitions."""
