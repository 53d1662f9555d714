"""The local profile: a Docker engine on this machine, the image catalogue and the platform."""
