"""Component benches: one cocotb module per library component, named test_<component>.py."""
