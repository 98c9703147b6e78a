"""The Compliance pane."""
