"""The faces over the services: the command line and the terminal app."""
