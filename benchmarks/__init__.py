"""RollCall's benchmarks: accuracy and speed, measured on real faces, printed as tables.

They call the product's public functions only, and nothing in facerec/ or attendance/ imports
them. Run them with ``python -m benchmarks <name>``; see benchmarks/README.md.
"""
