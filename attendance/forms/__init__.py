"""Forms of the app's pages, one module per subject. They validate shape only; rules live in
services."""
