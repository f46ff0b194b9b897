"""Provider clients: one small base class, one module per provider."""
