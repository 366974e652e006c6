"""WhatsApp drivers: `neonize` (real WhatsApp Web) and `sim` (a simulator for demos and tests)."""
