"""The bottom layer every other package may use: atomic file output, user-error types, a toml writer."""
