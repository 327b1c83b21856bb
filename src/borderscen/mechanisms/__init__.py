"""Submodels of the ODD description, as pure functions on arrays (no files, no model object).

Each module is one submodel: intelligence, attrition, attacks, recruitment, camps, smuggling,
cooperation, pipeline, movement and observation.
"""
