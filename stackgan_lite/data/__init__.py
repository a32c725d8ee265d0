"""Datasets: the embedded shapes set, CUB-200-2011 and Oxford-102."""
