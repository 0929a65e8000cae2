"""The coding room's screens, one file each: independent coding, consensus, audit, and the help and prompt
screens they open."""
