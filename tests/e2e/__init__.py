"""Browser test of the demo: a real Home Assistant in Debian's Chromium."""
