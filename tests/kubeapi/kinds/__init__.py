"""Each kind's own behaviour: its defaults, and what its controller would do at once."""
