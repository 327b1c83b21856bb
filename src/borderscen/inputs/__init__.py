"""Inputs: the parameter registry, scenarios, levers, posterior, record, evidence and map."""
