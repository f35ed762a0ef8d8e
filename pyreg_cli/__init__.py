"""The `pyreg` command: one thin module per verb group."""
