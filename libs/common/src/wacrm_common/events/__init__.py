"""Event and command schemas, one module per stream; nothing else defines these shapes."""
