"""The Security pane."""
