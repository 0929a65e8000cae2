"""The coding room: a Textual terminal UI for independent coding, consensus and audit."""
