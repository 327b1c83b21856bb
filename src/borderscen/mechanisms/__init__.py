"""Submodels of the ODD description: small pure functions over arrays, one module each.

Arrays have a leading replication axis: per-replication scalars are ``(R, 1)``, zone quantities
``(R, Z)``. No function here reads a file, a clock or a model object, so every one of them can be
tested alone and runs the same for one replication (the Mesa face) or five hundred (the batch).
"""
