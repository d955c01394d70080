"""The indexer: files and catalogue manifests in, documents in the engine out, every file in the ledger."""
