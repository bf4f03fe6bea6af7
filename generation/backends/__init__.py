"""Production image backends loaded from local model directories (no Django imports)."""
