"""One ticket on screen: its editor, properties and the composer for replies and internal notes."""
