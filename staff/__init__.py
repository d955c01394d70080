"""The archive's own side (DESIGN.md, "The archive's own side"): named staff, the opening
review (开放审核), withdrawals and the audit trail, with a store of its own beside the index."""
